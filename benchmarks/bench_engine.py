"""goodfit's population engine against the same members trained one after another, in one sitting.

    python benchmarks/bench_engine.py           # the full table, saved to benchmarks/results/
    python benchmarks/bench_engine.py --quick   # W35 at 20 epochs, default study, batch norm, augmentation, own modules
    python benchmarks/bench_engine.py --smoke   # the quick path on tiny workloads, in seconds (the test suite runs it)
    python benchmarks/bench_engine.py --gpu     # on a CUDA GPU: W35, and MNIST-1D populations up to 1,024 members

W35 is digits (60/20/20 stratified split), an MLP 64-256-256-10, Adam lr 1e-3, batch 32, 100
epochs, 35 members: dropout 0, .05, .1, .2, .3, .4, .5 x 5 seeds. Every runner does the same
work: the same members, split and epochs, and (except scikit-learn, which has no hook for it)
the same per-epoch evaluation of the validation set and a 512-sample training subset.

Each remedy is also timed where no other arm can hide it: the default study (`goodfit study`,
8 arms x 5 seeds) against `plain_study.py`, the same study in plain PyTorch, both as whole
commands, start-up included; and W35's model with all 35 members on batch norm, then all on
the default image augmentation, against the plain loop doing the same. Last, a user's own
`nn.Module` (`own_module.py`): a CNN factory on digits, 7 arms x 3 seeds, and a small ResNet on
32x32 RGB images, 3 arms x 2 seeds, each through `Study(..., model=factory)` against the plain loop
over the same module (`--quick` at fewer epochs, `--smoke` at its tiny size).

Every runner runs `--repeats` times (default 3) and the median is reported. Each measurement
records the share of the CPUs other processes used meanwhile; above 10% the figure is marked as
disturbed. How long a sitting takes on 2 cores at 3 repeats, estimated (not yet measured) from
the times of its parts in the full run of 2026-11-25 and of the two default studies (about 30 s
and 50 s each): `--quick` about 10 minutes, 4 of them the default studies (its batch-norm and
augmentation populations run 10 epochs to stay within that; 20 in the full run); the full run
about 85 minutes with Lightning, skorch and Keras installed, about 30 with `--repeats 1`. The
own-module rows add about 3 minutes to `--quick` and 6 to the full run (from their run of
2026-12-02 at one repeat, about 1 and 2 minutes).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from goodfit.data import Conditions, load, split
from goodfit.engine import Member, TrainConfig, flushing_denormals, train
from goodfit.models import ModelSpec
from goodfit.nn.population import Architecture, build_module
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout
from goodfit.grammar import default_arms

sys.path.insert(0, str(Path(__file__).parent))
import own_module  # noqa: E402  (a user's own CNN and ResNet through the Study against the plain loop)
import plain_study  # noqa: E402  (the plain loop and its augmentation, shared with the plain default study)

RATES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
RESULTS = Path(__file__).parent / "results"
PLAIN_STUDY = Path(__file__).parent / "plain_study.py"
DISTURBED = 0.10  # share of the CPUs other processes may use before a figure is marked


# ---- workloads ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """Members (arm and seed) of one architecture on one data set, trained alike."""

    name: str
    data: str
    arch: str
    width: int
    depth: int
    epochs: int
    members: tuple  # (Member, ...)
    batch_size: int = 32
    lr: float = 1e-3
    device: str = "cpu"

    def splits(self):
        return _splits(self.data)

    def architecture(self) -> Architecture:
        s = self.splits()
        return ModelSpec(self.arch, self.width, self.depth).resolve(s.kind, s.input_shape, s.num_classes)

    def config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, device=self.device)


_SPLITS: dict = {}


def _splits(data: str):
    if data not in _SPLITS:
        _SPLITS[data] = split(load(data), Conditions(), seed=0)  # 60/20/20 stratified
    return _SPLITS[data]


def dropout_arm(rate: float) -> Arm:
    return Arm(f"dropout{rate}", (Dropout(rate),) if rate else ())


def population(count: int) -> tuple:
    """`count` members cycling through the dropout rates, seeds counting up: W35's pattern, any size."""
    return tuple(Member(dropout_arm(RATES[i % len(RATES)]), i // len(RATES)) for i in range(count))


def w35(epochs: int = 100, count: int = 35) -> Workload:
    return Workload("W35", "digits", "mlp", 256, 2, epochs, population(count))


def w35_arm(name: str, epochs: int, count: int = 35) -> Workload:
    """W35's data and model with every member on one arm of the default study (`batchnorm`,
    `augment`, ...), seeds 0 to count - 1: a remedy timed alone, with no other arm to hide behind."""
    arm = default_arms("image")[name]
    return Workload(f"W35 {name}", "digits", "mlp", 256, 2, epochs, tuple(Member(arm, seed) for seed in range(count)))


def mnist1d(arch: str, epochs: int, count: int, device: str = "cpu") -> Workload:
    """MNIST-1D with W35's member pattern: `mlp` 40-256-256-10 or `cnn1d` (3 convolutions of 32 channels)."""
    width, depth = {"mlp": (256, 2), "cnn1d": (32, 3)}[arch]
    return Workload(f"MNIST-1D {arch}", "mnist1d", arch, width, depth, epochs, population(count), device=device)


# ---- measuring -----------------------------------------------------------------------------------
def _busy_ticks() -> tuple[int, int]:
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


def _own_cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (a timed `goodfit study` subprocess)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(fn):
    """(seconds, other processes' share of the CPUs meanwhile, fn's result)."""
    tick = os.sysconf("SC_CLK_TCK")
    busy0, _ = _busy_ticks()
    own0 = _own_cpu_seconds()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    busy1, _ = _busy_ticks()
    own = _own_cpu_seconds() - own0
    other = max(0.0, (busy1 - busy0) / tick - own) / max(seconds, 1e-9) / (os.cpu_count() or 1)
    return seconds, other, out


def _memory_kb(field_name: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_during(fn):
    """(peak resident memory above the starting point in bytes, fn's result), from /proc/self."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident size
    except OSError:
        pass
    start = _memory_kb("VmRSS")
    out = fn()
    return max(0, _memory_kb("VmHWM") - start) * 1024, out


# ---- the machine and its ceilings --------------------------------------------------------------
def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "unknown")
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def _synced(fn, device: str):
    """`fn`, then waiting for the GPU to finish what it queued (kernels on CUDA run asynchronously)."""
    if torch.device(device).type != "cuda":
        return fn

    def run():
        fn()
        torch.cuda.synchronize(device)
    return run


def _median_seconds(fn, repeats: int, device: str = "cpu") -> float:
    fn = _synced(fn, device)
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak_gflops(sizes=(1024, 2048, 4096), device: str = "cpu") -> float:
    """Dense float32 matmul throughput, the best over a few square sizes (all threads, or the GPU,
    in full float32 as goodfit trains: TF32 stays as torch leaves it, off)."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        seconds = _median_seconds(lambda: a @ b, 5 if n < 4096 else 3, device)
        best = max(best, 2 * n ** 3 / seconds / 1e9)
    return best


def bandwidth_gbs(nbytes: int, device: str = "cpu") -> float:
    """Bytes moved per second streaming over `nbytes` of memory: `a += b` on two tensors of half that
    (read a and b, write a, in place as the optimizer's update is; a plain copy reaches less)."""
    a, b = torch.ones(max(1, nbytes // 8), device=device), torch.ones(max(1, nbytes // 8), device=device)
    seconds = _median_seconds(lambda: a.add_(b), 10, device)
    return 3 * a.numel() * 4 / seconds / 1e9


def _mlp_sizes(work: Workload) -> list[int]:
    """Widths of an MLP workload's layers, input to classes."""
    arch = work.architecture()
    return [int(np.prod(work.splits().input_shape))] + [arch.width] * arch.depth + [arch.num_classes]


def mlp_roofline(work: Workload, peak_gflops: float, bandwidth_gbs: float) -> dict:
    """Least time the MLP workload could take: the larger of its FLOPs over peak and its bytes over bandwidth.

    FLOPs: forward (2 per multiply-add), weight gradients (same again) and input gradients (all
    but the first layer) for every training sample of every epoch and member; a forward pass over
    validation and the 512-sample training subset each epoch; the test set once. Bytes: each step,
    Adam reads weights, gradient and two moments and writes weights and moments (28 bytes per
    parameter), the backward pass writes the gradient (4), and each hidden activation is written
    in the forward pass and read in the backward pass.
    """
    s, sizes = work.splits(), _mlp_sizes(work)
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    params = sum(macs) + sum(sizes[1:])
    K, N = len(work.members), len(s.y_train)
    steps = -(-N // work.batch_size)
    n_eval = len(s.y_val) + min(TrainConfig().train_eval_size, N)
    train_flops = 2 * N * (2 * sum(macs) + sum(macs[1:]))
    eval_flops = 2 * n_eval * sum(macs)
    flops = K * (work.epochs * (train_flops + eval_flops) + 2 * len(s.y_test) * sum(macs))
    activations = sum(sizes[1:])
    bytes_moved = K * work.epochs * (steps * 32 * params + N * 2 * 4 * activations)
    compute_s, memory_s = flops / (peak_gflops * 1e9), bytes_moved / (bandwidth_gbs * 1e9)
    return {"flops": flops, "bytes": bytes_moved, "compute_seconds": compute_s, "memory_seconds": memory_s,
            "seconds": max(compute_s, memory_s), "bound": "compute" if compute_s >= memory_s else "memory",
            "working_set_bytes": 16 * params * K}


def _kernel_seconds(fn, device: str = "cpu", budget: float = 0.5) -> float:
    """Median seconds of `fn` over repeats filling about `budget` seconds (after two warm-up calls)."""
    run = _synced(fn, device)
    run(), run()
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-6)
    return _median_seconds(fn, max(3, min(200, int(budget / once))), device)


def mlp_kernel_floor(work: Workload) -> dict:
    """Least time the MLP workload takes on this machine's own kernels: each one timed bare, summed.

    The roofline assumes every FLOP runs at the peak of a large square matmul. A step of W35 is
    eight batched matmuls of batch 32 (forward with bias, weight gradients, input gradients past
    the first layer) and one fused Adam step over the stacked parameters: timed here with nothing
    around them (no activation, loss, dropout, data or Python between them), times the workload's
    steps, plus each epoch's evaluation matmuls over the validation set and the training subset.
    An engine built on these kernels cannot be faster than this; how close it comes is the share
    of its time that is not overhead.
    """
    s, sizes = work.splits(), _mlp_sizes(work)
    K = len(work.members)
    N, B = len(s.y_train), work.batch_size
    n_eval = len(s.y_val) + min(TrainConfig().train_eval_size, N)
    gen, dev = torch.Generator().manual_seed(0), work.device
    weights = [(torch.randn(K, a, b, generator=gen) * a ** -0.5).to(dev) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [torch.randn(K, 1, b, generator=gen).to(dev) for b in sizes[1:]]
    grads = [torch.empty_like(w) for w in weights]

    def step(x):
        hs = [x]
        for w, b in zip(weights, biases):
            hs.append(torch.baddbmm(b, hs[-1], w))
        g = hs[-1]
        for i in range(len(weights) - 1, -1, -1):
            torch.bmm(hs[i].transpose(1, 2), g, out=grads[i])
            if i > 0:
                g = torch.bmm(g, weights[i].transpose(1, 2))

    def forward(x):
        for w, b in zip(weights, biases):
            x = torch.baddbmm(b, x, w)

    full, last = divmod(N, B)
    x_full = torch.randn(K, B, sizes[0], generator=gen).to(dev)
    x_last = torch.randn(K, last or B, sizes[0], generator=gen).to(dev)
    step_s = _kernel_seconds(lambda: step(x_full), dev)
    last_s = _kernel_seconds(lambda: step(x_last), dev) if last else 0.0
    x_eval = torch.randn(n_eval, sizes[0], generator=gen).to(dev).expand(K, n_eval, sizes[0])
    eval_s = _kernel_seconds(lambda: forward(x_eval), dev)
    params = [w.clone() for w in weights] + [b.clone() for b in biases]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    adam_s = _kernel_seconds(opt.step, dev)
    epoch_s = full * step_s + last_s + (full + (last > 0)) * adam_s + eval_s
    return {"members": K, "matmul_step_seconds": step_s, "adam_step_seconds": adam_s, "eval_epoch_seconds": eval_s,
            "seconds": work.epochs * epoch_s}


# ---- runners -----------------------------------------------------------------------------------
@dataclass
class Run:
    runner: str
    workload: str
    members: int
    seconds: float
    accuracy: float
    other_load: float
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def per_member(self) -> float:
        return self.seconds / self.members


def median_run(measure, repeats: int) -> Run:
    """`measure()`, a `Run`, `repeats` times: the run of median time, with every time in
    `extra["seconds_all"]` and the largest share of the CPUs other processes used in any of them."""
    runs = [measure() for _ in range(repeats)]
    run = sorted(runs, key=lambda r: r.seconds)[(repeats - 1) // 2]
    run.seconds = statistics.median(r.seconds for r in runs)
    run.other_load = max(r.other_load for r in runs)
    run.extra["seconds_all"] = [r.seconds for r in runs]
    return run


def run_goodfit(work: Workload) -> Run:
    """The whole population at once through `goodfit.engine.train`."""
    spec = ModelSpec(work.arch, work.width, work.depth)
    seconds, other, result = timed(lambda: train(work.splits(), list(work.members), spec, work.config()))
    accuracy = float(np.mean([m.test_accuracy for m in result.members]))
    return Run("goodfit", work.name, len(work.members), seconds, accuracy, other)


def _dropout_rate(member: Member) -> float:
    dropout = member.arm.get(Dropout)
    return dropout.rate if dropout else 0.0


def train_plain(work: Workload, member: Member, fused: bool = False) -> float:
    """One member in a plain PyTorch loop, as a careful user writes it (`plain_study.fit`): tensors
    loaded once, no DataLoader, `nn.Sequential` with batch norm and dropout where the arm has them,
    the arm's augmentation as tensor operations on each minibatch, `torch.optim.Adam` (its fused
    kernel with `fused`), and after each epoch an evaluation of the validation set and of the same
    512-sample training subset goodfit measures; denormals flushed to zero, as goodfit does.
    Returns test accuracy."""
    before = flushing_denormals()
    torch.set_flush_denormal(True)  # as goodfit trains: denormals late in training slow every step
    try:
        return _plain_loop(work, member, fused)
    finally:
        torch.set_flush_denormal(before)


def _plain_loop(work: Workload, member: Member, fused: bool) -> float:
    arm = member.arm
    if any(not isinstance(r, (Dropout, BatchNorm, Augment)) for r in arm.remedies):
        raise ValueError(f"arm {arm.name!r}: the plain loop does dropout, batch norm and augmentation only")
    torch.manual_seed(member.seed)
    model = build_module(work.architecture(), batchnorm=arm.get(BatchNorm) is not None, dropout=_dropout_rate(member))
    jitter = arm.get(Augment)
    augment = (jitter.rotate, jitter.zoom, jitter.shift, jitter.noise) if jitter else ()
    s = work.splits()
    accuracy, _ = plain_study.fit(model, {k: getattr(s, k) for k in plain_study.SPLITS}, work.epochs, augment=augment,
                                  batch_size=work.batch_size, lr=work.lr, fused=fused, device=work.device)
    return accuracy


def run_plain(work: Workload, fused: bool = False) -> Run:
    """The same members one after another in the plain PyTorch loop."""
    seconds, other, accs = timed(lambda: [train_plain(work, m, fused) for m in work.members])
    return Run("plain PyTorch loop" + (", fused Adam" if fused else ""), work.name, len(work.members), seconds,
               float(np.mean(accs)), other)


def run_sklearn(work: Workload) -> Run:
    """scikit-learn's MLPClassifier, one fit per member (it has no dropout: rates are ignored)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    s = work.splits()
    X, X_test = s.X_train.reshape(len(s.X_train), -1), s.X_test.reshape(len(s.X_test), -1)

    def fit_all():
        accs = []
        for member in work.members:
            clf = MLPClassifier((work.width,) * work.depth, alpha=0.0, solver="adam", batch_size=work.batch_size,
                                learning_rate_init=work.lr, max_iter=work.epochs, n_iter_no_change=work.epochs,
                                early_stopping=False, random_state=member.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, s.y_train)
            accs.append(clf.score(X_test, s.y_test))
        return accs

    seconds, other, accs = timed(fit_all)
    return Run("scikit-learn MLPClassifier", work.name, len(work.members), seconds, float(np.mean(accs)), other,
               "no dropout, no per-epoch evaluation")


def _tensors(work: Workload):
    s = work.splits()
    return (torch.as_tensor(s.X_train), torch.as_tensor(s.y_train), torch.as_tensor(s.X_val),
            torch.as_tensor(s.y_val), torch.as_tensor(s.X_test), torch.as_tensor(s.y_test))


def run_lightning(work: Workload) -> Run:
    """PyTorch Lightning: a LightningModule, DataLoaders, `Trainer.fit` with validation each epoch."""
    import logging

    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    X, y, X_val, y_val, X_test, y_test = _tensors(work)

    class Classifier(L.LightningModule):
        def __init__(self, rate):
            super().__init__()
            self.net = build_module(work.architecture(), dropout=rate)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            return F.cross_entropy(self(batch[0]), batch[1])

        def validation_step(self, batch, _):
            logits = self(batch[0])
            self.log_dict({"val_loss": F.cross_entropy(logits, batch[1]),
                           "val_acc": (logits.argmax(1) == batch[1]).float().mean()})

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=work.lr)

    def fit_all():
        accs = []
        for member in work.members:
            L.seed_everything(member.seed, verbose=False)
            model = Classifier(_dropout_rate(member))
            trainer = L.Trainer(max_epochs=work.epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # advice on DataLoader workers
                trainer.fit(model, DataLoader(TensorDataset(X, y), batch_size=work.batch_size, shuffle=True),
                            DataLoader(TensorDataset(X_val, y_val), batch_size=1024))
            model.eval()
            with torch.no_grad():
                accs.append((model(X_test).argmax(1) == y_test).float().mean().item())
        return accs

    seconds, other, accs = timed(fit_all)
    return Run("PyTorch Lightning", work.name, len(work.members), seconds, float(np.mean(accs)), other)


def run_skorch(work: Workload) -> Run:
    """skorch: `NeuralNetClassifier` with a predefined validation split."""
    from skorch import NeuralNetClassifier
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    s = work.splits()

    def fit_all():
        accs = []
        for member in work.members:
            torch.manual_seed(member.seed)
            net = NeuralNetClassifier(build_module(work.architecture(), dropout=_dropout_rate(member)),
                                      criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=work.lr,
                                      max_epochs=work.epochs, batch_size=work.batch_size,
                                      train_split=predefined_split(Dataset(s.X_val, s.y_val)), verbose=0)
            net.fit(s.X_train, s.y_train)
            accs.append(float((net.predict(s.X_test) == s.y_test).mean()))
        return accs

    seconds, other, accs = timed(fit_all)
    return Run("skorch", work.name, len(work.members), seconds, float(np.mean(accs)), other)


def run_keras(work: Workload) -> Run:
    """Keras 3 on the torch backend: `Sequential` of Dense and Dropout, `fit` with validation data."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise ImportError(f"keras runs on the {keras.backend.backend()} backend here, not torch")
    s = work.splits()
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731

    def fit_all():
        accs = []
        for member in work.members:
            keras.utils.set_random_seed(member.seed)
            layers = [keras.Input((flat(s.X_train).shape[1],))]
            for _ in range(work.depth):
                layers += [keras.layers.Dense(work.width, activation="relu"),
                           keras.layers.Dropout(_dropout_rate(member))]
            model = keras.Sequential(layers + [keras.layers.Dense(s.num_classes)])
            model.compile(keras.optimizers.Adam(work.lr),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            model.fit(flat(s.X_train), s.y_train, batch_size=work.batch_size, epochs=work.epochs,
                      validation_data=(flat(s.X_val), s.y_val), verbose=0)
            accs.append(float((model.predict(flat(s.X_test), verbose=0).argmax(1) == s.y_test).mean()))
        return accs

    seconds, other, accs = timed(fit_all)
    return Run("Keras 3 (torch backend)", work.name, len(work.members), seconds, float(np.mean(accs)), other)


OPTIONAL = {"PyTorch Lightning": ("lightning", run_lightning), "skorch": ("skorch", run_skorch),
            "Keras 3 (torch backend)": ("keras", run_keras)}


def optional_runs(work: Workload, repeats: int) -> tuple[list[Run], list[str]]:
    """The optional frameworks that are installed (`pip install -e ".[bench]"`), each the median of
    `repeats` runs, and a note for each that is not."""
    import importlib.util

    runs, notes = [], []
    for name, (module, runner) in OPTIONAL.items():
        if importlib.util.find_spec(module) is None:
            notes.append(f"{name}: skipped, `{module}` is not installed (pip install -e \".[bench]\")")
            continue
        try:
            runs.append(median_run(lambda: runner(work), repeats))
        except ImportError as err:
            notes.append(f"{name}: skipped, {err}")
    return runs, notes


# ---- the series --------------------------------------------------------------------------------
def scale_point(count: int, epochs: int = 10) -> dict:
    """One point of the scale series, meant for a fresh process: its peak memory is its own."""
    run_goodfit(w35(1, 2))  # warm-up; memory it keeps is counted in the baseline, not the peak
    peak, run = peak_rss_during(lambda: run_goodfit(w35(epochs, count)))
    # the kernels' least cost per member, over the ways to cut the population into smaller ones
    cuts = sorted({count} | {c for c in (8, 16, 32, 64, 128) if c < count})
    floor, cut = min((mlp_kernel_floor(w35(epochs, c))["seconds"] / c, c) for c in cuts)
    return {"members": count, "seconds": run.seconds, "seconds_per_member": run.per_member,
            "peak_rss_per_member_mb": peak / count / 2 ** 20, "other_load": run.other_load,
            "kernel_floor_per_member": floor, "kernel_floor_population": cut}


def scale_series(counts=(1, 8, 35, 128, 512), epochs: int = 10) -> list[dict]:
    """Seconds and peak resident memory per member as the population of W35's model grows, each in a fresh process."""
    import subprocess

    rows = []
    for count in counts:
        done = subprocess.run([sys.executable, __file__, "--scale-point", str(count), "--epochs", str(epochs)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


# ---- the default study, as whole commands ------------------------------------------------------
def _command(args: list[str]) -> tuple[float, float, str]:
    """(seconds, other processes' share of the CPUs, its output) of a command run to its end, start-up included."""
    import subprocess

    seconds, other, done = timed(lambda: subprocess.run(args, capture_output=True, text=True))
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} exited with code {done.returncode}: {done.stderr.strip()[-2000:]}")
    return seconds, other, done.stdout


def default_study_runs(options: tuple = (), repeats: int = 3) -> tuple[Run, Run]:
    """The default study as a user runs it: `goodfit study` against `plain_study.py`, whole commands.

    Each command is timed from outside, start-up included, `repeats` times (the run of median time
    is returned). `options` go to both commands (`--epochs 2 --seeds 2` makes the study tiny). The
    plain script reads the same splits from an .npz written beforehand, so its start-up is torch's
    alone, while `goodfit study` loads and splits digits itself. Each run's `extra["arms"]` holds
    every arm's mean test accuracy: goodfit's from its `results.json`, the plain script's from its
    last line. The default study also trains its arms on 20% wrong labels; both commands train only
    its clean condition here (`--label-noise 0`), the same members on the same data.
    """
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "splits.npz"
        seeds = int(options[options.index("--seeds") + 1]) if "--seeds" in options else 5
        np.savez(data, **plain_study.default_splits(seeds))  # each seed its own split, as `goodfit study` draws them

        def goodfit_study() -> Run:
            out = tempfile.mkdtemp(dir=folder)  # a fresh folder each time: in a used one the study resumes
            seconds, other, _ = _command([sys.executable, "-m", "goodfit", "study", "--out", out, "--label-noise", "0",
                                          *options])  # the default study's clean condition, the plain loop's data
            result = json.loads((Path(out) / "results.json").read_text())
            arms = {a["arm"]: a["test_accuracy"] for a in result["arms"]}
            return Run("goodfit study", "default study", len(result["members"]), seconds,
                       float(np.mean(list(arms.values()))), other, extra={"arms": arms})

        def plain() -> Run:
            seconds, other, printed = _command([sys.executable, str(PLAIN_STUDY), "--data", str(data), *options])
            result = json.loads(printed.strip().splitlines()[-1])
            return Run("plain PyTorch loop (plain_study.py)", "default study", result["members"], seconds,
                       float(np.mean(list(result["arms"].values()))), other, extra={"arms": result["arms"]})

        return median_run(goodfit_study, repeats), median_run(plain, repeats)


# ---- reporting ---------------------------------------------------------------------------------
def _mark(run_or_row) -> str:
    other = run_or_row.other_load if isinstance(run_or_row, Run) else run_or_row["other_load"]
    return " *" if other > DISTURBED else ""


def runs_table(title: str, runs: list[Run]):
    from rich.table import Table

    base = runs[0].seconds
    table = Table(title=title)
    for name in ("runner", "wall s", "s/member", "mean test acc", "× goodfit's time"):
        table.add_column(name, justify="left" if name == "runner" else "right")
    for r in runs:
        table.add_row(r.runner + (f" ({r.note})" if r.note else ""), f"{r.seconds:.1f}{_mark(r)}",
                      f"{r.per_member:.3f}", f"{r.accuracy:.3f}", f"{r.seconds / base:.1f}×")
    return table


def scale_table(rows: list[dict]):
    from rich.table import Table

    table = Table(title="Scale series: W35's model, 10 epochs")
    for name in ("members", "wall s", "s/member", "kernel floor s/member", "peak RSS/member MB"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(str(r["members"]), f"{r['seconds']:.2f}{_mark(r)}", f"{r['seconds_per_member']:.4f}",
                      f"{r['kernel_floor_per_member']:.4f}", f"{r['peak_rss_per_member_mb']:.2f}")
    return table


def arms_table(goodfit: Run, plain: Run):
    """Each arm's mean test accuracy from the two runs of the default study, side by side."""
    from rich.table import Table

    table = Table(title="The default study: mean test accuracy per arm (a check that both did the same job)")
    for name in ("arm", goodfit.runner, plain.runner):
        table.add_column(name, justify="left" if name == "arm" else "right")
    for arm, accuracy in goodfit.extra["arms"].items():
        table.add_row(arm, f"{accuracy:.3f}", f"{plain.extra['arms'][arm]:.3f}")
    return table


def _record(run: Run) -> dict:
    return {"runner": run.runner, "workload": run.workload, "members": run.members, "seconds": run.seconds,
            "seconds_per_member": run.per_member, "mean_test_accuracy": run.accuracy, "other_load": run.other_load,
            "note": run.note, **run.extra}


def _versus(goodfit: Run, plain: Run) -> dict:
    return {"goodfit": _record(goodfit), "plain": _record(plain), "ratio": plain.seconds / goodfit.seconds}


def remedy_rows(epochs: int, count: int, repeats: int, console, study_options: tuple = ()) -> dict:
    """The default study as whole commands, then W35's model with every member on batch norm and
    with every member on augmentation (`count` members, `epochs` epochs), each against the plain
    loop; prints their tables and returns their records, a ratio (plain time over goodfit's) in each."""
    goodfit, plain = default_study_runs(study_options, repeats)
    command = " ".join(("goodfit study",) + tuple(study_options))
    console.print(runs_table(f"The default study, `{command}` against plain_study.py: {goodfit.members} members, "
                             f"whole commands, start-up included, median of {repeats}", [goodfit, plain]))
    console.print(arms_table(goodfit, plain))
    arms = {arm: {"goodfit": accuracy, "plain": plain.extra["arms"][arm]}
            for arm, accuracy in goodfit.extra["arms"].items()}
    record = {"default_study_vs_plain": {**_versus(goodfit, plain), "arms": arms}}
    for name in ("batchnorm", "augment"):
        work = w35_arm(name, epochs, count)
        runs = [median_run(lambda: run_goodfit(work), repeats), median_run(lambda: run_plain(work), repeats)]
        console.print(runs_table(f"W35's model, every member on the default study's {name} arm: {count} members, "
                                 f"{epochs} epochs, median of {repeats}", runs))
        record[f"{name}_population"] = _versus(*runs)
    return record


# ---- the two sittings ------------------------------------------------------------------------------
def quick(epochs: int = 20, count: int = 35, single: int = 5, repeats: int = 3, remedy_epochs: int = 10,
          study_options: tuple = (), own_size: str = "quick", console=None) -> dict:
    """W35 at `epochs` epochs, population against the plain loop; single models against the plain
    loop (default and fused Adam); then `remedy_rows` at `remedy_epochs`: the default study as whole
    commands (with `study_options`) and the batch-norm and augmentation populations against their
    plain loops; then a user's own CNN and ResNet through the Study against the plain loop
    (`own_module.rows` at `own_size`). Every runner runs `repeats` times; the figures are medians."""
    from rich.console import Console

    console = console or Console()
    work = w35(epochs, count)
    run_goodfit(w35(1, 2))  # warm-up: first calls into torch and the data set are not counted
    goodfit = median_run(lambda: run_goodfit(work), repeats)
    plain = median_run(lambda: run_plain(work), repeats)
    plain_fused = median_run(lambda: run_plain(work, fused=True), repeats)
    # `goodfit train` on its default arm, one model at a time
    singles = [Workload(f"W35 member {seed}", "digits", "mlp", 256, 2, epochs, (Member(dropout_arm(0.0), seed),))
               for seed in range(single)]

    def singles_seconds(runner) -> float:
        return statistics.median(sum(runner(w).seconds for w in singles) for _ in range(repeats))

    single_goodfit, single_plain = singles_seconds(run_goodfit), singles_seconds(run_plain)
    single_fused = singles_seconds(lambda w: run_plain(w, fused=True))
    console.print(runs_table(f"W35, {epochs} epochs, {count} members ({machine()['cpu']}, {os.cpu_count()} cores, "
                             f"torch {torch.__version__}), median of {repeats}", [goodfit, plain, plain_fused]))
    console.print(f"single models: goodfit {single_goodfit:.2f} s, plain loop {single_plain:.2f} s, with fused Adam "
                  f"{single_fused:.2f} s ({single} members, each trained alone, median of {repeats})")
    rows = remedy_rows(remedy_epochs, count, repeats, console, study_options)
    own = own_module.rows(own_size, repeats)
    loads = [r.other_load for r in (goodfit, plain, plain_fused)]
    loads += [row[runner]["other_load"] for row in rows.values() for runner in ("goodfit", "plain")]
    loads += [row["other_load"] for row in own.values()]
    if max(loads) > DISTURBED:
        console.print("* other processes used more than 10% of the CPUs during this figure")
    ratios = {"population": plain.seconds / goodfit.seconds, "single": single_plain / single_goodfit,
              "study": rows["default_study_vs_plain"]["ratio"], "single_fused": single_fused / single_goodfit,
              "batchnorm": rows["batchnorm_population"]["ratio"], "augment": rows["augment_population"]["ratio"],
              "own_cnn": own["cnn"]["ratio"], "own_resnet": own["resnet"]["ratio"]}
    print(f"population vs plain sequential: {ratios['population']:.1f}×")
    print(f"single model vs plain loop: {ratios['single']:.1f}×")
    print(f"study vs plain sequential: {ratios['study']:.1f}×")
    print(f"single model vs plain loop (fused Adam): {ratios['single_fused']:.1f}×")
    print(f"batchnorm population vs plain sequential: {ratios['batchnorm']:.1f}×")
    print(f"augment population vs plain sequential: {ratios['augment']:.1f}×")
    print(f"own CNN study vs plain loop: {ratios['own_cnn']:.1f}×")
    print(f"own ResNet study vs plain loop: {ratios['own_resnet']:.1f}×")
    return {"goodfit": _record(goodfit), "plain": _record(plain), "plain_fused": _record(plain_fused),
            "single_goodfit_seconds": single_goodfit, "single_plain_seconds": single_plain,
            "single_plain_fused_seconds": single_fused, **rows, "own_module": own, "repeats": repeats,
            "ratios": ratios}


def full(out: Path, repeats: int = 3, console=None) -> dict:
    """Every workload and runner (each `repeats` times, the median reported), the machine's ceilings,
    the scale series, `remedy_rows` at 20 epochs and the own-module rows (`own_module.rows`) at full
    size; saved as JSON under `out`."""
    from rich.console import Console

    console = console or Console()
    info = machine()
    console.print(f"[bold]{info['cpu']}[/], {info['cores']} cores, torch {info['torch']} "
                  f"({info['torch_threads']} threads), {info['date']}")
    run_goodfit(w35(1, 2))  # warm-up: first calls into torch and the data set are not counted
    work = w35()
    goodfit = median_run(lambda: run_goodfit(work), repeats)
    runs = [goodfit] + [median_run(lambda: runner(work), repeats)
                        for runner in (run_plain, lambda w: run_plain(w, fused=True), run_sklearn)]
    extra, notes = optional_runs(work, repeats)
    runs += extra
    console.print(runs_table(f"W35: digits, MLP 64-256-256-10, 35 members, 100 epochs, median of {repeats}", runs))
    for note in notes:
        console.print(f"  {note}")

    peak = matmul_peak_gflops()
    roof = mlp_roofline(work, peak, 1.0)
    bandwidths = {"512MB": bandwidth_gbs(512 << 20), "working_set": bandwidth_gbs(roof["working_set_bytes"])}
    roof = mlp_roofline(work, peak, max(bandwidths.values()))
    fraction = roof["seconds"] / goodfit.seconds
    console.print(f"matmul peak {peak:.0f} GFLOP/s; memory bandwidth {bandwidths['512MB']:.1f} GB/s over 512 MB, "
                  f"{bandwidths['working_set']:.1f} GB/s over {roof['working_set_bytes'] / 2 ** 20:.0f} MB "
                  "(W35's weights, gradients and Adam moments; the roofline uses the faster)")
    console.print(f"W35 roofline: {roof['flops'] / 1e12:.2f} TFLOP -> {roof['compute_seconds']:.1f} s, "
                  f"{roof['bytes'] / 1e9:.0f} GB -> {roof['memory_seconds']:.1f} s; {roof['bound']}-bound at "
                  f"{roof['seconds']:.1f} s. goodfit takes {goodfit.seconds:.1f} s: {fraction:.0%} of the roofline")
    floor = mlp_kernel_floor(work)
    console.print(f"W35 kernel floor (its batched matmuls, fused Adam and evaluation timed bare): "
                  f"{floor['matmul_step_seconds'] * 1e3:.2f} ms of matmuls and {floor['adam_step_seconds'] * 1e3:.2f} ms "
                  f"of Adam a step, {floor['eval_epoch_seconds'] * 1e3:.1f} ms of evaluation an epoch -> "
                  f"{floor['seconds']:.1f} s, {roof['seconds'] / floor['seconds']:.0%} of the roofline; goodfit reaches "
                  f"{floor['seconds'] / goodfit.seconds:.0%} of it")

    series = scale_series()
    console.print(scale_table(series))
    at128 = next(r for r in series if r["members"] == 128)
    fall = series[0]["seconds_per_member"] / at128["seconds_per_member"]
    floor_fall = series[0]["seconds_per_member"] / at128["kernel_floor_per_member"]
    console.print(f"seconds per member fall {fall:.1f}× from 1 to 128 members; 128 members costing no more than "
                  f"their kernels ({at128['kernel_floor_per_member']:.4f} s per member, in populations of "
                  f"{at128['kernel_floor_population']}) would make it {floor_fall:.1f}×")

    m1d = []
    for arch in ("mlp", "cnn1d"):
        w = mnist1d(arch, 20, 35)
        rows = [median_run(lambda: runner(w), repeats)
                for runner in (run_goodfit, run_plain, lambda w: run_plain(w, fused=True))]
        console.print(runs_table(f"MNIST-1D, {arch}, 35 members, 20 epochs, median of {repeats}", rows))
        m1d += rows

    remedies = remedy_rows(20, 35, repeats, console)
    own = own_module.rows("full", repeats)
    loads = [r.other_load for r in runs + m1d] + [r["other_load"] for r in series]
    loads += [row[runner]["other_load"] for row in remedies.values() for runner in ("goodfit", "plain")]
    loads += [row["other_load"] for row in own.values()]
    if max(loads) > DISTURBED:
        console.print("* other processes used more than 10% of the CPUs during this figure")

    record = {"machine": info, "command": f"python benchmarks/bench_engine.py --repeats {repeats}",
              "repeats": repeats,
              "w35": {"runs": [_record(r) for r in runs], "skipped": notes,
                      "matmul_peak_gflops": peak, "bandwidth_gbs": bandwidths, "roofline": roof,
                      "roofline_fraction": fraction, "kernel_floor": floor,
                      "kernel_floor_fraction": floor["seconds"] / goodfit.seconds},
              "scale_series": series, "scale_fall_1_to_128": fall, "kernel_floor_fall_1_to_128": floor_fall,
              "mnist1d": [_record(r) for r in m1d], **remedies, "own_module": own}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.datetime.now():%Y-%m-%d-%H%M%S}-bench.json"
    path.write_text(json.dumps(record, indent=2))
    console.print(f"wrote {path}")
    return record


def gpu(out: Path, device: str = "cuda", counts=(1, 64, 256, 1024), epochs: int = 20, sample: int = 8,
        w35_epochs: int = 100, console=None) -> dict:
    """The benchmark on a GPU: W35 against the plain loop on the same GPU, then populations of
    MNIST-1D MLPs up to 1,024 members, each with its roofline and the share of the GPU's float32
    peak it reaches. The plain loop trains `sample` of the MNIST-1D members one after another; its
    time for a whole population is that per member times the members. Saved as JSON under `out`."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cuda = torch.device(device).type == "cuda"
    info = {**machine(), "device": device, "gpu": torch.cuda.get_device_name(device) if cuda else None}
    console.print(f"[bold]{info['gpu'] or info['cpu']}[/], torch {info['torch']}, {info['date']}")
    peak = matmul_peak_gflops((4096, 8192) if cuda else (1024,), device)
    bandwidth = bandwidth_gbs((1 << 30) if cuda else (64 << 20), device)
    console.print(f"float32 matmul peak {peak / 1e3:.1f} TFLOP/s; memory bandwidth {bandwidth:.0f} GB/s")

    run_goodfit(replace(w35(1, 2), device=device))  # warm-up: kernels load, memory pools fill
    work = replace(w35(w35_epochs), device=device)
    runs = [run_goodfit(work), run_plain(work), run_plain(work, fused=True)]
    console.print(runs_table(f"W35 on {device}: digits, MLP 64-256-256-10, 35 members, {w35_epochs} epochs", runs))
    roof = mlp_roofline(work, peak, bandwidth)
    console.print(f"W35 roofline on {device}: {roof['seconds']:.2f} s ({roof['bound']}-bound); goodfit "
                  f"{runs[0].seconds:.1f} s, {roof['seconds'] / runs[0].seconds:.1%} of it")

    plain = run_plain(mnist1d("mlp", epochs, sample, device))
    rows = []
    for count in counts:
        w = mnist1d("mlp", epochs, count, device)
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        run = run_goodfit(w)
        r = mlp_roofline(w, peak, bandwidth)
        rows.append({"members": count, "seconds": run.seconds, "seconds_per_member": run.per_member,
                     "mean_test_accuracy": run.accuracy, "roofline_seconds": r["seconds"], "bound": r["bound"],
                     "roofline_fraction": r["seconds"] / run.seconds, "tflops": r["flops"] / run.seconds / 1e12,
                     "peak_fraction": r["flops"] / run.seconds / (peak * 1e9),
                     "plain_seconds_estimate": plain.per_member * count,
                     "peak_memory_per_member_mb": torch.cuda.max_memory_allocated(device) / count / 2 ** 20 if cuda else None})
    table = Table(title=f"MNIST-1D, MLP 40-256-256-10, {epochs} epochs, on {device}")
    for name in ("members", "wall s", "s/member", "mean test acc", "TFLOP/s", "of fp32 peak", "of roofline",
                 "plain loop s (from its s/member)", "plain / goodfit"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(str(r["members"]), f"{r['seconds']:.1f}", f"{r['seconds_per_member']:.4f}",
                      f"{r['mean_test_accuracy']:.3f}", f"{r['tflops']:.2f}", f"{r['peak_fraction']:.1%}",
                      f"{r['roofline_fraction']:.1%}", f"{r['plain_seconds_estimate']:.0f}",
                      f"{r['plain_seconds_estimate'] / r['seconds']:.0f}×")
    console.print(table)
    console.print(f"plain loop on {device}: {plain.per_member:.2f} s per member ({sample} members one after another, "
                  f"mean test accuracy {plain.accuracy:.3f})")

    record = {"machine": info, "command": f"python benchmarks/bench_engine.py --gpu --device {device}",
              "matmul_peak_gflops": peak, "bandwidth_gbs": bandwidth,
              "w35": {"runs": [_record(r) for r in runs], "roofline": roof,
                      "roofline_fraction": roof["seconds"] / runs[0].seconds},
              "mnist1d_plain": _record(plain), "mnist1d_populations": rows}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.datetime.now():%Y-%m-%d-%H%M%S}-gpu-bench.json"
    path.write_text(json.dumps(record, indent=2))
    console.print(f"wrote {path}")
    return record


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="W35 at 20 epochs, the default study and the batch-norm and augmentation populations "
                             "against their plain loops.")
    parser.add_argument("--smoke", action="store_true", help="The quick path on tiny workloads (seconds).")
    parser.add_argument("--repeats", type=int,
                        help="Runs of every runner; the median is reported (default 3, with --smoke 1).")
    parser.add_argument("--gpu", action="store_true",
                        help="On a GPU: W35 and MNIST-1D populations up to 1,024 members, with the GPU's peak.")
    parser.add_argument("--device", default="cuda", help="The GPU for --gpu (default cuda).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where a full or GPU run writes its JSON.")
    parser.add_argument("--scale-point", type=int, help=argparse.SUPPRESS)  # one point of the series, as JSON
    parser.add_argument("--epochs", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.scale_point:
        point = scale_point(args.scale_point, args.epochs)
        print(json.dumps(point))
        return point
    if args.gpu:
        if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
            print(f"--gpu needs a CUDA GPU and torch {torch.__version__} sees none; run it on a machine with one",
                  file=sys.stderr)
            raise SystemExit(2)
        return gpu(args.out, args.device)
    if args.smoke:
        return quick(epochs=2, count=4, single=1, repeats=args.repeats or 1, remedy_epochs=2,
                     study_options=("--epochs", "2", "--seeds", "2"), own_size="smoke")
    repeats = args.repeats or 3
    if args.quick:
        return quick(repeats=repeats)
    return full(args.out, repeats)


if __name__ == "__main__":
    main()
