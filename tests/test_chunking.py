"""The engine's memory and process settings: a population larger than the memory budget trains in
chunks with the same results and never crashes; the denormal setting is left as it was found."""
import numpy as np
import pytest
import torch

from goodfit.engine import (BLOCK_BYTES, EVAL_BYTES, Member, TrainConfig, architecture_of, flushing_denormals,
                            member_bytes, train)
from goodfit.engine.memory import _flush_on_workers, torch_threads
from goodfit.models import ModelSpec
from goodfit.nn.population import MemberSettings
from goodfit.remedies import Arm, Dropout

from conftest import make_splits

SPEC = ModelSpec("mlp", 16, 2)
MEMBERS = [Member(Arm("d", (Dropout(0.2),)), 0), Member(Arm("b"), 1), Member(Arm("d", (Dropout(0.2),)), 2),
           Member(Arm("b"), 3), Member(Arm("d", (Dropout(0.2),)), 4)]


@pytest.fixture(autouse=True)
def populations_train_together(monkeypatch):
    """The engine's timed choice (together, side by side or member by member) would otherwise cut the
    populations these tests count by the machine's load."""
    import importlib

    monkeypatch.setattr(importlib.import_module("goodfit.engine.train"), "step_seconds",
                        lambda arch, members, *args, **kwargs: float(len(members) == 1) + 1.0)


def _arch(splits, spec=SPEC):
    return architecture_of(Member(Arm("b"), 0), spec, splits)


def _populations(splits, config):
    seen = []
    result = train(splits, MEMBERS, SPEC, config,
                   on_epoch=lambda info: seen.append(info["members"].tolist()) if info["epoch"] == 1 else None)
    return seen, result


def test_population_over_the_budget_is_cut_into_chunks_with_the_same_results():
    splits = make_splits("table", n=90)
    config = TrainConfig(epochs=3, batch_size=16)
    arch = _arch(splits)
    fixed = splits.X_train.nbytes + splits.X_val.nbytes + BLOCK_BYTES + EVAL_BYTES
    two = fixed + 2 * member_bytes(arch, MemberSettings(0), splits, config, early_stopping=False)
    whole, together = _populations(splits, config)
    chunked, apart = _populations(splits, TrainConfig(epochs=3, batch_size=16, memory_budget=two))
    assert whole == [[0, 1, 2, 3, 4]]
    assert chunked == [[0, 1], [2, 3], [4]]  # positions in the caller's list, whichever population
    for a, b in zip(together.members, apart.members):
        np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=2e-4, atol=2e-5)
        assert a.member == b.member


def test_a_member_larger_than_the_whole_budget_still_trains_alone():
    splits = make_splits("table", n=60)
    seen, result = _populations(splits, TrainConfig(epochs=2, batch_size=16, memory_budget=1))
    assert seen == [[0], [1], [2], [3], [4]]
    assert all(np.isfinite(m.test_accuracy) for m in result.members)


def test_member_bytes_grow_with_the_model_and_count_early_stopping_copies():
    splits = make_splits("table", n=60)
    config = TrainConfig(epochs=1)
    small, wide = (_arch(splits, ModelSpec("mlp", w, 2)) for w in (16, 64))
    plain = member_bytes(small, MemberSettings(0), splits, config, early_stopping=False)
    assert member_bytes(wide, MemberSettings(0), splits, config, early_stopping=False) > 4 * plain
    assert member_bytes(small, MemberSettings(0), splits, config, early_stopping=True) > plain


def test_training_flushes_denormals_and_leaves_the_setting_as_it_found_it():
    seen = []
    splits = make_splits("table", n=40)
    for before in (False, True):
        torch.set_flush_denormal(before)
        train(splits, MEMBERS[:1], SPEC, TrainConfig(epochs=1), on_epoch=lambda info: seen.append(flushing_denormals()))
        assert flushing_denormals() == before
    torch.set_flush_denormal(False)
    assert seen == [True, True]


def _flushed_share(threads: int) -> float:
    """The share of a parallel multiplication's denormal inputs that came out as zero."""
    with torch_threads(threads):
        x = torch.full((1 << 20,), 1 << 20, dtype=torch.int32).view(torch.float32)  # 1.5e-39, made without rounding
        return float(((x * 1.0) == 0).float().mean())


@pytest.mark.skipif(torch.get_num_threads() < 2, reason="needs torch's OpenMP team of two threads or more")
def test_every_openmp_thread_flushes_denormals_while_training_and_none_after():
    """`torch.set_flush_denormal` alone sets only the calling thread: the other threads' share of a
    parallel operation kept its denormals, and with them the slowness flushing is for."""
    seen = []
    with torch_threads(2):
        _flush_on_workers(False)
        torch.set_flush_denormal(False)
        assert _flushed_share(2) == 0.0
        train(make_splits("table", n=40), MEMBERS[:1], SPEC, TrainConfig(epochs=1),
              on_epoch=lambda info: seen.append(_flushed_share(2)))
        assert _flushed_share(2) == 0.0  # as it found it, on every thread
    assert seen == [1.0]  # every element, whichever thread computed it


def test_a_big_population_is_shared_out_over_threads_with_the_same_results(monkeypatch):
    """Past `PARALLEL_BYTES` a population is cut into one per CPU thread and they train side by
    side, one thread each; each member still equals itself trained alone, and torch's thread
    count is as it was."""
    import importlib

    engine_train = importlib.import_module("goodfit.engine.train")  # the module; the package's `train` is the function

    splits = make_splits("table", n=90)
    config = TrainConfig(epochs=3, batch_size=16)
    alone = [train(splits, [m], SPEC, config).members[0] for m in MEMBERS]
    real = engine_train.PARALLEL_BYTES
    monkeypatch.setattr(engine_train, "PARALLEL_BYTES", 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen, shared = _populations(splits, config)
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(engine_train, "PARALLEL_BYTES", real)
        kept, _ = _populations(splits, config)
    finally:
        torch.set_num_threads(threads)
    assert sorted(seen) == [[0, 1, 2], [3, 4]]
    for a, b in zip(shared.members, alone):
        np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=2e-4, atol=2e-5)
    assert kept == [[0, 1, 2, 3, 4]]  # under the real PARALLEL_BYTES, so small a population is not shared out
