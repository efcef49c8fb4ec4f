"""Weight statistics from a state dict: norms against torch, the power-law fit against known exponents."""
import numpy as np
import pytest
import torch
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.weights import (MIN_EIGENVALUES, LayerStats, WeightReport, layer_stats, power_law_fit, read_weights,
                             weight_stats, weights_vs_curves)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 5.0])
def test_power_law_fit_recovers_the_exponent_of_pareto_samples(alpha):
    rng = np.random.default_rng(0)
    body = rng.uniform(0.1, 1.0, 2000)  # values below xmin that the fit must leave out
    tail = (1 - rng.random(3000)) ** (-1 / (alpha - 1))  # p(x) ~ x^-alpha above xmin = 1
    fitted, xmin, ks = power_law_fit(np.concatenate([body, tail]))
    assert fitted == pytest.approx(alpha, rel=0.1)
    assert 0.8 <= xmin <= 1.5 and ks < 0.05


def test_norms_match_torch_and_conv_kernels_fold_into_columns():
    w = torch.randn(16, 8, 3, 3)
    s = layer_stats("conv.weight", w)
    flat = w.reshape(16, 72)
    assert s.frobenius == pytest.approx(torch.linalg.matrix_norm(flat).item(), rel=1e-6)
    assert s.spectral == pytest.approx(torch.linalg.matrix_norm(flat, ord=2).item(), rel=1e-6)
    assert s.eigenvalues == 16 and s.shape == (16, 8, 3, 3)


def test_random_layers_read_under_trained():
    torch.manual_seed(0)
    assert layer_stats("w", nn.Linear(512, 256).weight).verdict == "under-trained"


def test_layers_too_small_to_fit_say_so_instead_of_a_number():
    s = layer_stats("head.weight", torch.randn(MIN_EIGENVALUES - 1, 64))
    assert s.alpha is None and s.verdict == "too small to fit"


def test_state_dict_keeps_only_weight_matrices_in_order():
    net = nn.Sequential(nn.Conv1d(3, 16, 5), nn.BatchNorm1d(16), nn.Flatten(), nn.Linear(16 * 4, 32), nn.Linear(32, 2))
    names = [s.name for s in weight_stats(net.state_dict()).layers]
    assert names == ["0.weight", "3.weight", "4.weight"]


def test_corrupted_file_is_a_one_line_error(tmp_path):
    good = tmp_path / "model.pt"
    torch.save(nn.Linear(20, 20).state_dict(), good)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(GoodfitError, match="cannot load .*bad.pt") as err:
        read_weights(bad)
    assert "\n" not in str(err.value)


def test_missing_file_and_non_state_dict_are_errors(tmp_path):
    with pytest.raises(GoodfitError, match="no file at"):
        read_weights(tmp_path / "nope.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(GoodfitError, match="expected a state dict"):
        read_weights(tmp_path / "list.pt")
    torch.save({"bias": torch.zeros(3)}, tmp_path / "bias.pt")
    with pytest.raises(GoodfitError, match="no weight matrix"):
        read_weights(tmp_path / "bias.pt")


def test_disagreement_with_the_curves_is_stated():
    well = WeightReport((LayerStats("w", (64, 64), 1.0, 1.0, 64, 3.5, 0.1, 0.05, "well trained"),))
    assert weights_vs_curves("overfitting", well).startswith("weights disagree: median alpha 3.50")
    assert weights_vs_curves("good_fit", well).startswith("weights agree")
    assert "cannot say" in weights_vs_curves("overfitting", WeightReport(()))


def test_non_finite_weights_of_a_diverged_run_are_read_not_a_crash(tmp_path):
    sd = {"w": torch.full((32, 16), float("nan")), "v": torch.randn(20, 20)}
    sd["v"][0, 0] = float("inf")
    torch.save(sd, tmp_path / "nan.pt")
    report = read_weights(tmp_path / "nan.pt")
    assert [layer.verdict for layer in report.layers] == ["non-finite weights"] * 2
    assert report.to_dict()["layers"][0]["frobenius"] is None and report.median_alpha is None
