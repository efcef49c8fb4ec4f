"""One battery every remedy passes: frozen, equal by value, JSON round trip, bad values refused."""
import json

import pytest

from goodfit.errors import GoodfitError
from goodfit.remedies import (REMEDIES, Arm, Augment, BatchNorm, ClassWeights, Dropout, EarlyStopping, LabelSmoothing,
                              Shrink, WeightDecay)

GOOD = [Dropout(0.3), WeightDecay(1e-3, decoupled=True), EarlyStopping(5, 0.01, True, 3, "val_accuracy"),
        Augment(noise=0.1, mixup=0.2), BatchNorm(0.05), Shrink(0.5, 1), LabelSmoothing(0.2), ClassWeights("balanced")]
BAD = [lambda: Dropout(1.0), lambda: Dropout(-0.1), lambda: WeightDecay(-1), lambda: EarlyStopping(0),
       lambda: EarlyStopping(monitor="loss"), lambda: Augment(rotate=270), lambda: Augment(flip=2),
       lambda: BatchNorm(1.5), lambda: Shrink(0), lambda: Shrink(1.5), lambda: Shrink(0.5, 0),
       lambda: LabelSmoothing(1.0), lambda: LabelSmoothing(-0.1), lambda: ClassWeights("inverse")]


@pytest.mark.parametrize("remedy", GOOD, ids=lambda r: type(r).__name__)
def test_every_remedy_is_a_frozen_value_that_survives_json(remedy):
    assert type(remedy).key in REMEDIES
    with pytest.raises(AttributeError):
        remedy.__setattr__("x", 1)
    arm = Arm("one", (remedy,))
    assert Arm.from_dict(json.loads(json.dumps(arm.to_dict()))) == arm
    assert repr(remedy).startswith(type(remedy).__name__)


@pytest.mark.parametrize("make", BAD)
def test_bad_remedy_settings_are_refused_with_a_message(make):
    with pytest.raises(GoodfitError) as err:
        make()
    assert len(str(err.value).splitlines()) == 1


def test_an_arm_combines_all_eight_but_never_two_of_a_kind():
    assert len(Arm("all", tuple(GOOD)).remedies) == 8
    with pytest.raises(GoodfitError, match="more than one dropout"):
        Arm("x", (Dropout(0.1), Dropout(0.2)))
    with pytest.raises(GoodfitError, match="not a remedy"):
        Arm("x", ("dropout",))
