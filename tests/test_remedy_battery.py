"""One battery over every registered remedy, as scikit-learn's `check_estimator` runs every estimator.

Each remedy of `goodfit.remedies.REGISTRY` must: spell and parse back to itself (alone and combined),
be an arm and a search word by each of its words, be accepted by the diagnosis under the words the
advice uses, be served by the engine, train alike alone and in a crowd, be described by the recipe,
and be rebuilt by `goodfit train` from its `--arm` spelling and from the options the recipe prints.
A new remedy is checked here by its registry line alone.
"""
import json
import shlex

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from goodfit.diagnose import Context, context_from_config, diagnose
from goodfit.diagnose.advice import CHECK_DATA, LOWER_LR, MORE_CAPACITY, TRAIN_LONGER
from goodfit.engine import Member, TrainConfig, train
from goodfit.engine.registry import PIECES
from goodfit.grammar import default_arms, parse_arm, spell
from goodfit.history import History
from goodfit.models import ModelSpec
from goodfit.recipe import describe, train_options
from goodfit.remedies import REGISTRY, WORDS, Arm, BatchNorm, ClassWeights, EarlyStopping, Shrink, WeightDecay
from goodfit.space import Space

from conftest import make_splits

KINDS = ("table", "sequence", "image")
# settings that neither the study's defaults nor the search draw, so their spelling is checked too
UNUSUAL = (WeightDecay(3e-4, include_bias_and_norm=True), WeightDecay(0.02, decoupled=True),
           EarlyStopping(7, min_delta=0.01, relative=True, warmup=2, monitor="val_accuracy"), ClassWeights("balanced"),
           BatchNorm(0.05), Shrink(0.5, depth=1))
NAMES = [cls.__name__ for cls in REGISTRY]
NOT_REMEDIES = {CHECK_DATA, TRAIN_LONGER, MORE_CAPACITY, LOWER_LR}  # advice that is not an arm


def examples(cls, kind: str) -> list:
    """Values of a remedy: the study's default for each of its words, what the search draws from the
    remedy's own space, and the unusual settings above."""
    values = list(cls.defaults(kind).values())
    space = Space.parse(",".join(cls.space_words()), kind)
    rng = np.random.default_rng(0)
    for _ in range(12):
        values += [r for r in space.sample(rng) if type(r) is cls]
    values += [r for r in UNUSUAL if type(r) is cls]
    return list(dict.fromkeys(values))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_spelling_reads_back_to_the_same_remedy(cls, kind):
    values = examples(cls, kind)
    assert len(values) >= 2, f"{cls.__name__}: the battery needs a default and a searched or unusual value"
    for remedy in values:
        assert parse_arm(remedy.spell(), kind).remedies == (remedy,), remedy
        assert spell(Arm("x", (remedy,))) == remedy.spell()


@pytest.mark.parametrize("kind", KINDS)
def test_one_of_every_remedy_in_one_arm_reads_back(kind):
    arm = Arm("x", tuple(examples(cls, kind)[-1] for cls in REGISTRY))
    assert parse_arm(spell(arm), kind).remedies == arm.remedies


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_every_word_is_an_arm_a_search_word_and_a_flag(cls):
    arms = default_arms("table")
    for word in cls.words:
        assert type(arms[word].remedies[0]) is cls and arms[word].remedies[0].word == word
    for word in cls.space_words():
        assert word in Space.parse(word, "table").searched
    assert cls.flags, f"{cls.__name__} has no goodfit train option"


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_the_diagnosis_accepts_it_by_the_words_the_advice_uses(cls):
    epochs = np.arange(1, 31)
    frame = pd.DataFrame({"member": 0, "epoch": epochs, "train_loss": 1.0 / epochs, "val_loss": 0.5 + 0.01 * epochs,
                          "train_accuracy": 0.5 + 0.016 * epochs, "val_accuracy": 0.8 - 0.002 * epochs})
    for remedy in examples(cls, "table"):
        arm = Arm("x", (remedy,))
        context = context_from_config({"arm": arm.to_dict()})
        assert context.remedies == (remedy.word,)
        d = diagnose(History(frame, 10), context=Context(remedies=arm.words, num_classes=10))
        assert d.regime == "overfitting", d.evidence
        assert {a.remedy for a in d.advice} <= set(WORDS) | NOT_REMEDIES  # advice speaks the arms' words


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_the_engine_serves_it(cls):
    """A piece of the loop acts for it, or the model itself does (a factory keyword)."""
    served = [p for p in PIECES if getattr(p, "remedy", None) is cls]
    keywords = [r.module_keywords() for r in cls.defaults("table").values()]
    assert served or all(keywords), f"nothing in the engine acts on {cls.__name__}"


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_a_member_trains_alike_alone_and_in_a_crowd(cls):
    splits = make_splits("table", n=96, shape=(6,))
    remedy = examples(cls, "table")[-1]
    crowd = [Member(Arm("baseline"), 1)] + [Member(Arm(c.__name__, (examples(c, "table")[0],)), 2)
                                            for c in REGISTRY if c is not cls]
    member = Member(Arm(remedy.spell(), (remedy,)), 0)
    spec, config = ModelSpec("mlp", 12, 2), TrainConfig(epochs=4, batch_size=16)
    together = train(splits, [member] + crowd, spec, config).members[0]
    alone = train(splits, [member], spec, config).members[0]
    columns = ["train_loss", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(together.history[columns].to_numpy(float), alone.history[columns].to_numpy(float),
                               rtol=2e-4, atol=2e-5)
    assert together.best_epoch == alone.best_epoch


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_the_recipe_describes_each_setting(cls):
    values = examples(cls, "table")
    words = [describe(Arm("r", (r,))) for r in values]
    assert "no remedy" not in words and all(w.strip() for w in words)
    assert len(set(words)) == len(values), f"two settings of {cls.__name__} read the same: {words}"


DATA = {"table": ["--data", "wine"], "sequence": ["--data", "mnist1d", "--train-size", "100"],
        "image": ["--data", "digits", "--train-size", "100", "--model", "mlp"]}


def _trained_arm(tmp_path, kind: str, options: list[str]) -> Arm:
    from goodfit.cli import app

    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    got = CliRunner().invoke(app, ["train", *DATA[kind], "--epochs", "1", "--hidden", "8", *options, "--out", str(out)])
    assert got.exit_code == 0, got.output
    return Arm.from_dict(json.loads((out / "config.json").read_text())["arm"])


@pytest.mark.parametrize("cls", REGISTRY, ids=NAMES)
def test_goodfit_train_rebuilds_it_from_its_spelling_and_from_the_recipes_options(cls, tmp_path):
    kinds = ("table", "image") if any(w == "augment" for w in cls.words) else ("table",)
    for kind in kinds:
        for remedy in (examples(cls, kind)[0], examples(cls, kind)[-1]):
            arm = Arm("r", (remedy,))
            assert _trained_arm(tmp_path, kind, ["--arm", spell(arm)]).remedies == (remedy,)
            assert _trained_arm(tmp_path, kind, shlex.split(train_options(arm))).remedies == (remedy,)


def test_the_causes_name_their_remedies_by_arm_words_or_say_what_else_to_do():
    from goodfit.causes import REMEDIES as ANSWERS
    from goodfit.report.html import HINTS

    for cause, answers in ANSWERS.items():
        unknown = [a for a in answers if a not in WORDS and a not in HINTS]
        assert not unknown, f"{cause}: {unknown} is neither a registered remedy nor a hint the report can word"
