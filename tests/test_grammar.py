"""The arm and seed grammar of `goodfit study`: every form it reads, and a one-line error for what it cannot."""
import pytest

from goodfit.errors import GoodfitError
from goodfit.grammar import default_arms, parse_arm, parse_arms, parse_seeds, spell
from goodfit.remedies import (Arm, Augment, BatchNorm, ClassWeights, Dropout, EarlyStopping, LabelSmoothing, Shrink,
                              WeightDecay)


def test_every_remedy_takes_its_strength():
    arms = parse_arms("baseline,dropout=0.5,l2=1e-4,decay=1e-2,augment=shift:0.1+noise:0.05,"
                      "early_stopping=patience:20,batchnorm=0.05,shrink=0.5", "sequence")
    assert [a.name for a in arms] == ["baseline", "dropout=0.5", "l2=0.0001", "decay=0.01",
                                      "augment=shift:0.1+noise:0.05", "early_stopping=patience:20",
                                      "batchnorm=0.05", "shrink=0.5"]
    remedies = [a.remedies[0] for a in arms[1:]]
    assert remedies == [Dropout(0.5), WeightDecay(1e-4), WeightDecay(1e-2, decoupled=True),
                        Augment(shift=0.1, noise=0.05), EarlyStopping(patience=20), BatchNorm(0.05), Shrink(0.5)]


def test_options_and_shorthands():
    es = parse_arm("early_stopping=patience:5+min_delta:0.01+warmup:3+monitor:val_accuracy", "table").remedies[0]
    assert es == EarlyStopping(patience=5, min_delta=0.01, warmup=3, monitor="val_accuracy")
    assert parse_arm("early_stopping=7", "table").remedies[0].patience == 7
    assert parse_arm("shrink=width:0.25+depth:1", "table").remedies[0] == Shrink(0.25, 1)
    assert parse_arm("augment=rotate+flip:0.5", "image").remedies[0] == Augment(rotate=15.0, flip=0.5)


def test_label_smoothing_and_class_weights_are_arms_outside_all():
    arms = parse_arms("label_smoothing,label_smoothing=0.2,class_weights,class_weights=balanced", "table")
    assert [a.name for a in arms] == ["baseline", "label_smoothing", "label_smoothing=0.2", "class_weights",
                                      "class_weights=balanced"]
    assert [a.remedies[0] for a in arms[1:]] == [LabelSmoothing(0.1), LabelSmoothing(0.2), ClassWeights("loss"),
                                                 ClassWeights("balanced")]
    assert all(not isinstance(r, (LabelSmoothing, ClassWeights)) for r in default_arms("table")["all"].remedies)
    with pytest.raises(GoodfitError, match="loss, balanced"):
        parse_arm("class_weights=inverse", "table")


def test_names_alone_keep_todays_meaning_and_the_baseline_always_comes_first():
    known = default_arms("image")
    arms = parse_arms("augment, dropout ,all", "image")
    assert [a.name for a in arms] == ["baseline", "augment", "dropout", "all"]
    assert arms[1] == known["augment"] and arms[3] == known["all"]


def test_the_same_remedy_at_several_strengths_is_several_arms_and_a_repeat_is_one():
    arms = parse_arms("dropout=0.1,dropout=0.50,dropout=0.5,dropout", "table")
    assert [a.name for a in arms] == ["baseline", "dropout=0.1", "dropout=0.5", "dropout"]
    assert [a.remedies[0].rate for a in arms[1:]] == [0.1, 0.5, 0.3]


@pytest.mark.parametrize("text, says", [
    ("dropuot", "arm 'dropuot' is unknown (did you mean dropout?); choose from baseline, dropout"),
    ("dropout=", "has '=' but no setting"),
    ("dropout=abc", "'abc' is not a number; e.g. dropout=0.5"),
    ("dropout=1.5", "dropout rate must be in [0.0, 1.0)"),
    ("dropout=nan", "not a finite number"),
    ("l2=-1", "weight decay strength must be in [0, 1)"),
    ("augment=rotate:10", "'rotate' does not apply to table data; use noise, mixup"),
    ("augment=noise:x", "'x' is not a number"),
    ("augment=noise+noise:0.2", "noise is given twice"),
    ("early_stopping=patience:2.5", "'2.5' is not a whole number"),
    ("early_stopping=patiense:5", "'patiense' is not a setting of early_stopping (did you mean patience?); use patience:20"),
    ("augment=shfit:0.1", "'shfit' does not apply to table data"),
    ("dropout=0.3+dropout=0.5", "dropout=0.3 and dropout=0.5 set the same remedy; keep one"),
    ("l2=1e-4+decay=1e-2", "l2=0.0001 and decay=0.01 set the same remedy"),
    ("dropout+all", "all does not combine with other remedies"),
    ("early_stopping=monitor:val_f1", "monitor 'val_f1' is unknown"),
    ("early_stopping=patience", "patience needs a value"),
    ("shrink=0", "shrink width must be in"),
    ("baseline=1", "baseline takes no settings"),
    ("all=0.5", "all takes no settings"),
])
def test_what_it_cannot_read_is_one_line_that_names_it(text, says):
    with pytest.raises(GoodfitError) as err:
        parse_arms(text, "table")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_seeds_as_a_count_a_range_or_a_list():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds(" 10 - 12 ") == [10, 11, 12]
    assert parse_seeds("7,2,9") == [7, 2, 9]


@pytest.mark.parametrize("text, says", [
    ("0", "at least 1"), ("14-10", "ends before it starts; e.g. --seeds 10-14"), ("1,1", "repeats a seed"),
    ("five", "not a count, a range or a list"), ("-3", "not a count, a range or a list"), ("", "not a count"),
])
def test_seeds_it_cannot_read(text, says):
    with pytest.raises(GoodfitError, match=says.replace("(", r"\(")):
        parse_seeds(text)


def test_remedies_combine_with_plus_and_spell_reads_back_to_the_same_remedies():
    arm = parse_arm("dropout=0.3+augment=shift:0.1+noise+batchnorm+early_stopping=patience:20+monitor:val_accuracy",
                    "sequence")
    assert [type(r).key for r in arm.remedies] == ["dropout", "augment", "batchnorm", "early_stopping"]
    assert arm.remedies[1].shift == 0.1 and arm.remedies[1].noise == 0.05 and arm.remedies[3].monitor == "val_accuracy"
    assert [a.name for a in parse_arms("baseline,dropout+l2", "table")] == ["baseline", "dropout+l2"]
    for kind in ("image", "sequence", "table"):
        for a in default_arms(kind).values():
            assert parse_arm(spell(a), kind).remedies == a.remedies, spell(a)


def test_every_recipe_candidate_spells_to_an_arm_with_the_same_remedies():
    import numpy as np

    from goodfit.space import Space

    rng = np.random.default_rng(1)
    for kind in ("image", "table"):
        space = Space.default(kind)
        for _ in range(40):
            remedies = space.sample(rng)
            back = parse_arm(spell(Arm("r", remedies)), kind).remedies if remedies else ()
            assert sorted(map(repr, back)) == sorted(map(repr, remedies))
