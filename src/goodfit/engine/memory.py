"""How much a population may hold and how the process is set up for it: free memory, bytes per member,
populations cut to a budget, blocks of steps and evaluation chunks sized to the cache, glibc's
reuse of freed memory and denormals flushed while training.
"""
from __future__ import annotations

import ctypes
import os
import platform
from contextlib import contextmanager

import numpy as np
import torch

from goodfit.data.splits import Splits
from goodfit.engine.config import TrainConfig
from goodfit.nn.population import MemberSettings

BLOCK_BYTES = 8 << 20  # a block of steps' gathered batches and dropout masks, drawn at once
EVAL_BYTES = 16 << 20  # activations of one evaluation chunk, within a CPU's cache
GPU_EVAL_BYTES = 256 << 20  # on a GPU, where each chunk costs kernel launches and the cache is not the limit
# On a CPU a population trains fastest while its weights, gradients and Adam moments stay in cache:
# W35's model at 10 epochs took 0.065 s a member as one population of 35 (48 MB) and 0.081 s as one
# of 128, but 0.063 s as four populations of 32.
CPU_WORKING_SET = 48 << 20
# A population whose parameters reach this is cut into one per CPU thread, and they train side by side,
# a thread each: on 2 cores the default study's 30 full-width members trained in 9.9 s as two
# single-threaded populations at once, against 12.3 s as one population on both threads.
PARALLEL_BYTES = 4 << 20


def available_memory(device: torch.device) -> int:
    """Bytes free for tensors on `device`: the GPU's free memory, or the host's MemAvailable."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def activation_bytes(arch, settings: MemberSettings, sample_shape: tuple) -> int:
    """Bytes autograd keeps per sample for one member: measured on a two-member probe, batch 2 against 4."""
    probe = arch.make_net([settings, settings], "cpu")
    saved = []
    for batch in (2, 4):
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            probe.forward(torch.zeros((2, batch) + tuple(sample_shape)), train=True)
        saved.append(total)
    return max(1, (saved[1] - saved[0]) // 4)  # (two members, two samples more)


def state_bytes(arch, settings: MemberSettings) -> tuple[int, int]:
    """Bytes of one member's parameters and of its buffers."""
    probe = arch.make_net([settings], "cpu")
    return tuple(sum(t.numel() * t.element_size() for t in d.values()) for d in (probe.params, probe.buffers))


def member_bytes(arch, settings: MemberSettings, splits: Splits, config: TrainConfig, early_stopping: bool) -> int:
    """Bytes one member needs while training: parameters with gradient, optimizer state and copies, and activations.

    Parameters count five times (weights, gradient, two Adam moments, the final copy), six under
    early stopping (the best copy); a step's activations count twice (kept for backward, and
    their gradients). Blocks of batches and evaluation chunks are sized apart (`BLOCK_BYTES`,
    `EVAL_BYTES`) and do not grow with the population.
    """
    params, buffers = state_bytes(arch, settings)
    batch = min(config.batch_size, len(splits.y_train))
    return (params * (6 if early_stopping else 5) + buffers * 3
            + 2 * batch * activation_bytes(arch, settings, splits.input_shape))


def chunks(positions: list[int], most: int) -> list[list[int]]:
    """`positions` cut into as few near-equal populations of at most `most` members as can be.

    Example:
        >>> chunks([0, 1, 2, 3, 4], most=2)
        [[0, 1], [2, 3], [4]]
    """
    count = -(-len(positions) // max(1, most))
    return [part.tolist() for part in np.array_split(np.array(positions), count)]


_MALLOC_TUNED = False


def reuse_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system at once.

    Every step frees and allocates the same large tensors (gradients, activations, evaluation
    chunks). By default glibc returns most blocks over 128 KB to the system and page-faults them in
    again on next use, which cost 6-8% of W35's time on 2 cores. After this, blocks under 32 MB come
    from the heap and up to 256 MB of free heap is kept. Process-wide and once; Linux with glibc
    only (elsewhere nothing changes).
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 256 << 20)


_GOMP: ctypes.CDLL | bool | None = None  # the OpenMP runtime, once looked up


def flushing_denormals() -> bool:
    """Whether the CPU flushes denormal floats to zero now (`torch.set_flush_denormal`)."""
    return bool((torch.tensor([1e-30]) * 1e-10).item() == 0.0)


def _openmp() -> ctypes.CDLL | None:
    """The GNU OpenMP runtime torch runs its parallel loops on, when torch brought one (its own
    `torch/lib/libgomp`; scikit-learn loads another, with threads of its own, that is not asked)."""
    global _GOMP
    if _GOMP is None:
        _GOMP = False
        own = os.path.join(os.path.dirname(torch.__file__), "lib", "")
        try:
            with open("/proc/self/maps") as maps:
                paths = sorted({path for line in maps
                                if (path := line.split()[-1]).startswith(own) and "libgomp" in path})
            if paths:
                _GOMP = ctypes.CDLL(paths[0])
                _GOMP.omp_get_thread_num.restype = ctypes.c_int
        except OSError:
            pass
    return _GOMP or None


def _flush_on_workers(on: bool | list[bool]) -> list[bool] | None:
    """Set denormal flushing on every thread of torch's OpenMP team: `on` for all, or the k-th
    thread's own setting from a list; returns what each had, or None where there is no GNU OpenMP
    runtime to ask or a single thread (nothing beyond this thread changes then).

    `torch.set_flush_denormal` sets the calling thread's floating-point control register only; the
    team's other threads compute their share of every parallel operation with the setting they had.
    One parallel region of `torch.get_num_threads()` threads, the team torch reuses, sets it on each.
    """
    gomp = _openmp()
    threads = torch.get_num_threads()
    if gomp is None or threads < 2:
        return None
    had = [False] * threads

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    def each(_):
        k = gomp.omp_get_thread_num()
        if k < threads:
            had[k] = flushing_denormals()
            torch.set_flush_denormal(on[k] if isinstance(on, list) else on)

    gomp.GOMP_parallel(each, None, threads, 0)
    return had


@contextmanager
def denormals_flushed():
    """Flush denormal floats (below 1.2e-38) to zero while training, on this thread and on torch's
    OpenMP threads, and restore the setting after.

    Late in training the gradients and Adam moments of weights that hardly move fall into the
    denormal range, where every CPU operation on them is many times slower: W35's epochs went from
    225 ms to 500 ms after epoch 20, and back to 225 ms with flushing. Flushing on this thread only
    left the other OpenMP thread's half of each operation slow: four MNIST-1D MLPs with L2 went from
    85 ms to 600 ms an epoch over 60 epochs on two threads, and stay at 85 ms when every thread flushes.
    """
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    workers = _flush_on_workers(True)
    try:
        yield
    finally:
        if workers is not None:
            _flush_on_workers(workers)
        torch.set_flush_denormal(before)


def eval_bytes(device: torch.device) -> int:
    return EVAL_BYTES if device.type == "cpu" else GPU_EVAL_BYTES


def eval_chunk(K: int, row_bytes: int, device: torch.device) -> int:
    """Samples per evaluation chunk: as many as the population's activations fit in `_eval_bytes`.

    Example:
        >>> eval_chunk(1024, 2208, torch.device("cpu")), eval_chunk(1024, 2208, torch.device("cuda"))
        (7, 118)
    """
    return max(1, eval_bytes(device) // (K * row_bytes))


def steps_per_block(K: int, batch: int, sample_size: int, units: int, steps: int) -> int:
    """How many steps' batches and dropout masks to draw at once: as many as fit in `BLOCK_BYTES`."""
    return max(1, min(steps, BLOCK_BYTES // max(1, K * batch * (sample_size + units) * 4)))




@contextmanager
def torch_threads(count: int):
    """torch's intra-op threads set to `count` while inside, and back to what they were after.

    The setting reaches MKL for the whole process, so workers that set one thread for themselves
    run inside this, and the count is restored once they are all done.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
