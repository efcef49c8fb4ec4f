"""From members to what the population is built of: each member's layer settings (`MemberSettings`)
and its architecture (a built-in `Architecture` or the user's factory as a `CustomArchitecture`).

Members of one architecture train as one population; the arm's in-model remedies (dropout rate,
batch norm, width) become settings of the layers, or keyword arguments of a user's factory.
"""
from __future__ import annotations

from goodfit.data.splits import Splits
from goodfit.engine.config import Member
from goodfit.errors import GoodfitError
from goodfit.models import ModelSpec
from goodfit.nn.custom import CustomArchitecture, accepted_keywords
from goodfit.nn.population import HAND_WRITTEN, Architecture, MemberSettings, ModuleFactory
from goodfit.remedies import BatchNorm, Dropout, Shrink


def member_settings(member: Member) -> MemberSettings:
    arm = member.arm
    dropout, bn, shrink = arm.get(Dropout), arm.get(BatchNorm), arm.get(Shrink)
    return MemberSettings(seed=member.seed, dropout=dropout.rate if dropout else 0.0, batchnorm=bn is not None,
                          width=shrink.width if shrink else 1.0, bn_momentum=bn.momentum if bn else 0.1)


def architecture_of(member: Member, model, splits: Splits):
    """The architecture a member trains with: a resolved `ModelSpec`, or a user factory with its keywords."""
    shrink = member.arm.get(Shrink)
    if isinstance(model, ModelSpec):
        arch = model.resolve(splits.kind, splits.input_shape, splits.num_outputs, shrink.depth if shrink else None)
        return arch if arch.arch in HAND_WRITTEN else builtin_architecture(member, arch)
    if not callable(model):
        raise GoodfitError(f"model must be a ModelSpec (mlp, cnn1d, cnn2d, auto) or a callable returning an "
                           f"nn.Module, got {type(model).__name__}")
    return custom_architecture(member, model, splits)


def builtin_architecture(member: Member, arch: Architecture) -> CustomArchitecture:
    """goodfit's CNN as an ordinary module factory (`ModuleFactory`), trained as a user's module is;
    the arm's dropout rate, batch norm (with its momentum) and width become its keyword arguments."""
    s = member_settings(member)
    wanted = {"dropout": s.dropout, "batchnorm": s.batchnorm, "width": s.width,
              "bn_momentum": s.bn_momentum if s.batchnorm else 0.1}
    kwargs = tuple(sorted((k, v) for k, v in wanted.items() if v != ModuleFactory.DEFAULTS[k]))
    return CustomArchitecture(ModuleFactory(arch), kwargs, arch.input_shape, arch.num_classes, arch.arch, arch)


def custom_architecture(member: Member, factory, splits: Splits) -> CustomArchitecture:
    """A user factory's architecture: the arm's in-model remedies become its keyword arguments."""
    name = getattr(factory, "__qualname__", type(factory).__name__)
    arm = member.arm
    shrink = arm.get(Shrink)
    if shrink is not None and shrink.depth is not None:
        raise GoodfitError(f"arm {arm.name!r}: Shrink(depth=...) needs a goodfit model; with your own factory "
                           "use Shrink(width) and a `width` keyword")
    wanted = {k: v for r in arm.remedies for k, v in r.module_keywords().items()}
    missing = sorted(set(wanted) - accepted_keywords(factory))
    if missing:
        raise GoodfitError(f"arm {arm.name!r} needs a model factory that accepts {', '.join(k + '=' for k in missing)}; "
                           f"add {'that parameter' if len(missing) == 1 else 'those parameters'} to {name} "
                           "or leave the remedy out")
    return CustomArchitecture(factory, tuple(sorted(wanted.items())), tuple(splits.input_shape), splits.num_outputs,
                              name)


def check_member(member: Member, kind: str, task: str = "classification") -> None:
    """Raise if a remedy of the member's arm cannot train on this kind of data and task (each remedy says)."""
    for remedy in member.arm.remedies:
        remedy.check(member.arm.name, kind, task)
