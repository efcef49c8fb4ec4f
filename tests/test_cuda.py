"""The engine's contracts on a CUDA GPU. Skipped where torch sees none (CI has none); run them on a
machine with one: `pytest tests/test_cuda.py`."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from goodfit.engine import Member, TrainConfig, train
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, Augment, BatchNorm, WeightDecay

from conftest import make_splits
from test_engine import ARMS, COLUMNS, KINDS

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU: these run where there is one")


@pytest.fixture(autouse=True)
def _no_tf32():
    """goodfit trains in float32 proper; a test must not pass only because TF32 is off by chance."""
    assert not torch.backends.cuda.matmul.allow_tf32


LOSSES = [c for c in COLUMNS if c.endswith("loss")]
ACCURACIES = [c for c in COLUMNS if c.endswith("accuracy")]


def _close(a, b, rtol=1e-3, atol=1e-4, sample=0.0):
    """Losses agree within float32 rounding; accuracies within `sample` (one sample's share of the
    smallest set), since a sample whose two largest logits are within rounding may tip either way."""
    np.testing.assert_allclose(a[LOSSES].to_numpy(float), b[LOSSES].to_numpy(float), rtol=rtol, atol=atol)
    np.testing.assert_allclose(a[ACCURACIES].to_numpy(float), b[ACCURACIES].to_numpy(float), rtol=0,
                               atol=sample + 1e-6)


@pytest.mark.parametrize("kind,shape,model,augment", KINDS)
def test_on_the_gpu_a_member_of_a_population_matches_the_same_member_alone(kind, shape, model, augment):
    splits = make_splits(kind, shape=shape)
    arms = ARMS + [Arm("augment", (Augment.from_names(augment, kind),))]
    members = [Member(arm, seed) for arm in arms for seed in (0, 1)]
    spec, config = ModelSpec(model, 16, 2), TrainConfig(epochs=6, batch_size=16, device="cuda")
    together = train(splits, members, spec, config)
    one = 1 / min(len(splits.y_val), len(splits.y_test))  # cuDNN picks its convolution kernels by the
    for i, member in enumerate(members):  # population's size: a sample on a tie may tip (seen on an H200)
        alone = train(splits, [member], spec, config).members[0]
        _close(together.members[i].history, alone.history, sample=one)
        assert together.members[i].best_epoch == alone.best_epoch, member.arm.name


def test_on_the_gpu_the_same_seed_gives_the_same_numbers():
    splits = make_splits("image", shape=(1, 8, 8))
    members = [Member(arm, 3) for arm in ARMS]
    config = TrainConfig(epochs=4, batch_size=16, device="cuda")
    a = train(splits, members, ModelSpec("cnn2d", 16, 2), config).members
    b = train(splits, members, ModelSpec("cnn2d", 16, 2), config).members
    for x, y in zip(a, b):
        _close(x.history, y.history, rtol=1e-5, atol=1e-6)


def test_the_gpu_trains_what_the_cpu_trains_where_no_random_mask_differs():
    """Dropout's masks are hashed on the GPU and drawn on the host on the CPU, so only members
    without dropout can be compared across devices; they agree up to float32 rounding."""
    splits = make_splits("table", n=200)
    members = [Member(Arm("baseline"), 0), Member(Arm("l2", (WeightDecay(1e-2),)), 1),
               Member(Arm("bn", (BatchNorm(),)), 2), Member(Arm("decay", (WeightDecay(1e-2, decoupled=True),)), 3)]
    spec = ModelSpec("mlp", 32, 2)
    gpu = train(splits, members, spec, TrainConfig(epochs=3, batch_size=16, device="cuda")).members
    cpu = train(splits, members, spec, TrainConfig(epochs=3, batch_size=16)).members
    for g, c in zip(gpu, cpu):
        _close(g.history, c.history, rtol=2e-3, atol=2e-4)
        assert all(t.device.type == "cpu" for t in g.state_dict.values())  # weights come back to the host


def test_the_study_command_runs_on_the_gpu(tmp_path):
    out = tmp_path / "study"
    done = subprocess.run([sys.executable, "-m", "goodfit", "study", "--device", "cuda", "--epochs", "3",
                           "--seeds", "2", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["train"]["device"] == "cuda"
    assert (out / "report.html").exists()
