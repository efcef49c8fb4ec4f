"""From members to what the population is built of: each member's layer settings (`MemberSettings`)
and its architecture (goodfit's own model or the user's factory, as a `ModuleArchitecture`).

Members of one architecture train as one population; the arm's in-model remedies (dropout rate,
batch norm, width) become settings of the layers, or keyword arguments of a user's factory.
"""
from __future__ import annotations

from goodfit.data.splits import Splits
from goodfit.engine.config import Member
from goodfit.errors import GoodfitError
from goodfit.models import ModelSpec
from goodfit.nn.module_architecture import ModuleArchitecture, accepted_keywords
from goodfit.nn.population import Architecture, MemberSettings, ModuleFactory
from goodfit.remedies import Shrink


def member_settings(member: Member) -> MemberSettings:
    """The member's layer settings: what its arm's remedies ask of the model (`Remedy.module_keywords`)."""
    return MemberSettings(seed=member.seed, **model_keywords(member))


def model_keywords(member: Member) -> dict:
    """What the arm's remedies ask of the model itself: `dropout`, `batchnorm`, `bn_momentum`, `width`."""
    return {k: v for r in member.arm.remedies for k, v in r.module_keywords().items()}


def architecture_of(member: Member, model, splits: Splits):
    """The architecture a member trains with: a resolved `ModelSpec`, or a user factory with its keywords."""
    shrink = member.arm.get(Shrink)
    if isinstance(model, ModelSpec):
        arch = model.resolve(splits.kind, splits.input_shape, splits.num_outputs, shrink.depth if shrink else None)
        return builtin_architecture(member, arch)
    if not callable(model):
        raise GoodfitError(f"model must be a ModelSpec (mlp, cnn1d, cnn2d, auto) or a callable returning an "
                           f"nn.Module, got {type(model).__name__}")
    return custom_architecture(member, model, splits)


def builtin_architecture(member: Member, arch: Architecture) -> ModuleArchitecture:
    """goodfit's model as an ordinary module factory (`ModuleFactory`), trained as a user's module is;
    the arm's batch norm (with its momentum) and width become its keyword arguments, and its dropout rate
    one each member passes itself, so members at different rates train in one population."""
    s = member_settings(member)
    wanted = {"batchnorm": s.batchnorm, "width": s.width, "bn_momentum": s.bn_momentum if s.batchnorm else 0.1}
    kwargs = tuple(sorted((k, v) for k, v in wanted.items() if v != ModuleFactory.DEFAULTS[k]))
    return ModuleArchitecture(ModuleFactory(arch), kwargs, arch.input_shape, arch.num_classes, arch.arch, arch,
                              per_member=("dropout",))


def custom_architecture(member: Member, factory, splits: Splits) -> ModuleArchitecture:
    """A user factory's architecture: the arm's in-model remedies become its keyword arguments."""
    name = getattr(factory, "__qualname__", type(factory).__name__)
    arm = member.arm
    shrink = arm.get(Shrink)
    if shrink is not None and shrink.depth is not None:
        raise GoodfitError(f"arm {arm.name!r}: Shrink(depth=...) needs a goodfit model; with your own factory "
                           "use Shrink(width) and a `width` keyword")
    wanted = model_keywords(member)
    missing = sorted(set(wanted) - accepted_keywords(factory, wanted))
    if missing:
        raise GoodfitError(f"arm {arm.name!r} needs a model factory that accepts {', '.join(k + '=' for k in missing)}; "
                           f"add {'that parameter' if len(missing) == 1 else 'those parameters'} to {name} "
                           "or leave the remedy out")
    return ModuleArchitecture(factory, tuple(sorted(wanted.items())), tuple(splits.input_shape), splits.num_outputs,
                              name)


def check_member(member: Member, kind: str, task: str = "classification") -> None:
    """Raise if a remedy of the member's arm cannot train on this kind of data and task (each remedy says)."""
    for remedy in member.arm.remedies:
        remedy.check(member.arm.name, kind, task)
