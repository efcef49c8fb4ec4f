"""Data in memory: arrays, tensors, DataFrames and torch datasets as data, for `load`, `Study`, `Recipe` and `Causes`.

In-memory data travels in a plan as a token of its contents; a unit carries the data itself to a worker.
"""
import multiprocessing
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_wine

import goodfit
from goodfit import GoodfitError, Study
from goodfit.causes import Causes
from goodfit.data import Conditions, load, split
from goodfit.data import memory
from goodfit.data.memory import from_memory
from goodfit.engine import TrainConfig
from goodfit.recipe import Recipe
from goodfit.study.units import _splits, dataset_of, run_unit

X, Y = load_wine(return_X_y=True)  # (178, 13) float64, labels 0, 1, 2


def one_line_error(make, match: str) -> str:
    with pytest.raises(GoodfitError, match=match) as err:
        make()
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("data", [
    (X, Y), [X, Y], (torch.tensor(X), torch.tensor(Y)), (X.tolist(), Y.tolist()),
    torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(Y)),
], ids=["tuple", "list", "tensors", "lists", "torch-dataset"])
def test_arrays_tensors_lists_and_torch_datasets_read_as_the_same_table(data):
    ds = load(data)
    assert (ds.kind, ds.task, ds.classes, ds.X.dtype, ds.X.shape) == ("table", "classification", ("0", "1", "2"),
                                                                       np.float32, (178, 13))
    assert ds.standardize and ds.feature_names[:2] == ("x1", "x2") and np.array_equal(ds.y, Y)
    assert ds.name == ("TensorDataset(178x13)" if isinstance(data, torch.utils.data.Dataset) else "arrays(178x13)")


def test_a_dataframe_reads_as_a_csv_does_text_columns_one_hot_and_text_labels_as_classes():
    frame = pd.DataFrame({"weight": [4.1, 30.5, 3.8, 25.0] * 5, "color": ["black", "brown"] * 10,
                          "kind": ["cat", "dog", "cat", "dog"] * 5})
    ds = from_memory(frame, target="kind")
    assert ds.feature_names == ("weight", "color=black", "color=brown") and ds.classes == ("cat", "dog")
    assert ds.name == "DataFrame(20x2)" and ds.target == "kind" and ds.why == "'kind' holds 2 distinct labels"
    pair = from_memory((frame.drop(columns="kind"), frame["kind"]))
    assert pair.feature_names == ds.feature_names and np.array_equal(pair.X, ds.X) and pair.target == "kind"


def test_a_train_and_test_dict_gives_a_fixed_test_set_coded_with_the_training_classes():
    labels = np.array(["a", "b", "c"])[Y]
    ds = from_memory({"train": (X[:150], labels[:150]), "test": (X[150:], labels[150:])})
    assert ds.X.shape == (150, 13) and ds.test[0].shape == (28, 13) and ds.name == "arrays(150x13, test 28)"
    assert np.array_equal(ds.test[1], Y[150:]) and ds.classes == ("a", "b", "c")
    s = split(ds, Conditions(), seed=0)
    assert len(s.y_test) == 28 and len(s.y_train) + len(s.y_val) == 150


def test_the_shape_picks_the_kind_and_kind_overrides_it_where_the_shape_allows():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    assert from_memory((rng.normal(size=(40, 1, 16)), y)).X.shape == (40, 16)  # (N, 1, L): sequences
    images = from_memory((rng.uniform(0, 255, size=(40, 8, 8)), y))
    assert images.kind == "image" and images.X.shape == (40, 1, 8, 8) and images.X.max() <= 1
    sequences = from_memory((rng.normal(size=(40, 16)), y), kind="sequence")
    assert sequences.kind == "sequence" and not sequences.standardize
    regression = from_memory((rng.normal(size=(40, 3)), rng.normal(size=40)))
    assert regression.task == "regression" and regression.y.dtype == np.float32
    assert from_memory((rng.normal(size=(40, 3)), y * 3), task="regression").task == "regression"
    assert from_memory((rng.normal(size=(40, 3)), y[:, None])).y.shape == (40,)  # one column of labels


@pytest.mark.parametrize("make, match", [
    (lambda: from_memory((X, Y[:-1])), "178 feature rows but 177 targets; give one target per row"),
    (lambda: from_memory((np.where(X > 100, np.nan, X), Y)), "NaN or infinite feature values .*drop or fill"),
    (lambda: from_memory((X, np.where(Y == 1, np.inf, Y))), "target values are infinite; replace them"),
    (lambda: from_memory((X[:0], Y[:0])), "the data set is empty"),
    (lambda: from_memory((X, Y), kind="image"), r"kind 'image' needs features of shape \(N, H, W\).*leave out kind"),
    (lambda: from_memory((X, Y), kind="graph"), "kind 'graph' is unknown; use one of table, sequence, image"),
    (lambda: from_memory({"train": (X, Y), "valid": (X, Y)}), "takes the keys 'train' and 'test', got 'train', 'valid'"),
    (lambda: from_memory({"test": (X, Y)}), "takes the keys 'train' and 'test', got 'test'"),
    (lambda: from_memory({"train": (X, Y), "test": (X[:, :5], Y)}), "give both the same shape"),
    (lambda: from_memory((X, np.eye(3)[Y])), r"shape \(178, 3\); give one label per row.*argmax"),
    (lambda: from_memory(X), "data of type ndarray is not one goodfit reads"),
    (lambda: from_memory((X, Y), target="label"), "target names a column of a DataFrame"),
    (lambda: from_memory(pd.DataFrame(X).assign(label=Y), target="lable"), "did you mean 'label'"),
])
def test_bad_data_in_memory_stops_with_one_line_naming_problem_and_fix(make, match):
    one_line_error(make, match)


def test_a_torch_dataset_over_the_memory_budget_is_refused_before_it_is_read():
    class Counted(torch.utils.data.Dataset):
        reads = 0

        def __len__(self):
            return 1000

        def __getitem__(self, i):
            Counted.reads += 1
            return torch.zeros(3, 32, 32), 0

    text = one_line_error(lambda: from_memory(Counted(), memory_budget=1_000_000), "more than the budget of 1.0 MB")
    assert "about 12.3 MB in memory (1000 items of 12.3 KB)" in text and "Subset" in text and Counted.reads == 1


def test_the_same_data_gives_the_same_token_and_other_data_another():
    token = memory.source_of((X, Y))
    assert token.startswith("memory:arrays(178x13):") and len(token.rpartition(":")[2]) == 16
    assert memory.source_of((X.copy(), list(Y))) == token
    assert memory.source_of((X, Y), task="regression") != token
    assert memory.source_of((X + 1e-6, Y)) != token
    assert load(token) is memory.registered(token)
    one_line_error(lambda: load("memory:arrays(1x1):0123456789abcdef"), "not known in this process")


def test_a_study_on_arrays_keeps_its_fingerprint_resumes_and_matches_the_same_arrays_as_an_npz(tmp_path):
    settings = dict(model="mlp", arms=["baseline", "dropout=0.3"], seeds=1, epochs=2)
    study = Study((X, Y), **settings)
    assert Study((X.copy(), Y.copy()), **settings).fingerprint == study.fingerprint
    assert Study((X[:100], Y[:100]), **settings).fingerprint != study.fingerprint
    first = study.run(tmp_path / "out")
    again = Study((X.copy(), Y.copy()), **settings).run(tmp_path / "out")
    assert first.units_trained > 0 and again.units_trained == 0  # the same arrays resume the store

    np.savez(tmp_path / "wine.npz", X=X, y=Y)
    from_file = Study(str(tmp_path / "wine.npz"), **settings).run()
    columns = ["arm", "seed", "test_accuracy", "test_loss", "val_loss"]
    pd.testing.assert_frame_equal(first.members[columns].reset_index(drop=True),
                                  from_file.members[columns].reset_index(drop=True))


def test_a_unit_carries_in_memory_data_to_a_fresh_process_which_resolves_its_token():
    task = Study((X, Y), model="mlp", arms=["baseline"], seeds=1, epochs=2).tasks()[0]
    assert task.dataset is not None and task.plan["data"].startswith("memory:")
    here = run_unit(task)
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # one fresh process: nothing registered in it yet
        with pytest.raises(GoodfitError, match="not known in this process"):
            pool.apply(run_unit, (pickle.loads(pickle.dumps(replace(task, dataset=None))),))
        there = pool.apply(run_unit, (pickle.loads(pickle.dumps(task)),))
    assert there.results[0].test_accuracy == pytest.approx(here.results[0].test_accuracy)


def test_a_cleared_registry_is_filled_again_by_the_unit_it_runs():
    task = Study((X, Y * 2), model="mlp", arms=["baseline"], seeds=1, epochs=2).tasks()[0]
    memory._REGISTRY.clear()
    dataset_of.cache_clear()
    _splits.cache_clear()
    assert run_unit(task).train_size == len(split(task.dataset, Conditions(), seed=0).y_train)


def test_recipe_and_causes_take_arrays():
    recipe = Recipe((X, Y), model="mlp", space="dropout", candidates=2, top=2, seeds=1, epochs=3,  # one rung
                    conditions=[Conditions(train_size=40)], train=TrainConfig(batch_size=64))
    assert recipe.plan["data"].startswith("memory:arrays(178x13):")
    assert recipe.run().confirmation.plan["data"] == recipe.plan["data"]
    causes = Causes((X, Y), folds=2, seeds=1, epochs=2)
    assert causes.data == "arrays(178x13)" and causes.run().rows == 178


def test_goodfit_train_users_split_loaded_arrays():
    s = goodfit.split(goodfit.load((X, Y)), goodfit.Conditions(train_size=60), seed=0)
    assert len(s.y_train) == 60 and s.kind == "table"


def test_a_dataframe_study_names_its_target_and_a_dataset_passes_as_it_is():
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(13)]).assign(label=np.array(["a", "b", "c"])[Y])
    study = Study(frame, target="label", model="mlp", arms=["baseline"], seeds=1, epochs=2)
    assert study.dataset_info["name"] == "DataFrame(178x13)" and study.plan["target"] == "label"
    ds = load((X, Y))
    assert from_memory(ds) is ds
    one_line_error(lambda: from_memory(ds, task="regression"), "classification Dataset already; leave out task=")
