"""Regenerate the corpus of real training logs that tests/test_corpus.py diagnoses.

Each log is written by the real library, training a tiny model on a small data set that ships with
scikit-learn, in a regime made by construction:

- overfitting: a wide MLP on 200 digits, a fifth of their labels shuffled, trained long;
- memorization: the same MLP on 150 digits whose labels are all random;
- underfitting: a linear model on two concentric circles (no line separates them);
- good_fit: a small MLP on 1,000 points of two noisy interleaved moons, trained until validation
  settles at the noise floor (training and validation accuracy alike, about 91%);
- still_improving: plain SGD with a small learning rate, stopped early;
- diverged: SGD with momentum and a learning rate far too large, on unscaled pixels.

And regressions (MSE loss on standardized targets, with MAE, RMSE or R² beside it; `regression_*` logs,
Keras and Lightning only):

- overfitting: issue 24's case, a wide MLP (one layer of 1,024) on 120 rows of the diabetes data for
  300 epochs, whose validation MSE is lowest at epoch 1 and rises for good;
- good_fit: a small MLP on 1,000 points of a noisy wave (y = x + 2 sin 2x + noise), until validation
  settles at the noise floor;
- underfitting: a linear model on that wave (R² about 0.4 is all a line can do);
- still_improving: plain SGD with a small learning rate on the wave, stopped early.

Writers: Keras' CSVLogger (KERAS_BACKEND=torch) and its `history.history` saved as JSON, Lightning's
CSVLogger and TensorBoardLogger on one Trainer, the Hugging Face Trainer (trainer_state.json and its
TensorBoard events), a plain loop with torch's SummaryWriter, MLflow's file store (a run folder),
fastai's CSVLogger. Weights & Biases exports its CSVs from its web app, which needs an account and
a network: the W&B files are written by a plain torch loop in the two layouts the app exports
(run history and chart panel), column for column.

`labels.json` holds each log's regime and, where one applies, the window the onset epoch must fall
in, read from the curve itself: for overfitting, the epochs whose 5-epoch mean validation loss is
within 3% of its minimum, widened by 2 epochs each side; for divergence, from 1 epoch before to 2
after the first epoch whose training loss is non-finite or above twice the loss of guessing.

Run from the repository root, in an environment with the libraries (not needed by the tests):

    pip install keras lightning transformers accelerate tensorboard mlflow-skinny fastai
    KERAS_BACKEND=torch python tests/corpus/make_corpus.py

It takes a few minutes on two cores and rewrites the logs and labels.json; naming writers (e.g.
`python tests/corpus/make_corpus.py keras hf`) rewrites only theirs; `regression` writes the regression
logs (Keras and Lightning) alone.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # the file store writes the run folder users have

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits, make_circles, make_moons  # noqa: E402
from torch import nn  # noqa: E402

HERE = Path(__file__).resolve().parent
REGIMES = ("overfitting", "memorization", "underfitting", "good_fit", "still_improving", "diverged")
torch.set_num_threads(1)


# ---- the regimes: data, model and optimizer, the same for every writer ------------------------------
@dataclass(frozen=True)
class Recipe:
    X: np.ndarray  # (N, F) float32
    y: np.ndarray  # (N,) int64; a regression's (N, 1) float32
    Xv: np.ndarray
    yv: np.ndarray
    hidden: tuple[int, ...]  # hidden widths; () is a linear model
    dropout: float
    optimizer: str  # adam or sgd
    lr: float
    momentum: float
    epochs: int
    batch: int = 32
    metrics: tuple[str, ...] = ()  # a regression's metrics beside the MSE loss: mae, rmse, r2

    @property
    def regression(self) -> bool:
        return self.y.dtype.kind == "f"

    @property
    def classes(self) -> int | None:
        return None if self.regression else int(max(self.y.max(), self.yv.max()) + 1)

    @property
    def outputs(self) -> int:
        return self.classes or 1


def recipes() -> dict[str, Recipe]:
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order].astype(np.float32), y[order].astype(np.int64)
    Xs, Xv, yv = X / 16, X[1300:] / 16, y[1300:]
    noisy = y[:200].copy()
    flip = np.random.default_rng(1).random(200) < 0.2
    noisy[flip] = np.random.default_rng(2).integers(0, 10, flip.sum())
    random_labels = np.random.default_rng(3).integers(0, 10, 150)
    C, c = make_circles(800, noise=0.1, factor=0.5, random_state=0)
    C = C.astype(np.float32)
    moons, m = make_moons(2000, noise=0.3, random_state=0)
    moons = moons.astype(np.float32)
    return {
        "overfitting": Recipe(Xs[:200], noisy, Xv, yv, (256, 256), 0.0, "adam", 1e-3, 0.0, 60),
        "memorization": Recipe(Xs[:150], random_labels, Xv, yv, (256, 256), 0.0, "adam", 2e-3, 0.0, 80),
        "underfitting": Recipe(C[:400], c[:400], C[400:], c[400:], (), 0.0, "adam", 1e-2, 0.0, 40),
        "good_fit": Recipe(moons[:1000], m[:1000], moons[1000:], m[1000:], (16,), 0.0, "adam", 2e-2, 0.0, 40, 64),
        "still_improving": Recipe(Xs[:1000], y[:1000], Xv, yv, (64,), 0.0, "sgd", 1e-2, 0.0, 25, 64),
        "diverged": Recipe(X[:1000], y[:1000], X[1300:], yv, (256, 256), 0.0, "sgd", 1.0, 0.9, 20),
    }


def regression_recipes() -> dict[str, Recipe]:
    X, y = load_diabetes(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    X, y = ((X - X.mean(0)) / X.std(0)).astype(np.float32), ((y - y.mean()) / y.std()).astype(np.float32)[:, None]
    rng = np.random.default_rng(5)
    W = rng.uniform(-3, 3, (2000, 1)).astype(np.float32)
    w = W + 2 * np.sin(2 * W) + rng.normal(0, 0.5, (2000, 1))
    w = ((w - w.mean()) / w.std()).astype(np.float32)
    return {
        "overfitting": Recipe(X[:120], y[:120], X[200:], y[200:], (1024,), 0.0, "adam", 3e-3, 0.0, 300, 16, ("mae",)),
        "good_fit": Recipe(W[:1000], w[:1000], W[1000:], w[1000:], (32, 32), 0.0, "adam", 5e-3, 0.0, 100, 64,
                           ("mae", "rmse")),
        "underfitting": Recipe(W[:1000], w[:1000], W[1000:], w[1000:], (), 0.0, "adam", 1e-2, 0.0, 30, 64, ("mae", "r2")),
        "still_improving": Recipe(W[:1000], w[:1000], W[1000:], w[1000:], (32, 32), 0.0, "sgd", 2e-3, 0.0, 25, 64,
                                  ("mae",)),
    }


def torch_model(r: Recipe, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    layers, width = [], r.X.shape[1]
    for h in r.hidden:
        layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(r.dropout)] if r.dropout else [])
        width = h
    return nn.Sequential(*layers, nn.Linear(width, r.outputs))


def regression_metrics(out: torch.Tensor, y: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """MAE, RMSE and R² (1 - squared error / variance of the targets) of predictions, those named."""
    err = out - y
    values = {"mae": err.abs().mean(), "rmse": err.pow(2).mean().sqrt(),
              "r2": 1 - err.pow(2).mean() / y.var(unbiased=False)}
    return {m: values[m] for m in names}


def torch_optimizer(r: Recipe, params):
    if r.optimizer == "adam":
        return torch.optim.Adam(params, lr=r.lr)
    return torch.optim.SGD(params, lr=r.lr, momentum=r.momentum)


def batches(r: Recipe, epoch: int):
    order = np.random.default_rng(100 + epoch).permutation(len(r.X))
    for i in range(0, len(order), r.batch):
        idx = order[i:i + r.batch]
        yield torch.from_numpy(r.X[idx]), torch.from_numpy(r.y[idx])


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
        acc = (logits.argmax(1) == torch.from_numpy(y)).float().mean().item()
    model.train()
    return loss, acc


def plain_loop(r: Recipe, on_step=None, on_epoch=None) -> None:
    """Minibatch training; `on_step(step, loss)` after each step, `on_epoch(epoch, metrics)` after each epoch (0-based)."""
    model = torch_model(r)
    opt = torch_optimizer(r, model.parameters())
    step = 0
    for epoch in range(r.epochs):
        total = correct = seen = 0.0
        for xb, yb in batches(r, epoch):
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
            if on_step:
                on_step(step, loss.item())
            step += 1
        val_loss, val_acc = evaluate(model, r.Xv, r.yv)
        if on_epoch:
            on_epoch(epoch, {"loss": total / seen, "accuracy": correct / seen, "val_loss": val_loss,
                             "val_accuracy": val_acc, "step": step})


# ---- writers -----------------------------------------------------------------------------------
def write_keras(name: str, r: Recipe, out: Path) -> list[str]:
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((r.X.shape[1],))]
    for h in r.hidden:
        layers.append(keras.layers.Dense(h, activation="relu"))
        if r.dropout:
            layers.append(keras.layers.Dropout(r.dropout))
    model = keras.Sequential(layers + [keras.layers.Dense(r.outputs)])
    opt = (keras.optimizers.Adam(r.lr) if r.optimizer == "adam"
           else keras.optimizers.SGD(r.lr, momentum=r.momentum))
    if r.regression:  # Keras names them mae, root_mean_squared_error, r2_score (and val_ each)
        metrics = {"mae": "mae", "rmse": keras.metrics.RootMeanSquaredError(), "r2": keras.metrics.R2Score()}
        model.compile(opt, "mse", metrics=[metrics[m] for m in r.metrics])
    else:
        model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    path = out / "keras" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    hist = model.fit(r.X, r.y, validation_data=(r.Xv, r.yv), epochs=r.epochs, batch_size=r.batch, verbose=0,
                     callbacks=[keras.callbacks.CSVLogger(str(path))])
    (out / "keras" / f"{name}.json").write_text(json.dumps({k: [float(v) for v in vs]
                                                            for k, vs in hist.history.items()}))
    return [f"keras/{name}.csv", f"keras/{name}.json"]


def write_keras_early_stopping(out: Path) -> list[str]:
    """The issue's second failure: a noisy run that Keras' EarlyStopping ends soon after the best epoch."""
    import keras

    r = recipes()["overfitting"]
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    path = out / "keras" / "early_stopping.csv"
    model.fit(r.X, r.y, validation_data=(r.Xv, r.yv), epochs=200, batch_size=32, verbose=0,
              callbacks=[keras.callbacks.CSVLogger(str(path)),
                         keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)])
    return ["keras/early_stopping.csv"]


def write_lightning(name: str, r: Recipe, out: Path) -> list[str]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader, TensorDataset

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch_model(r)

        def scores(self, out, y) -> dict:
            if r.regression:
                return regression_metrics(out, y, r.metrics)
            return {"acc": (out.argmax(1) == y).float().mean()}

        def training_step(self, batch, _):
            x, y = batch
            out = self.net(x)
            loss = nn.functional.mse_loss(out, y) if r.regression else nn.functional.cross_entropy(out, y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            for name, value in self.scores(out, y).items():
                self.log(f"train_{name}", value, on_step=r.regression, on_epoch=True)  # train_mae_step, train_mae_epoch
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            out = self.net(x)
            self.log("val_loss", nn.functional.mse_loss(out, y) if r.regression else nn.functional.cross_entropy(out, y))
            for name, value in self.scores(out, y).items():
                self.log(f"val_{name}", value)

        def configure_optimizers(self):
            return torch_optimizer(r, self.parameters())

    L.seed_everything(0, verbose=False)
    train = DataLoader(TensorDataset(torch.from_numpy(r.X), torch.from_numpy(r.y)), batch_size=r.batch, shuffle=True)
    val = DataLoader(TensorDataset(torch.from_numpy(r.Xv), torch.from_numpy(r.yv)),
                     batch_size=len(r.yv) if r.regression else 512)  # R² of one batch is the R² of the set
    with tempfile.TemporaryDirectory() as tmp:
        loggers = [CSVLogger(tmp, name="csv"), TensorBoardLogger(tmp, name="tb", default_hp_metric=False)]
        trainer = L.Trainer(max_epochs=r.epochs, logger=loggers, log_every_n_steps=5, enable_progress_bar=False,
                            enable_model_summary=False, enable_checkpointing=False, accelerator="cpu", devices=1)
        trainer.fit(Module(), train, val)
        csv_dir, tb_dir = out / "lightning_csv" / name, out / "lightning_tb" / name
        for d in (csv_dir, tb_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        shutil.copy(Path(tmp) / "csv" / "version_0" / "metrics.csv", csv_dir / "metrics.csv")
        for f in (Path(tmp) / "tb" / "version_0").glob("events.out.tfevents.*"):
            shutil.copy(f, tb_dir / "events.out.tfevents.lightning")
    return [f"lightning_csv/{name}/metrics.csv", f"lightning_tb/{name}"]


def write_hf(name: str, r: Recipe, out: Path) -> list[str]:
    from torch.utils.data import Dataset
    from transformers import Trainer, TrainingArguments

    class Rows(Dataset):
        def __init__(self, X, y):
            self.X, self.y = X, y

        def __len__(self):
            return len(self.X)

        def __getitem__(self, i):
            return {"x": torch.from_numpy(self.X[i]), "labels": torch.tensor(self.y[i])}

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch_model(r)

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}

    def accuracy(p):
        return {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())}

    target = out / "hf" / name
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, num_train_epochs=r.epochs, per_device_train_batch_size=r.batch,
                                 per_device_eval_batch_size=512, learning_rate=r.lr, lr_scheduler_type="constant",
                                 optim="adamw_torch" if r.optimizer == "adam" else "sgd", weight_decay=0.0,
                                 eval_strategy="epoch", logging_strategy="steps", logging_steps=10,
                                 save_strategy="no", report_to=["tensorboard"], seed=0, use_cpu=True,
                                 disable_tqdm=True, dataloader_num_workers=0,
                                 **({"optim_args": f"momentum={r.momentum}"} if r.momentum else {}))
        trainer = Trainer(model=Model(), args=args, train_dataset=Rows(r.X, r.y), eval_dataset=Rows(r.Xv, r.yv),
                          compute_metrics=accuracy)
        trainer.train()
        target.mkdir(parents=True)
        trainer.state.save_to_json(str(target / "trainer_state.json"))
        events = sorted(Path(tmp).rglob("events.out.tfevents.*"))
        (target / "runs").mkdir()
        for i, f in enumerate(events):
            shutil.copy(f, target / "runs" / f"events.out.tfevents.hf{i}")
    return [f"hf/{name}/trainer_state.json", f"hf/{name}/runs"]


def write_summarywriter(name: str, r: Recipe, out: Path) -> list[str]:
    """The common plain loop: training loss every step at the global step, validation once per epoch at the epoch."""
    from torch.utils.tensorboard import SummaryWriter

    target = out / "summarywriter" / name
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        writer = SummaryWriter(tmp)

        def on_step(step, loss):
            writer.add_scalar("Loss/train", loss, step)

        def on_epoch(epoch, m):
            writer.add_scalar("Accuracy/train", m["accuracy"], epoch)
            writer.add_scalar("Loss/val", m["val_loss"], epoch)
            writer.add_scalar("Accuracy/val", m["val_accuracy"], epoch)

        plain_loop(r, on_step, on_epoch)
        writer.close()
        target.mkdir(parents=True)
        for f in Path(tmp).glob("events.out.tfevents.*"):
            shutil.copy(f, target / "events.out.tfevents.summarywriter")
    return [f"summarywriter/{name}"]


def write_mlflow(name: str, r: Recipe, out: Path) -> list[str]:
    import mlflow

    target = out / "mlflow" / name
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(Path(tmp).as_uri())
        mlflow.set_experiment("corpus")
        with mlflow.start_run() as run:
            mlflow.log_params({"lr": r.lr, "optimizer": r.optimizer, "epochs": r.epochs})

            def on_epoch(epoch, m):
                mlflow.log_metrics({"train_loss": m["loss"], "train_accuracy": m["accuracy"],
                                    "val_loss": m["val_loss"], "val_accuracy": m["val_accuracy"]}, step=epoch)

            plain_loop(r, on_epoch=on_epoch)
        run_dir = next(Path(tmp).glob(f"*/{run.info.run_id}"))
        shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("artifacts"))
    return [f"mlflow/{name}"]


def write_fastai(name: str, r: Recipe, out: Path) -> list[str]:
    from fastai.callback.progress import CSVLogger
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from fastai.metrics import accuracy
    from fastai.optimizer import Adam, SGD
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    train = DataLoader(TensorDataset(torch.from_numpy(r.X), torch.from_numpy(r.y)), batch_size=r.batch, shuffle=True)
    val = DataLoader(TensorDataset(torch.from_numpy(r.Xv), torch.from_numpy(r.yv)), batch_size=512)
    path = out / "fastai" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    opt = Adam if r.optimizer == "adam" else (lambda p, lr: SGD(p, lr, mom=r.momentum))
    learn = Learner(DataLoaders(train, val), torch_model(r), loss_func=nn.CrossEntropyLoss(), opt_func=opt,
                    metrics=accuracy, cbs=CSVLogger(fname=str(path)))
    with learn.no_bar(), learn.no_logging():
        learn.fit(r.epochs, lr=r.lr)
    return [f"fastai/{name}.csv"]


def write_wandb(name: str, r: Recipe, out: Path) -> list[str]:
    """W&B's two CSV exports: the run-history table (`_step`, `_runtime`, `_timestamp`, keys as logged,
    one row per `wandb.log` call, blank where a key was not logged) and a chart panel's CSV (`Step`,
    `<run> - <key>`, `<run> - <key>__MIN`, `<run> - <key>__MAX`)."""
    rows, start, run = [], time.time(), f"{name}-1"

    def on_step(step, loss):
        if step % 10 == 0:
            rows.append({"_step": len(rows), "train/loss": loss})

    def on_epoch(epoch, m):
        rows.append({"_step": len(rows), "epoch": epoch, "train/acc": m["accuracy"], "val/loss": m["val_loss"],
                     "val/acc": m["val_accuracy"]})

    plain_loop(r, on_step, on_epoch)
    target = out / "wandb"
    target.mkdir(parents=True, exist_ok=True)
    keys = ["_step", "_runtime", "_timestamp", "epoch", "train/acc", "train/loss", "val/acc", "val/loss"]
    with open(target / f"{name}_history.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for i, row in enumerate(rows):
            w.writerow({**row, "_runtime": round(0.01 * i, 4), "_timestamp": round(start + 0.01 * i, 3)})
    keys = ("train/loss", "val/loss", "val/acc", "train/acc")
    with open(target / f"{name}_panel.csv", "w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(["Step"] + [f"{run} - {k}{s}" for k in keys for s in ("", "__MIN", "__MAX")])
        for row in rows:
            w.writerow([row["_step"]] + [row.get(k, "") for k in keys for _ in range(3)])
    return [f"wandb/{name}_history.csv", f"wandb/{name}_panel.csv"]


def write_exploded_first_epoch(out: Path) -> list[str]:
    """The issue's first failure, made by a plain loop: the loss blows up in epoch 1 and never recovers."""
    r = recipes()["diverged"]
    path = out / "plain" / "exploded_first_epoch.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "train_acc", "val_loss", "val_acc"])
        plain_loop(r, on_epoch=lambda e, m: w.writerow([e + 1, f"{m['loss']:.6g}", f"{m['accuracy']:.4f}",
                                                         f"{m['val_loss']:.6g}", f"{m['val_accuracy']:.4f}"]))
    return ["plain/exploded_first_epoch.csv"]


# ---- labels --------------------------------------------------------------------------------------
def onset_window(regime: str, train_loss: np.ndarray, val_loss: np.ndarray, classes: int) -> list[int] | None:
    """The window the onset must fall in, from the curve (1-based epochs); None where no onset applies."""
    if regime == "overfitting":
        ok = np.flatnonzero(np.isfinite(val_loss))
        v = val_loss[ok]
        mean = np.array([v[max(0, i - 2):i + 3].mean() for i in range(len(v))])
        near = ok[mean <= 1.03 * mean.min()] + 1
        return [int(max(1, near.min() - 2)), int(near.max() + 2)]
    if regime == "diverged":
        bad = np.flatnonzero(~np.isfinite(train_loss) | (train_loss > 2 * np.log(classes))) + 1
        return [int(max(1, bad[0] - 1)), int(bad[0] + 2)] if len(bad) else None
    return None


def main() -> None:
    only = set(sys.argv[1:])  # writers to run (keras, lightning, hf, summarywriter, mlflow, fastai, wandb); default all
    # `regression` the regression logs; `labels` alone recomputes the onset windows of the logs already there
    writers = {"keras": ("keras CSVLogger", write_keras), "lightning": ("lightning", write_lightning),
               "hf": ("hf Trainer", write_hf), "summarywriter": ("torch SummaryWriter", write_summarywriter),
               "mlflow": ("mlflow", write_mlflow), "fastai": ("fastai CSVLogger", write_fastai),
               "wandb": ("wandb export (plain loop)", write_wandb)}
    labels_path = HERE / "labels.json"
    files: dict[str, dict] = json.loads(labels_path.read_text()) if only and labels_path.exists() else {}
    if not only or "regression" in only:
        for regime, r in regression_recipes().items():
            for writer_name, writer in (("keras CSVLogger", write_keras), ("lightning", write_lightning)):
                print(f"{writer_name}: regression {regime}", file=sys.stderr, flush=True)
                for f in writer(f"regression_{regime}", r, HERE):
                    files[f] = {"regime": regime, "writer": writer_name, "classes": None, "task": "regression"}
    for key, (writer_name, writer) in writers.items():
        if only and key not in only:
            continue
        for regime, r in recipes().items():
            print(f"{writer_name}: {regime}", file=sys.stderr, flush=True)
            for f in writer(regime, r, HERE):
                files[f] = {"regime": regime, "writer": writer_name, "classes": r.classes}
        if key == "keras":
            for f in write_keras_early_stopping(HERE):
                files[f] = {"regime": "overfitting", "writer": "keras CSVLogger + EarlyStopping", "classes": 10}
    if not only:
        for f in write_exploded_first_epoch(HERE):
            files[f] = {"regime": "diverged", "writer": "plain torch loop, csv module", "classes": 10}
    labels_path.write_text(json.dumps(dict(sorted(files.items())), indent=1) + "\n")
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from goodfit.history import read_history

    for f, label in files.items():  # the onset window, from each log's own curves as goodfit reads them
        h = read_history(HERE / f)
        label["onset"] = onset_window(label["regime"], h.curve("train_loss"), h.curve("val_loss"), label["classes"])
    labels_path.write_text(json.dumps(dict(sorted(files.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
