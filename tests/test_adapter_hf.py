"""goodfit.hf.fit: a Hugging Face Trainer as a study member, each arm put into the Trainer it builds.

A tiny BERT (one layer, 16 units) learns whether token 7 appears in a sequence of 12 tokens, on the CPU.
"""
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # the Trainer needs it

import transformers  # noqa: E402

import goodfit  # noqa: E402
from goodfit.errors import GoodfitError  # noqa: E402
from goodfit.fit.settings import Settings  # noqa: E402
from goodfit.grammar import parse_arm  # noqa: E402

EPOCHS = 3


def sequences(n: int, seed: int) -> list[dict]:
    """`n` sequences of 12 tokens (1..49), half of them holding token 7 somewhere; the label says which."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(8, 50, size=(n, 12))
    labels = np.arange(n) % 2
    tokens[labels == 1, rng.integers(0, 12, size=int(labels.sum()))] = 7
    return [{"input_ids": torch.as_tensor(t), "attention_mask": torch.ones(12, dtype=torch.long), "labels": int(y)}
            for t, y in zip(tokens, labels)]


DATA = sequences(200, seed=0)
TRAIN, VALIDATION, TEST = DATA[:120], DATA[120:160], DATA[160:]


def accuracy(p) -> dict:
    return {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())}


class MakeTrainer:
    """`make_trainer(settings, seed)` as a user writes it, with what a test varies: arguments of its own, a
    remedy it applies itself, its own optimizer, no evaluation set. Keeps the Trainers it built."""

    def __init__(self, out, args=None, reads=(), optimizer=False, evaluate=True):
        self.out, self.args, self.reads, self.optimizer, self.evaluate = str(out), args or {}, reads, optimizer, evaluate
        self.built = []

    def __call__(self, settings, seed):
        config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=32, max_position_embeddings=16, num_labels=2)
        if "dropout" in self.reads:  # the user's own way: only the hidden layers' dropout
            config.hidden_dropout_prob = settings.dropout
        if "l2" in self.reads:
            settings.l2  # noqa: B018 - read: the user applies it (in a Trainer subclass, say)
        model = transformers.BertForSequenceClassification(config)
        args = transformers.TrainingArguments(**{
            "output_dir": self.out, "per_device_train_batch_size": 32, "per_device_eval_batch_size": 64,
            "learning_rate": 3e-3, "use_cpu": True, "disable_tqdm": True, "save_strategy": "no",
            "dataloader_num_workers": 0, **self.args})
        optimizers = (torch.optim.AdamW(model.parameters(), lr=1e-3), None) if self.optimizer else (None, None)
        trainer = transformers.Trainer(model=model, args=args, train_dataset=TRAIN,
                                       eval_dataset=VALIDATION if self.evaluate else None, compute_metrics=accuracy,
                                       optimizers=optimizers)
        self.built.append(trainer)
        return trainer


def settings(arm: str, seed: int = 0, epochs: int = EPOCHS) -> Settings:
    return Settings(parse_arm(arm, "table"), seed=seed, epochs=epochs)


def trained(make: MakeTrainer, arm: str, seed: int = 0, epochs: int = EPOCHS, **options):
    """The member trained with `arm`, and the Trainer it trained in."""
    result = goodfit.hf.fit(make, **options)(settings(arm, seed, epochs), seed)
    return result, make.built[-1]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return trained(MakeTrainer(tmp_path_factory.mktemp("hf")), "baseline", test_dataset=TEST)


def test_a_member_records_one_row_an_epoch_with_validation_and_training_loss(baseline):
    result, trainer = baseline
    frame = result.history_.frame
    assert list(frame["epoch"]) == [1, 2, 3] and result.restored_epoch_ is None
    assert frame[["val_loss", "val_accuracy", "train_loss"]].notna().all().all()
    assert (trainer.args.eval_strategy, trainer.args.logging_strategy) == ("epoch", "epoch")
    assert (trainer.args.num_train_epochs, trainer.args.seed, trainer.args.data_seed) == (EPOCHS, 0, 0)
    assert trainer.args.weight_decay == 0.0 and trainer.label_smoother is None
    assert {m.p for m in trainer.model.modules() if isinstance(m, torch.nn.Dropout)} == {0.1}  # BertConfig's own


def test_decay_reaches_the_optimizer_the_trainer_builds(tmp_path):
    _, trainer = trained(MakeTrainer(tmp_path), "decay=0.1")
    assert trainer.args.weight_decay == 0.1
    assert sorted({g["weight_decay"] for g in trainer.optimizer.param_groups}) == [0.0, 0.1]  # biases, norms: none


def test_label_smoothing_reaches_the_loss(tmp_path, baseline):
    result, trainer = trained(MakeTrainer(tmp_path), "label_smoothing=0.1")
    assert trainer.args.label_smoothing_factor == 0.1 and trainer.label_smoother.epsilon == 0.1
    first = result.history_.frame["train_loss"].iloc[0]
    assert first != baseline[0].history_.frame["train_loss"].iloc[0]  # same seed, another loss


def test_dropout_reaches_every_dropout_of_the_built_model_and_its_config(tmp_path):
    _, trainer = trained(MakeTrainer(tmp_path), "dropout=0.3")
    config, layers = trainer.model.config, [m for m in trainer.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(layers) == 5 and {m.p for m in layers} == {0.3}  # embeddings, attention, two outputs, classifier
    assert config.hidden_dropout_prob == config.attention_probs_dropout_prob == config.classifier_dropout == 0.3


def test_early_stopping_stops_the_trainer_and_restores_the_best_epoch(tmp_path, caplog):
    make = MakeTrainer(tmp_path, args={"learning_rate": 1e-2, "lr_scheduler_type": "constant"})
    result, trainer = trained(make, "early_stopping=2", epochs=10)
    stopper = [c for c in trainer.callback_handler.callbacks if isinstance(c, transformers.EarlyStoppingCallback)]
    assert [c.early_stopping_patience for c in stopper] == [2]
    assert (trainer.args.metric_for_best_model, trainer.args.greater_is_better) == ("eval_loss", False)
    frame = result.history_.frame
    best = frame.loc[frame["val_loss"].idxmin(), "epoch"]
    assert result.restored_epoch_ == best and frame["epoch"].max() == best + 2 < 10
    assert "load_best_model_at_end" not in caplog.text  # goodfit kept the best weights in memory


def test_the_same_seed_gives_the_same_history_and_another_seed_another(tmp_path, baseline):
    again, _ = trained(MakeTrainer(tmp_path), "baseline", seed=0)
    other, _ = trained(MakeTrainer(tmp_path), "baseline", seed=1)
    metrics = ["train_loss", "val_loss", "val_accuracy"]
    assert np.array_equal(again.history_.frame[metrics], baseline[0].history_.frame[metrics])
    assert not np.allclose(other.history_.frame["val_loss"], baseline[0].history_.frame["val_loss"])


def test_a_test_set_scores_the_last_row_after_training(baseline):
    result, trainer = baseline
    frame = result.history_.frame
    assert frame[["test_loss", "test_accuracy"]].iloc[:-1].isna().all().all()
    expected = trainer.predict(TEST, metric_key_prefix="test").metrics
    assert frame["test_loss"].iloc[-1] == pytest.approx(expected["test_loss"])
    assert frame["test_accuracy"].iloc[-1] == pytest.approx(expected["test_accuracy"])


def test_an_arm_the_trainer_cannot_take_fails_before_training_and_stays_unapplied(tmp_path):
    make, arm = MakeTrainer(tmp_path), settings("augment=noise:0.1")
    with pytest.raises(GoodfitError, match="make_trainer never read settings.augment"):
        goodfit.hf.fit(make)(arm, 0)
    assert [r.word for r in arm.unapplied()] == ["augment"] and make.built[-1].state.global_step == 0


def test_l2_adds_its_gradient_to_the_weights_decay_acts_on_and_nothing_else(baseline):
    trainer = baseline[1]
    model = transformers.BertForSequenceClassification(trainer.model.config)
    grads = {n: torch.randn_like(p) for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.grad = grads[n].clone()
    penalty = goodfit.hf.l2_callback(0.5, trainer.get_decay_parameter_names)
    penalty.on_train_begin(trainer.args, None, None, model=model)
    penalty.on_pre_optimizer_step(trainer.args, None, None)
    decayed = set(trainer.get_decay_parameter_names(model))
    assert "classifier.weight" in decayed and "classifier.bias" not in decayed
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[n] + 0.5 * p.detach() if n in decayed else grads[n])


def test_l2_shrinks_the_weights_of_a_member(tmp_path, baseline):
    result, trainer = trained(MakeTrainer(tmp_path), "l2=0.5")

    def norm(model):
        names = set(trainer.get_decay_parameter_names(model))
        return sum(float(p.detach().square().sum()) for n, p in model.named_parameters() if n in names)

    assert norm(trainer.model) < 0.5 * norm(baseline[1].model)


def test_a_remedy_make_trainer_reads_is_left_as_it_applied_it(tmp_path):
    arm = settings("dropout=0.3+l2=1e-3", epochs=2)
    make = MakeTrainer(tmp_path, reads=("dropout", "l2"))
    goodfit.hf.fit(make)(arm, 0)
    config, callbacks = make.built[-1].model.config, make.built[-1].callback_handler.callbacks
    assert (config.hidden_dropout_prob, config.attention_probs_dropout_prob) == (0.3, 0.1) and arm.unapplied() == []
    assert "L2Penalty" not in {type(c).__name__ for c in callbacks}


def test_the_users_arguments_give_way_to_epochs_and_reporting_is_switched_off(tmp_path):
    pytest.importorskip("tensorboard")
    from transformers.integrations import TensorBoardCallback

    make = MakeTrainer(tmp_path, args={"max_steps": 1, "report_to": "tensorboard", "eval_strategy": "steps",
                                       "eval_steps": 1})
    result, trainer = trained(make, "baseline", epochs=2)
    assert list(result.history_.frame["epoch"]) == [1, 2] and trainer.state.global_step == 8
    assert trainer.args.report_to == [] and not any(isinstance(c, TensorBoardCallback)
                                                     for c in trainer.callback_handler.callbacks)


@pytest.mark.parametrize("make, message", [
    (dict(evaluate=False), "the Trainer needs an eval_dataset: goodfit judges by its validation curve"),
    (dict(optimizer=True), "its own optimizer, which args.weight_decay does not reach"),
])
def test_a_trainer_goodfit_cannot_judge_or_decay_is_refused(tmp_path, make, message):
    with pytest.raises(GoodfitError, match=message):
        goodfit.hf.fit(MakeTrainer(tmp_path, **make))(settings("decay=0.1"), 0)


def test_a_model_without_dropout_says_which_names_to_pass():
    with pytest.raises(GoodfitError, match="dropout_names"):
        goodfit.hf.set_dropout(torch.nn.Linear(2, 2), 0.3)
    with pytest.raises(GoodfitError, match="list of names"):
        goodfit.hf.fit(make_trainer, dropout_names="hidden_dropout")


def test_the_member_pickles_and_is_named_as_make_trainer_is(tmp_path):
    member = pickle.loads(pickle.dumps(goodfit.hf.fit(make_trainer, test_dataset=TEST)))
    assert member.__qualname__ == "make_trainer" and member.test_dataset is not None
    assert goodfit.hf.fit(MakeTrainer(tmp_path)).__qualname__ == "MakeTrainer"  # a callable object: its class


def test_import_goodfit_imports_no_transformers_and_goodfit_hf_is_the_adapter():
    code = ("import sys, goodfit; assert 'transformers' not in sys.modules; "
            "import goodfit.adapters.hf as a; assert goodfit.hf.fit is a.fit and 'transformers' not in sys.modules; "
            "from goodfit.hf import fit; assert fit is a.fit")
    subprocess.run([sys.executable, "-c", code], check=True)


def make_trainer(settings, seed):
    """A module-level make_trainer, as a study's worker processes receive it."""
    return MakeTrainer(Path(tempfile.gettempdir()) / "goodfit-test-adapter-hf")(settings, seed)


def test_a_study_of_trainer_members_compares_its_arms_on_the_test_set():
    result = goodfit.Study(fit=goodfit.hf.fit(make_trainer, test_dataset=TEST), arms=["baseline", "decay=0.1"],
                           seeds=2, epochs=2).run()
    assert not result.failed and list(result.table()["arm"]) == ["baseline", "decay=0.1"]
    assert len(result.members) == 4 and result.members["test_accuracy"].notna().all()
    verdict = goodfit.verdict_of(result)
    assert "test_adapter_hf.make_trainer" in verdict and "test accuracy" in verdict and "decay=0.1" in verdict
