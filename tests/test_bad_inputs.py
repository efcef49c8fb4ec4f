"""The bad-input corpus: every entry point answers a mistake with exit 2 and one line, and loses nothing.

Files are written into a temporary folder by `corpus`; each case names the command line (with
`{d}` for that folder) and words its message must hold. Existing outputs must survive untouched.
"""
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import goodfit as gf
from goodfit.cli import main
from goodfit.errors import GoodfitError
from goodfit.store import Store


def _image(path, size, color=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, color).save(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    good = pd.DataFrame({"x1": rng.normal(size=60), "x2": rng.normal(size=60), "label": ["a", "b", "c"] * 20})
    good.to_csv(d / "good.csv", index=False)
    (d / "empty.csv").write_text("")
    (d / "header_only.csv").write_text("x1,x2,label\n")
    (d / "truncated.csv").write_text('x1,x2,label\n1,2,a\n3,"4,b\n')
    (d / "colons.csv").write_text("x1:x2:label\n" + "".join(f"{i}:{i}:{i % 2}\n" for i in range(20)))
    good.assign(label="a").to_csv(d / "one_class.csv", index=False)
    good.assign(label=["a"] * 59 + ["lonely"]).to_csv(d / "lonely_class.csv", index=False)
    good.assign(x1=[np.nan] + list(good.x1[1:])).to_csv(d / "nan.csv", index=False)
    good.assign(x1=[np.inf] + list(good.x1[1:])).to_csv(d / "inf.csv", index=False)
    good.assign(x2=["12a"] + [str(v) for v in good.x2[1:]]).to_csv(d / "typo.csv", index=False)
    good.assign(label=np.linspace(0, 1, 60)).to_csv(d / "regression.csv", index=False)
    np.savez(d / "no_x.npz", features=np.zeros((10, 3)), y=np.arange(10) % 2)
    (d / "not_zip.npz").write_bytes(b"this is not a zip file")
    for c in ("cat", "dog"):
        for i in range(4):
            _image(d / "mixed" / c / f"{i}.png", (8, 8) if i else (9, 8))
            _image(d / "broken" / c / f"{i}.png", (8, 8))
    (d / "broken" / "dog" / "3.png").write_bytes(b"not a png")
    pd.DataFrame({"epoch": [0, 1, 2], "loss": [1.0, 0.8, 0.7], "accuracy": [0.5, 0.6, 0.7]}).to_csv(
        d / "keras_no_val.csv", index=False)
    pd.DataFrame({"member": [0], "epoch": [1], "val_loss": [0.5], "train_loss": [0.6]}).to_csv(
        d / "one_epoch.csv", index=False)
    pd.DataFrame({"when": [1, 2, 3], "colour": [4, 5, 6]}).to_csv(d / "no_metrics.csv", index=False)
    (d / "model.pt").write_bytes(b"\x80\x02garbage, not a torch file")
    (d / "junk.csv").write_text("epoch,loss,val_loss\n" + "".join(f"{i},abc,{1 - i / 20}\n" for i in range(10)))
    (d / "not_history.json").write_text('{"model": "resnet", "lr": 0.1}')
    (d / "broken.json").write_text('{"loss": [0.9, 0.8')
    (d / "state").mkdir()
    (d / "state" / "trainer_state.json").write_text('{"global_step": 0, "log_history": []}')
    (d / "tb").mkdir()
    (d / "tb" / "events.out.tfevents.1.host").write_bytes(b"\x18\x00\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 3)
    (d / "no_log").mkdir()
    (d / "no_log" / "notes.txt").write_text("nothing here")
    (d / "mlrun" / "metrics").mkdir(parents=True)
    (d / "mlrun" / "metrics" / "val_loss").write_text("1700000000000 not-a-number 0\n")
    for run in ("version_0", "version_1"):
        (d / "two_runs" / run).mkdir(parents=True)
        write_events(d / "two_runs" / run)
    rows = "".join(f"{e},{v},{v + 0.1}\n" for e, v in enumerate([2.6e13, 1e300, float("inf"), -1e300, 5e-324] + [18.0] * 10))
    (d / "extreme.csv").write_text("epoch,loss,val_loss\n" + rows)
    (d / "one_junk_cell.csv").write_text("epoch,loss,val_loss\n" + "".join(
        f"{i},{'abc' if i == 3 else 1 / (i + 1)},{1 / (i + 1) + 0.1}\n" for i in range(12)) + "12,0.07\n")
    (d / "fake_study").mkdir()
    (d / "fake_study" / "study.db").write_bytes(b"SQLite format 2\x00 but not really" * 50)
    (d / "no_study").mkdir()
    (d / "other_plan").mkdir()
    store = Store(d / "other_plan" / "study.db")
    store.bind_plan(gf.Study("wine", seeds=3, epochs=1).plan)
    store.close()
    return d


def write_events(folder):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder)) as w:
        for e in range(5):
            w.add_scalar("Loss/train", 1 / (e + 1), e)
            w.add_scalar("Loss/val", 1 / (e + 1) + 0.1, e)


TRAIN = ["train", "--epochs", "1", "--out", "{d}/out"]
STUDY = ["study", "--seeds", "2", "--epochs", "1", "--arms", "baseline,dropout", "--out", "{d}/out"]
CASES = {
    # train: files
    "empty csv": (TRAIN + ["--data", "{d}/empty.csv", "--target", "label"], "empty"),
    "header only": (TRAIN + ["--data", "{d}/header_only.csv", "--target", "label"], "no rows"),
    "truncated csv": (TRAIN + ["--data", "{d}/truncated.csv", "--target", "label"], "parsed"),
    "wrong delimiter": (TRAIN + ["--data", "{d}/colons.csv", "--target", "label"], "delimiter"),
    "no target given": (TRAIN + ["--data", "{d}/good.csv"], "--target"),
    "misspelled target": (TRAIN + ["--data", "{d}/good.csv", "--target", "lable"], "did you mean 'label'"),
    "one class only": (TRAIN + ["--data", "{d}/one_class.csv", "--target", "label"], "one class"),
    "class with one sample": (TRAIN + ["--data", "{d}/lonely_class.csv", "--target", "label"], "fewer than"),
    "NaN feature": (TRAIN + ["--data", "{d}/nan.csv", "--target", "label"], "x1"),
    "infinite feature": (TRAIN + ["--data", "{d}/inf.csv", "--target", "label"], "x1"),
    "string in numeric column": (TRAIN + ["--data", "{d}/typo.csv", "--target", "label"], "12a"),
    "fractional target as classes": (TRAIN + ["--data", "{d}/regression.csv", "--target", "label", "--task",
                                              "classification"], "leave out --task classification"),
    "npz without X": (TRAIN + ["--data", "{d}/no_x.npz"], "no array 'X'; arrays found: features, y"),
    "npz that is not a zip": (TRAIN + ["--data", "{d}/not_zip.npz"], "np.savez"),
    "images of mixed sizes": (TRAIN + ["--data", "{d}/mixed"], "resize"),
    "unreadable image": (TRAIN + ["--data", "{d}/broken"], "3.png"),
    "unknown data set": (TRAIN + ["--data", "digitz"], "built-in"),
    # train: absurd settings
    "negative epochs": (["train", "--epochs", "-5", "--out", "{d}/out"], "epochs"),
    "dropout 1.0": (TRAIN + ["--dropout", "1.0"], "dropout rate"),
    "train size 0": (TRAIN + ["--train-size", "0"], "train size"),
    "train size beyond the data": (TRAIN + ["--train-size", "99999"], "larger than"),
    "augmentation for another kind": (TRAIN + ["--augment", "mixup"], "does not apply"),
    "batch size 0": (TRAIN + ["--batch-size", "0"], "batch size"),
    "a number that is not one": (TRAIN + ["--lr", "fast"], "--lr"),
    "unknown optimizer": (TRAIN + ["--optimizer", "lion"], "optimizer 'lion' is unknown"),
    "momentum for adam": (TRAIN + ["--momentum", "0.9"], "momentum is SGD's and RMSprop's"),
    "momentum of 1": (TRAIN + ["--optimizer", "sgd", "--momentum", "1"], "from 0 to below 1"),
    "negative weight decay": (TRAIN + ["--weight-decay", "-0.1"], "weight decay must be a number >= 0"),
    "unknown schedule": (TRAIN + ["--schedule", "linear"], "schedule 'linear' is unknown"),
    "warm-up as long as training": (TRAIN + ["--epochs", "3", "--warmup", "3"], "fewer than the 3 epochs"),
    "gradient clip of 0": (TRAIN + ["--clip-grad", "0"], "gradient clipping needs a norm > 0"),
    "study: unknown schedule": (STUDY + ["--schedule", "cosin"], "schedule 'cosin' is unknown"),
    # study
    "study: zero seeds": (STUDY[:2] + ["0"] + STUDY[3:], "seeds"),
    "study: unknown arm": (["study", "--arms", "baseline,magic", "--out", "{d}/out"], "magic"),
    "study: train sizes with a word": (STUDY + ["--train-size", "100,many"], "--train-size"),
    "study: label noise above 1": (STUDY + ["--label-noise", "1.5"], "label noise"),
    "study: unknown executor": (STUDY + ["--executor", "slurm"], "executor"),
    "study: not a database": (["study", "--out", "{d}/fake_study"], "not a goodfit study database"),
    "study: study.db from another plan": (["study", "--data", "wine", "--seeds", "2", "--epochs", "1",
                                            "--out", "{d}/other_plan"], "another plan"),
    # diagnose
    "diagnose: missing file": (["diagnose", "{d}/nothing.csv"], "nothing.csv"),
    "diagnose: empty file": (["diagnose", "{d}/empty.csv"], "empty"),
    "diagnose: keras log without validation": (["diagnose", "{d}/keras_no_val.csv"], "validation"),
    "diagnose: one epoch": (["diagnose", "{d}/one_epoch.csv"], "epoch"),
    "diagnose: no metric columns": (["diagnose", "{d}/no_metrics.csv"], "--val-loss"),
    "diagnose: named column absent": (["diagnose", "{d}/one_epoch.csv", "--val-loss", "Valid Loss"], "Valid Loss"),
    "diagnose: a column mostly not numbers": (["diagnose", "{d}/junk.csv"], "mostly not numbers"),
    "diagnose: JSON that is no history": (["diagnose", "{d}/not_history.json"], "not a history"),
    "diagnose: truncated JSON": (["diagnose", "{d}/broken.json"], "as JSON"),
    "diagnose: trainer_state without rows": (["diagnose", "{d}/state"], "log_history"),
    "diagnose: damaged TensorBoard events": (["diagnose", "{d}/tb"], "no scalars"),
    "diagnose: folder without a log": (["diagnose", "{d}/no_log"], "notes.txt"),
    "diagnose: MLflow metric line that is no number": (["diagnose", "{d}/mlrun"], "timestamp value step"),
    "diagnose: two TensorBoard runs in one folder": (["diagnose", "{d}/two_runs"], "version_0, version_1"),
    # weights and report
    "weights: corrupted model.pt": (["weights", "{d}/model.pt"], "model.pt"),
    "weights: missing file": (["weights", "{d}/absent.pt"], "absent.pt"),
    "report: folder without a study": (["report", "{d}/no_study"], "study.db"),
    "report: not a database": (["report", "{d}/fake_study"], "not a goodfit study database"),
}


def run(args, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["goodfit", *args])
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return done.value.code, captured.out, captured.err


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_keeps_existing_outputs(case, corpus, capsys, monkeypatch):
    args, words = CASES[case]
    args = [a.replace("{d}", str(corpus)) for a in args]
    out = corpus / "out"
    out.mkdir(exist_ok=True)
    (out / "history.csv").write_text("earlier results")
    code, stdout, stderr = run(args, capsys, monkeypatch)
    lines = stderr.strip().splitlines()
    assert code == 2, (stdout, stderr)
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert words.lower() in lines[0].lower(), lines[0]
    assert (out / "history.csv").read_text() == "earlier results"


@pytest.mark.parametrize("name, words", [("extreme.csv", "train loss is infinite at epoch 3"), ("one_junk_cell.csv", "line 5 ('abc')")])
def test_odd_but_readable_logs_get_a_verdict_never_an_abort(name, words, corpus, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(sys, "argv", ["goodfit", "diagnose", str(corpus / name)])
    main()
    captured = capsys.readouterr()
    assert "verdict:" in captured.out and "Traceback" not in captured.err
    assert words in captured.out + captured.err


def test_corpus_is_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("call,words", [
    (lambda: gf.Dropout(2.0), "dropout rate"),
    (lambda: gf.load("nope"), "built-in"),
    (lambda: gf.Study("wine", seeds=[]), "seeds"),
    (lambda: gf.Conditions(imbalance=0), "imbalance"),
    (lambda: gf.TrainConfig(optimizer="lbfgs"), "optimizer"),
    (lambda: gf.Arm("", ()), "name"),
])
def test_python_api_rejects_bad_values_with_goodfit_error(call, words):
    with pytest.raises(GoodfitError, match=words):
        call()
