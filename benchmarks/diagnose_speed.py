"""How fast `goodfit diagnose` answers on a small log, and how light `import goodfit` is.

Writes a 21-epoch Keras CSVLogger file, then runs the whole command (`goodfit diagnose FILE`, a fresh
Python process each time, chart and all) and `python -c "import goodfit"` several times, and prints
the median wall time and the peak memory (maximum resident set size) of each. The target is under
0.5 s and 150 MB for the command.

    python benchmarks/diagnose_speed.py            # 7 runs each
    python benchmarks/diagnose_speed.py --runs 15
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def small_log(folder: Path) -> Path:
    e = np.arange(1, 22)
    rows = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    for i in e:
        rows.append(f"{i - 1},{min(1, 0.5 + i / 60):.4f},{2 * np.exp(-i / 8):.4f},{0.8:.4f},"
                    f"{0.4 + 1.5 * np.exp(-i / 5) + 0.01 * max(0, i - 11):.4f}")
    path = folder / "keras_log.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def measure(command: list[str], runs: int) -> tuple[float, float, float]:
    """Median wall seconds, median CPU seconds (user + system) and the largest peak RSS (MB) over `runs` runs
    of a command, each in a fresh process. On a busy machine the CPU time is the steadier figure."""
    times, cpu, peaks = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "COLUMNS": "100"})
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode()[-500:]}")
        peaks.append(usage.ru_maxrss / 1024)  # kilobytes on Linux
        cpu.append(usage.ru_utime + usage.ru_stime)
    return float(np.median(times)), float(np.median(cpu)), float(max(peaks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    args = parser.parse_args()
    goodfit = str(Path(sys.executable).with_name("goodfit"))
    with tempfile.TemporaryDirectory() as tmp:
        log = small_log(Path(tmp))
        measure([goodfit, "diagnose", str(log)], 1)  # warm the file cache
        command = measure([goodfit, "diagnose", str(log)], args.runs)
        as_json = measure([goodfit, "diagnose", str(log), "--json"], args.runs)
        bare = measure([sys.executable, "-c", "import goodfit"], args.runs)
        python = measure([sys.executable, "-c", "pass"], args.runs)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"median of {args.runs} runs, load average {os.getloadavg()[0]:.2f}")
    for name, (wall, cpu, peak) in (("goodfit diagnose on a 21-epoch Keras log", command),
                                     ("  the same with --json (no chart)", as_json), ("import goodfit", bare),
                                     ("python doing nothing", python)):
        print(f"{name + ':':42s} {wall:.2f} s wall, {cpu:.2f} s CPU, peak memory {peak:.0f} MB")
    print("target for goodfit diagnose: under 0.5 s and 150 MB")


if __name__ == "__main__":
    main()
