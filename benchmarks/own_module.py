"""A user's own `nn.Module` through goodfit's public `Study`, against a plain PyTorch loop over the
same module trained one member after another, side by side in one sitting.

    python benchmarks/own_module.py                 # own CNN (21 members, 30 epochs), own ResNet (6 members, 10 epochs)
    python benchmarks/own_module.py --repeats 1     # the same, each side timed once
    python benchmarks/own_module.py --quick         # own CNN at 10 epochs, own ResNet at 4, each side timed once
    python benchmarks/own_module.py --smoke         # 2 arms x 1 seed, 2 epochs each: seconds (the test suite runs it)
    python benchmarks/own_module.py --only cnn      # one workload: cnn or resnet
    python benchmarks/own_module.py --only cnn --training adamw-cosine   # both sides with the user's own training

own CNN: a factory as a newcomer writes it, `own_cnn(dropout=0.0, batchnorm=False, width=1.0)`,
two blocks of Conv2d 3x3 (24 then 48 channels, about the built-in cnn2d's 10,858 parameters and
multiply-adds), batch norm or nothing, ReLU, MaxPool2d, then global average pooling, Dropout and
Linear; on digits (8x8 images, 60/20/20 split), 7 arms (baseline, dropout, l2, early_stopping,
augment, batchnorm, shrink at the default study's strengths) x 3 seeds. own ResNet: a strided
stem and two residual blocks of 16 channels, global average pooling, Dropout and Linear; on 2,000
tinted 32x32 RGB images made from digits (`tinted_digits`), 3 arms (baseline, dropout, l2) x 2 seeds.

The goodfit side is the user's whole job, `Study(data, model=factory, arms=..., seeds=..., epochs=...).run()`,
in memory. The plain side trains the same arms and seeds on the same split (goodfit's `split`, as
the study draws it) with `plain_study.fit`: Adam lr 1e-3, batch 32, validation and a 512-sample
training subset evaluated after each epoch, L2 as a gradient penalty on weights, early stopping
with its best weights restored, the same augmentation strengths; batch norm, dropout and shrink
reach the factory as the keywords goodfit passes. After an untimed warm-up of each side (1 seed,
1 epoch), the two alternate `--repeats` times; the medians and their ratio (plain over goodfit)
are printed, with each side's mean test accuracy per arm as a check that both did the same job.

`--training adamw-cosine` trains both sides as a fine-tuning script does: AdamW (torch's defaults, weight
decay 0.01), a linear warm-up over the first 5 epochs (a third of them when fewer than 15) from a sixth of
the rate, then cosine annealing to 0, stepped per epoch, gradients clipped to norm 1; goodfit takes it as
`TrainConfig(optimizer="adamw", scheduler="cosine", warmup=5, clip_grad=1)`, the plain loop as the same
torch objects.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from goodfit import Study, TrainConfig
from goodfit.data import Conditions, load, split
from goodfit.grammar import parse_arms
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

sys.path.insert(0, str(Path(__file__).parent))
import plain_study  # noqa: E402  (the plain loop and its augmentation, shared with the plain default study)

CNN_ARMS = ("baseline", "dropout", "l2", "early_stopping", "augment", "batchnorm", "shrink")
RESNET_ARMS = ("baseline", "dropout", "l2")
EPOCHS = {"full": (30, 10), "quick": (10, 4), "smoke": (2, 2)}  # own CNN's and own ResNet's, by size
DISTURBED = 0.10  # share of the CPUs other processes may use before a figure is marked, as bench_engine.py marks it


# ---- the user's modules --------------------------------------------------------------------------
def own_cnn(dropout: float = 0.0, batchnorm: bool = False, width: float = 1.0) -> nn.Module:
    """Two convolution blocks (24 and 48 channels at full width), pooled, dropped out, classified."""
    c = max(1, round(24 * width))
    norm = (lambda n: nn.BatchNorm2d(n)) if batchnorm else (lambda n: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), norm(c), nn.ReLU(), nn.MaxPool2d(2),  # (B, c, 4, 4)
        nn.Conv2d(c, 2 * c, 3, padding=1), norm(2 * c), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2c, 2, 2)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * c, 10))


class Residual(nn.Module):
    """conv-bn-relu-conv-bn, plus the block's input, then relu."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


def own_resnet(dropout: float = 0.0) -> nn.Module:
    """A strided stem to 16 channels at 16x16, two residual blocks, pooled, dropped out, classified."""
    c = 16
    return nn.Sequential(
        nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),  # (B, c, 16, 16)
        Residual(c), Residual(c),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, 10))


# ---- the data ------------------------------------------------------------------------------------
def tinted_digits(path: Path, count: int = 2000, seed: int = 0) -> Path:
    """Write `count` 32x32 RGB images made from digits to `path` (.npz with X and y) and return it.

    Each 8x8 digit is upscaled bilinearly to 32x32; `count` minus the 1,797 digits are copies of
    randomly chosen ones, shifted by up to 4 pixels each way (zeros fill in); every image is then
    tinted by its own random colour, a factor in [0.2, 1] per channel.
    """
    digits = load("digits")
    rng = np.random.default_rng(seed)
    x = F.interpolate(torch.as_tensor(digits.X), size=(32, 32), mode="bilinear", align_corners=False)  # (N, 1, 32, 32)
    x = x.numpy()
    picked = rng.choice(len(x), count - len(x), replace=False)
    padded = np.pad(x[picked], ((0, 0), (0, 0), (4, 4), (4, 4)))  # (n, 1, 40, 40)
    shifts = rng.integers(0, 9, size=(len(picked), 2))
    copies = np.stack([p[:, dy:dy + 32, dx:dx + 32] for p, (dy, dx) in zip(padded, shifts)])  # (n, 1, 32, 32)
    images = np.concatenate([x, copies])  # (count, 1, 32, 32)
    tint = rng.uniform(0.2, 1.0, size=(count, 3, 1, 1))
    X = (images * tint).clip(0, 1).astype(np.float32)  # (count, 3, 32, 32)
    y = np.concatenate([digits.y, digits.y[picked]])
    np.savez(path, X=X, y=y)
    return path


# ---- workloads -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """A user's factory, its data and the arms and seeds a study of it trains."""

    name: str  # `own CNN`
    data: str  # a built-in name or an .npz path, as `Study` takes it
    about: str  # how the data reads in a sentence
    factory: Callable[..., nn.Module]
    arms: tuple  # arm spellings, baseline first
    seeds: int
    epochs: int
    training: str = "adam"  # a key of TRAININGS

    @property
    def warmup(self) -> int:
        return min(5, self.epochs // 3)

    def goodfit_config(self) -> TrainConfig:
        """The study's training settings."""
        if self.training == "adam":
            return TrainConfig()
        return TrainConfig(optimizer="adamw", scheduler="cosine", warmup=self.warmup, clip_grad=1.0)

    def plain_training(self) -> "plain_study.Training | None":
        """The same training as torch objects for the plain loop (None: its Adam at a constant rate)."""
        if self.training == "adam":
            return None
        S, warm, rest = torch.optim.lr_scheduler, self.warmup, self.epochs - self.warmup

        def schedule(opt):
            cosine = S.CosineAnnealingLR(opt, T_max=rest)
            if not warm:
                return cosine
            return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=1 / (warm + 1), total_iters=warm), cosine],
                                  milestones=[warm])
        return plain_study.Training(lambda params: torch.optim.AdamW(params, lr=1e-3), schedule, 1.0)

    @property
    def members(self) -> int:
        return len(self.arms) * self.seeds

    @property
    def label(self) -> str:
        trained = "" if self.training == "adam" else f", {self.training}"
        return f"{self.name} ({self.members} members, {self.about}, {self.epochs} epochs{trained})"


def workloads(size: str, folder: Path) -> dict[str, Workload]:
    """The own CNN and own ResNet at a size of `EPOCHS` (`smoke` also trains 2 arms x 1 seed each);
    the ResNet's images are written into `folder`."""
    epochs, smoke = EPOCHS[size], size == "smoke"
    images = tinted_digits(folder / "tinted_digits.npz")
    return {"cnn": Workload("own CNN", "digits", "digits", own_cnn, CNN_ARMS[:2] if smoke else CNN_ARMS,
                            1 if smoke else 3, epochs[0]),
            "resnet": Workload("own ResNet", str(images), "tinted digits 32x32", own_resnet,
                               RESNET_ARMS[:2] if smoke else RESNET_ARMS, 1 if smoke else 2, epochs[1])}


# ---- the two sides -------------------------------------------------------------------------------
def timed(fn: Callable):
    """(seconds, other processes' share of the CPUs meanwhile, fn's result): bench_engine.py's measure,
    here too because bench_engine.py imports this file and not the other way round."""
    def busy_seconds() -> float:  # all CPUs' busy time (not idle, not waiting for I/O), from /proc/stat
        ticks = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")

    def own_seconds() -> float:  # this process's and its finished children's (worker processes)
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in usage)

    busy, own = busy_seconds(), own_seconds()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    other = max(0.0, busy_seconds() - busy - (own_seconds() - own))
    return seconds, other / max(seconds, 1e-9) / (os.cpu_count() or 1), out


def run_goodfit(work: Workload) -> tuple[dict[str, float], list[str]]:
    """The study as the user runs it: (mean test accuracy per arm, goodfit's notes on how it ran the module)."""
    notes: list[str] = []

    def on_event(event: dict) -> None:
        notes.extend(n for n in event.get("notes", ()) if n not in notes)

    result = Study(work.data, model=work.factory, arms=list(work.arms), seeds=work.seeds, epochs=work.epochs,
                   train=work.goodfit_config()).run(on_event=on_event)
    accuracy = result.members.groupby("arm", sort=False)["test_accuracy"].mean()
    return {arm: float(accuracy[arm]) for arm in work.arms}, notes


def plain_settings(arm: Arm) -> tuple[dict, dict]:
    """The factory's keywords and `plain_study.fit`'s for one arm: the keywords goodfit passes the
    factory (only those of remedies the arm has), and the L2 penalty, patience and augmentation."""
    factory, fit = {}, {}
    for remedy in arm.remedies:
        if isinstance(remedy, Dropout):
            factory["dropout"] = remedy.rate
        elif isinstance(remedy, BatchNorm):
            factory["batchnorm"] = True
        elif isinstance(remedy, Shrink) and remedy.depth is None:
            factory["width"] = remedy.width
        elif isinstance(remedy, WeightDecay) and remedy == WeightDecay(remedy.strength):
            fit["l2"] = remedy.strength
        elif isinstance(remedy, EarlyStopping) and remedy == EarlyStopping(remedy.patience):
            fit["patience"] = remedy.patience
        elif isinstance(remedy, Augment) and remedy.flip == remedy.mixup == 0:
            fit["augment"] = (remedy.rotate, remedy.zoom, remedy.shift, remedy.noise)
        else:
            raise ValueError(f"arm {arm.name!r}: the plain loop cannot do {remedy}")
    return factory, fit


@contextmanager
def denormals_flushed():
    """Denormal floats flushed to zero meanwhile, as goodfit trains; the setting restored after."""
    before = bool((torch.tensor([1e-30]) * 1e-10).item() == 0.0)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def run_plain(work: Workload) -> dict[str, float]:
    """The same members trained one after another: mean test accuracy per arm."""
    dataset = load(work.data)
    s = split(dataset, Conditions(), seed=0)  # as the study splits: all data, split seed 0
    data = {k: getattr(s, k) for k in plain_study.SPLITS}
    accuracy = {}
    with denormals_flushed():
        for arm in parse_arms(",".join(work.arms), dataset.kind):
            factory_kwargs, fit_kwargs = plain_settings(arm)
            accs = []
            for seed in range(work.seeds):
                torch.manual_seed(seed)
                acc, _ = plain_study.fit(work.factory(**factory_kwargs), data, work.epochs, **fit_kwargs,
                                         training=work.plain_training())
                accs.append(acc)
            accuracy[arm.name] = float(np.mean(accs))
    return accuracy


# ---- one row -------------------------------------------------------------------------------------
def compare(work: Workload, repeats: int) -> dict:
    """Both sides of one workload, alternating `repeats` times after an untimed warm-up of each;
    prints the ratio line and the accuracies per arm and returns the row."""
    warm = replace(work, seeds=1, epochs=1)
    run_goodfit(warm), run_plain(warm)
    goodfit_all, plain_all, loads = [], [], []
    for _ in range(repeats):
        seconds, other, (goodfit_acc, notes) = timed(lambda: run_goodfit(work))
        goodfit_all.append(seconds)
        loads.append(other)
        seconds, other, plain_acc = timed(lambda: run_plain(work))
        plain_all.append(seconds)
        loads.append(other)
    goodfit_s, plain_s = statistics.median(goodfit_all), statistics.median(plain_all)
    ratio, other = plain_s / goodfit_s, max(loads)
    mark = " *" if other > DISTURBED else ""
    print(f"{work.label}: goodfit {goodfit_s:.1f} s, plain loop {plain_s:.1f} s: {ratio:.1f}x{mark}")
    if mark:
        print(f"  * other processes used {other:.0%} of the CPUs during this figure")
    print(f"  {'arm':<16}{'goodfit':>9}{'plain loop':>12}   mean test accuracy (last repeat)")
    for arm in work.arms:
        print(f"  {arm:<16}{goodfit_acc[arm]:>9.3f}{plain_acc[arm]:>12.3f}")
    for note in notes:
        print(f"  goodfit: {note}")
    return {"name": work.name, "label": work.label, "members": work.members, "epochs": work.epochs,
            "goodfit_s": goodfit_s, "plain_s": plain_s, "ratio": ratio, "goodfit_seconds_all": goodfit_all,
            "plain_seconds_all": plain_all, "other_load": other, "notes": notes,
            "accuracies": {arm: {"goodfit": goodfit_acc[arm], "plain": plain_acc[arm]} for arm in work.arms}}


def rows(size: str = "full", repeats: int = 3, only: tuple = ("cnn", "resnet"), training: str = "adam"
         ) -> dict[str, dict]:
    """The rows of `only` at a size of `EPOCHS`, each side the median of `repeats`, by key (`cnn`, `resnet`),
    both sides trained as `training` says (`adam`, or `adamw-cosine`)."""
    with tempfile.TemporaryDirectory() as folder:
        works = workloads(size, Path(folder))
        return {key: compare(replace(works[key], training=training), repeats) for key in only}


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="Fewer epochs (own CNN 10, own ResNet 4), each side timed once unless --repeats.")
    size.add_argument("--smoke", action="store_true", help="2 arms x 1 seed, 2 epochs, each side timed once (seconds).")
    parser.add_argument("--repeats", type=int, help="Timed runs of each side; the median is reported (default 3; "
                                                    "1 with --quick or --smoke).")
    parser.add_argument("--only", choices=("cnn", "resnet"), help="Run one workload.")
    parser.add_argument("--training", choices=("adam", "adamw-cosine"), default="adam",
                        help="Both sides' training: Adam at a constant rate (default), or AdamW with warm-up, cosine "
                             "and clipping.")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    chosen = "smoke" if args.smoke else "quick" if args.quick else "full"
    repeats = args.repeats or (3 if chosen == "full" else 1)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    print(f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"{chosen} size" + (" (fewer epochs than the full run)" if chosen == "quick" else "")
          + f", median of {repeats}")
    return rows(chosen, repeats, (args.only,) if args.only else ("cnn", "resnet"), args.training)


if __name__ == "__main__":
    main()
