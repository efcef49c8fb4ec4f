"""The diagnosis on synthetic curves with known regime and onset, and on small runs trained here."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from goodfit.diagnose import REGIMES, Context, diagnose, diagnose_seeds
from goodfit.errors import GoodfitError
from goodfit.history import History

E = np.arange(1, 101)


def history(num_classes=None, member=0, **curves) -> History:
    n = len(next(iter(curves.values())))
    return History(pd.DataFrame({"member": member, "epoch": np.arange(1, n + 1), **curves}), num_classes)


def noisy(y, sigma, seed):
    return y + np.random.default_rng(seed).normal(0, sigma, len(y))


def u_curve(onset=30, n=100, slope=0.01):
    e = np.arange(1, n + 1)
    return 0.4 + 1.5 * np.exp(-e / (onset / 3)) + slope * np.maximum(0, e - onset)


def falling(n=100, scale=8):
    e = np.arange(1, n + 1)
    return 0.05 + 2.0 * np.exp(-e / scale)


# ---- regimes and onsets on synthetic curves -------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_onset_and_best_epoch_found_on_noisy_u_curve(seed):
    val = u_curve(onset=30)
    truth = int(E[np.argmin(val)])
    d = diagnose(history(train_loss=falling(), val_loss=noisy(val, 0.01, seed)))
    assert d.regime == "overfitting"
    assert abs(d.onset_epoch - truth) <= 3
    assert abs(d.best_epoch - truth) <= 5


def test_onset_is_none_when_validation_loss_never_rises():
    val = noisy(0.3 + 1.5 * np.exp(-E / 6), 0.01, 1)
    d = diagnose(history(train_loss=falling(), val_loss=val))
    assert d.regime == "good_fit" and d.onset_epoch is None
    assert d.best_epoch > 20


@pytest.mark.parametrize("seed", range(10))
def test_flat_noisy_plateau_is_not_called_overfitting(seed):
    val = noisy(0.5 + 1.5 * np.exp(-E / 5), 0.03, seed)
    assert diagnose(history(train_loss=falling(), val_loss=val)).regime != "overfitting"


def test_still_improving_when_validation_loss_still_falls_at_the_end():
    d = diagnose(history(train_loss=falling(scale=60), val_loss=noisy(0.2 + 1.5 * np.exp(-E / 60), 0.005, 0)))
    assert d.regime == "still_improving"
    assert d.advice[0].remedy == "train longer"


def test_underfitting_when_training_accuracy_stays_low_and_flat():
    flat = 0.55 + 0.1 * np.exp(-E / 5)
    d = diagnose(history(num_classes=2, train_loss=flat * 1.2, val_loss=flat * 1.22,
                         train_accuracy=np.full(100, 0.62), val_accuracy=np.full(100, 0.6)))
    assert d.regime == "underfitting" and d.onset_epoch is None
    assert d.advice[0].remedy == "more capacity / less regularization"


def test_memorization_is_perfect_training_with_validation_at_chance():
    d = diagnose(history(num_classes=10, train_loss=falling(), val_loss=2.3 + 0.02 * E,
                         train_accuracy=np.minimum(1.0, 0.1 + E / 40), val_accuracy=noisy(np.full(100, 0.1), 0.01, 0)))
    assert d.regime == "memorization"
    assert d.advice[0].remedy == "check labels/data"
    assert d.confidence == "high"


def test_memorization_without_class_count_estimates_chance_and_says_so():
    d = diagnose(history(train_loss=falling(), val_loss=2.3 + 0.02 * E, train_accuracy=np.minimum(1.0, 0.1 + E / 40),
                         val_accuracy=noisy(np.full(100, 0.1), 0.01, 0)))
    assert d.regime == "memorization"
    assert any("estimated from the validation loss" in s for s in d.evidence)
    assert d.confidence != "high"


def test_high_validation_accuracy_is_not_memorization():
    d = diagnose(history(num_classes=10, train_loss=falling(), val_loss=u_curve(),
                         train_accuracy=np.minimum(1.0, 0.5 + E / 40), val_accuracy=np.full(100, 0.9)))
    assert d.regime == "overfitting"


def test_diverged_when_loss_turns_nan_while_accuracy_goes_on():
    loss = falling(40)
    loss[25:] = np.nan  # Keras writes nan; the rows go on with accuracy
    d = diagnose(history(train_loss=loss, val_loss=loss + 0.1, train_accuracy=np.full(40, 0.1),
                         val_accuracy=np.full(40, 0.1)))
    assert d.regime == "diverged" and d.onset_epoch == 26
    assert d.advice[0].remedy == "lower learning rate"


def test_diverged_when_loss_becomes_infinite():
    loss = falling(30)
    loss[20] = np.inf
    d = diagnose(history(train_loss=loss, val_loss=loss + 0.1))
    assert d.regime == "diverged" and d.onset_epoch == 21 and d.confidence == "high"


def test_diverged_when_training_loss_climbs_back_up():
    train = np.concatenate([falling(30, 5), np.linspace(0.1, 2.5, 20)])
    d = diagnose(history(train_loss=train, val_loss=train + 0.2))
    assert d.regime == "diverged" and 30 <= d.onset_epoch <= 42


def test_too_short_runs_get_a_tentative_verdict_with_low_confidence():
    d = diagnose(history(train_loss=[1.0, 0.8, 0.7], val_loss=[1.1, 0.9, 0.85]))
    assert d.regime == "still_improving" and d.confidence == "low"
    assert "too short to judge" in d.evidence[0]


def test_one_validated_epoch_is_an_error_that_says_what_to_do():
    with pytest.raises(GoodfitError, match="at least 2"):
        diagnose(history(train_loss=[1.0], val_loss=[1.1]))


def test_no_validation_metric_is_an_error_naming_the_fix():
    with pytest.raises(GoodfitError, match="no validation loss or accuracy.*validation_data"):
        diagnose(history(train_loss=falling(20), train_accuracy=np.full(20, 0.5)))


def test_validation_every_five_epochs_is_judged_on_its_points():
    val = u_curve(onset=40)
    truth = int(E[np.argmin(val)])
    sparse = np.where(E % 5 == 0, noisy(val, 0.005, 0), np.nan)
    d = diagnose(history(train_loss=falling(), val_loss=sparse))
    assert d.regime == "overfitting" and d.onset_epoch % 5 == 0
    assert abs(d.onset_epoch - truth) <= 5
    assert any("every 5 epochs" in s for s in d.evidence)


def test_early_stopped_run_is_judged_on_what_it_logged():
    val = u_curve(onset=30)[:42]  # a framework stopped 12 epochs after the minimum
    d = diagnose(history(train_loss=falling(42), val_loss=noisy(val, 0.003, 0)))
    assert d.regime == "overfitting" and abs(d.onset_epoch - 30) <= 3
    assert any("ended 1" in s and "after its best epoch" in s for s in d.evidence)


def test_accuracy_only_log_is_judged_on_validation_error():
    val_acc = 0.9 - 0.4 * np.exp(-E / 6) - 0.002 * np.maximum(0, E - 35)
    d = diagnose(history(train_accuracy=np.minimum(1.0, 0.5 + E / 60), val_accuracy=noisy(val_acc, 0.003, 0)))
    assert d.judged_on == "val_accuracy" and d.regime == "overfitting"
    assert abs(d.onset_epoch - 35) <= 5
    assert d.gap["final"]["loss"] is None and d.gap["final"]["accuracy"] > 0


def test_loss_only_log_has_no_accuracy_gap():
    d = diagnose(history(train_loss=falling(), val_loss=u_curve()))
    assert d.regime == "overfitting"
    assert d.gap["best"]["accuracy"] is None and d.gap["best"]["loss"] < 0


def test_gap_is_train_minus_validation_at_best_and_final_epochs():
    d = diagnose(history(train_loss=falling(), val_loss=u_curve(), train_accuracy=np.full(100, 0.99),
                         val_accuracy=np.full(100, 0.9)))
    b = d.best_epoch
    assert d.gap["best"]["loss"] == pytest.approx(falling()[b - 1] - u_curve()[b - 1], abs=1e-6)
    assert d.gap["final"]["accuracy"] == pytest.approx(0.09, abs=1e-6)


# ---- advice follows the evidence and the context -------------------------------------------------
def test_overfitting_advice_puts_early_stopping_first_with_the_best_epoch():
    d = diagnose(history(train_loss=falling(), val_loss=u_curve()))
    assert d.advice[0].remedy == "early_stopping" and f"epoch {d.best_epoch}" in d.advice[0].reason
    assert {a.remedy for a in d.advice} == {"early_stopping", "augment", "weight_decay", "dropout", "shrink", "batchnorm"}


def test_remedies_already_used_move_down_and_say_so():
    d = diagnose(history(train_loss=falling(), val_loss=u_curve()), context={"remedies": ["early_stopping"]})
    assert d.advice[0].remedy != "early_stopping"
    assert "already in use" in next(a.reason for a in d.advice if a.remedy == "early_stopping")


def test_many_parameters_per_sample_raise_shrink_above_dropout():
    h = history(train_loss=falling(), val_loss=u_curve())
    order = [a.remedy for a in diagnose(h, context=Context(num_params=2_000_000, train_size=300)).advice]
    plain = [a.remedy for a in diagnose(h).advice]
    assert order.index("shrink") < order.index("dropout") and plain.index("shrink") > plain.index("dropout")


def test_unknown_remedy_in_context_is_an_error():
    with pytest.raises(GoodfitError, match="unknown remedy 'mixup'"):
        diagnose(history(train_loss=falling(), val_loss=u_curve()), context={"remedies": ["mixup"]})


# ---- several seeds, purity, JSON -----------------------------------------------------------------
def test_seeds_give_consensus_and_spread():
    frames = [history(member=m, train_loss=falling(), val_loss=noisy(u_curve(onset=26 + 2 * m), 0.005, m)).frame
              for m in range(4)]
    frames.append(history(member=4, train_loss=falling(), val_loss=0.3 + 1.5 * np.exp(-E / 6)).frame)
    d = diagnose_seeds(History(pd.concat(frames)))
    assert d.regime == "overfitting" and d.spread["agreement"] == 0.8
    assert d.spread["regimes"][4] == "good_fit"
    assert 26 <= d.spread["onset_epoch"]["min"] <= d.onset_epoch <= d.spread["onset_epoch"]["max"] <= 34
    assert d.evidence[0].startswith("4 of 5 seeds: overfitting")


def test_diagnose_is_pure_and_leaves_the_history_alone():
    h = history(train_loss=falling(), val_loss=noisy(u_curve(), 0.01, 0))
    before = h.frame.copy()
    assert diagnose(h) == diagnose(h)
    pd.testing.assert_frame_equal(h.frame, before)


def test_json_form_follows_the_contract():
    d = json.loads(json.dumps(diagnose(history(train_loss=falling(), val_loss=u_curve())).to_dict()))
    assert d["regime"] in REGIMES and isinstance(d["onset_epoch"], int) and isinstance(d["best_epoch"], int)
    assert set(d["gap"]) == {"best", "final"} and set(d["gap"]["best"]) == {"loss", "accuracy"}
    assert all(isinstance(s, str) and any(ch.isdigit() for ch in s) for s in d["evidence"])
    assert all(set(a) == {"remedy", "reason"} for a in d["advice"])
    assert d["confidence"] in ("low", "medium", "high")


# ---- small real runs, one per regime -------------------------------------------------------------
def run(X, y, Xv, yv, model, lr, epochs, optimizer="adam", seed=0) -> History:
    """Full-batch training; metrics in eval mode each epoch, as goodfit logs them."""
    torch.manual_seed(seed)
    X, Xv = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Xv, dtype=torch.float32)
    y, yv = torch.as_tensor(y), torch.as_tensor(yv)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    rows = []
    for epoch in range(1, epochs + 1):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            lt, lv = model(X), model(Xv)
            rows.append((epoch, nn.functional.cross_entropy(lt, y).item(), (lt.argmax(1) == y).float().mean().item(),
                         nn.functional.cross_entropy(lv, yv).item(), (lv.argmax(1) == yv).float().mean().item()))
    frame = pd.DataFrame(rows, columns=["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"])
    return History(frame.assign(member=0), int(y.max()) + 1)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is fastest and does not stall when other processes hold the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order] / 16, y[order]


def mlp(inputs, width, outputs):
    return nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, outputs))


def test_real_run_on_random_labels_is_memorization(digits):
    X, _ = digits
    y = np.random.default_rng(1).integers(0, 10, len(X))
    d = diagnose(run(X[:150], y[:150], X[1000:1400], y[1000:1400], mlp(64, 256, 10), lr=3e-3, epochs=120))
    assert d.regime == "memorization"


def test_real_run_of_a_big_network_on_few_noisy_labels_overfits(digits):
    X, y = digits
    y = y.copy()
    flip = np.random.default_rng(2).random(200) < 0.3
    y[:200][flip] = np.random.default_rng(3).integers(0, 10, flip.sum())
    d = diagnose(run(X[:200], y[:200], X[1000:1400], y[1000:1400], mlp(64, 256, 10), lr=2e-3, epochs=150))
    assert d.regime == "overfitting" and d.onset_epoch < 100


def test_real_run_of_a_linear_model_on_circles_underfits():
    from sklearn.datasets import make_circles

    X, y = make_circles(600, noise=0.1, factor=0.5, random_state=0)
    d = diagnose(run(X[:300], y[:300], X[300:], y[300:], nn.Linear(2, 2), lr=1e-2, epochs=100))
    assert d.regime == "underfitting"


def test_real_run_with_a_huge_learning_rate_diverges(digits):
    X, y = digits
    d = diagnose(run(X[:300], y[:300], X[1000:1400], y[1000:1400], mlp(64, 128, 10), lr=50.0, epochs=30,
                     optimizer="sgd"))
    assert d.regime == "diverged"


def test_a_last_epoch_without_validation_is_not_a_divergence():
    val = u_curve()
    val[-1] = np.nan  # a Lightning run cut off mid-epoch: training rows, no validation row
    d = diagnose(history(train_loss=falling(), val_loss=val, train_accuracy=np.full(100, 0.9)))
    assert d.regime == "overfitting"
