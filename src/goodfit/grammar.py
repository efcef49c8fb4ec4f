"""How a study is spelled on the command line: arms with strengths, and seeds as a count or a range.

One arm is `NAME` or `NAME=SETTINGS`. A name alone means the remedy at the study's default
strength. SETTINGS is a number (the remedy's main setting) or `key:value` options joined by `+`:

    dropout=0.5                     rate
    l2=1e-4                         L2 penalty strength
    decay=1e-2                      decoupled (AdamW-style) weight decay
    augment=shift:0.1+noise:0.05    augmentations joined by `+`; a kind alone takes its default strength
    early_stopping=20               patience; or patience:20+min_delta:0.001+monitor:val_accuracy
    batchnorm=0.05                  momentum
    shrink=0.5                      width kept; or width:0.5+depth:1
    label_smoothing=0.1             share of each target spread over the classes
    class_weights=balanced          `loss` (weights inverse to class frequency, the default) or `balanced` sampling

Remedies combine into one arm with `+` (no quoting needed in a shell): `dropout=0.3+l2=1e-4`,
`augment=shift:0.1+noise:0.05+batchnorm` (a part that starts with a remedy's name starts a remedy;
any other part is a setting of the one before). `spell` writes an arm back in this grammar, as
`goodfit train --arm`, `goodfit study --arms` and what `goodfit recipe` prints all read it.

The same remedy may appear at several strengths (`dropout=0.1,dropout=0.5`): each is its own arm,
named as written (numbers in their shortest form). Pure functions; nothing here trains.
"""
from __future__ import annotations

import difflib
import re

from goodfit.errors import GoodfitError
from goodfit.remedies import (AUGMENTATIONS, CLASS_WEIGHTINGS, DEFAULT_STRENGTH, MONITORS, Arm, Augment, BatchNorm,
                              ClassWeights, Dropout, EarlyStopping, LabelSmoothing, Shrink, WeightDecay)

BASELINE = "baseline"
GEOMETRIC_DEFAULT = {"image": {"rotate": 10.0, "zoom": 0.1, "shift": 0.1, "noise": 0.05}}  # no flip: digits are not symmetric
ARMS_HELP = ("baseline,dropout=0.5,l2=1e-4,decay=1e-2,augment=shift:0.1+noise:0.05,early_stopping=patience:20,"
             "batchnorm,shrink=0.5,label_smoothing=0.1,class_weights=balanced,dropout=0.3+l2=1e-4")


def did_you_mean(word: str, choices) -> str:
    """` (did you mean dropout?)` when a choice is close to `word`, else nothing.

    Example:
        >>> did_you_mean("dropuot", default_arms("table")), did_you_mean("xyz", default_arms("table"))
        (' (did you mean dropout?)', '')
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def default_arms(kind: str) -> dict[str, Arm]:
    """The baseline, each of the six remedies at a common strength, decoupled decay, all six combined, and the
    two answers to a data set's labels: label smoothing and class weights (not part of `all`)."""
    augment = Augment(**GEOMETRIC_DEFAULT.get(kind, DEFAULT_STRENGTH[kind]))
    single = {
        "dropout": Dropout(0.3), "l2": WeightDecay(1e-3), "early_stopping": EarlyStopping(patience=10),
        "augment": augment, "batchnorm": BatchNorm(), "shrink": Shrink(0.25),
    }
    arms = {BASELINE: Arm(BASELINE)} | {name: Arm(name, (r,)) for name, r in single.items()}
    arms["decay"] = Arm("decay", (WeightDecay(1e-2, decoupled=True),))
    arms["all"] = Arm("all", tuple(single.values()))
    arms["label_smoothing"] = Arm("label_smoothing", (LabelSmoothing(0.1),))
    arms["class_weights"] = Arm("class_weights", (ClassWeights(),))
    return arms


def _number(text: str, what: str, example: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GoodfitError(f"{what}: {text!r} is not a number; e.g. {example}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise GoodfitError(f"{what}: {text!r} is not a finite number; e.g. {example}")
    return value


def _whole(text: str, what: str, example: str) -> int:
    value = _number(text, what, example)
    if value != int(value):
        raise GoodfitError(f"{what}: {text!r} is not a whole number; e.g. {example}")
    return int(value)


def _options(name: str, settings: str, main: str, allowed: dict[str, str], example: str) -> dict[str, str]:
    """`0.5` -> {main: '0.5'}; `a:1+b:2` -> {'a': '1', 'b': '2'}; each key once and known."""
    if ":" not in settings and "+" not in settings and settings not in allowed:
        return {main: settings}
    found: dict[str, str] = {}
    for part in settings.split("+"):
        key, colon, value = part.partition(":")
        key = key.strip()
        if key not in allowed:
            raise GoodfitError(f"arm {name}={settings}: {key!r} is not a setting of {name}{did_you_mean(key, allowed)}; "
                               f"use {', '.join(f'{k}:{v}' for k, v in allowed.items())}, e.g. {example}")
        if not colon or not value.strip():
            raise GoodfitError(f"arm {name}={settings}: {key} needs a value, e.g. {key}:{allowed[key]}")
        if key in found:
            raise GoodfitError(f"arm {name}={settings}: {key} is given twice; keep one")
        found[key] = value.strip()
    return found


def _augment(settings: str, kind: str) -> Augment:
    values = {}
    for part in settings.split("+"):
        key, colon, value = (s.strip() for s in part.partition(":"))
        if key not in AUGMENTATIONS[kind]:
            raise GoodfitError(f"arm augment={settings}: {key!r} does not apply to {kind} data"
                               f"{did_you_mean(key, AUGMENTATIONS[kind])}; "
                               f"use {', '.join(AUGMENTATIONS[kind])}, e.g. augment={AUGMENTATIONS[kind][0]}:"
                               f"{DEFAULT_STRENGTH[kind][AUGMENTATIONS[kind][0]]:g}")
        if key in values:
            raise GoodfitError(f"arm augment={settings}: {key} is given twice; keep one")
        values[key] = (_number(value, f"arm augment={settings}", f"{key}:{DEFAULT_STRENGTH[kind][key]:g}")
                       if colon else DEFAULT_STRENGTH[kind][key])
    return Augment(**values)


def _remedy(name: str, settings: str, kind: str):
    """The remedy that `name=settings` describes."""
    where = f"arm {name}={settings}"
    if name == "dropout":
        return Dropout(_number(settings, where, "dropout=0.5"))
    if name in ("l2", "decay"):
        example = "l2=1e-4" if name == "l2" else "decay=1e-2"
        return WeightDecay(_number(settings, where, example), decoupled=name == "decay")
    if name == "augment":
        return _augment(settings, kind)
    if name == "early_stopping":
        o = _options(name, settings, "patience", {"patience": "20", "min_delta": "0.001", "warmup": "5",
                                                  "monitor": "val_loss"}, "early_stopping=patience:20")
        if o.get("monitor", MONITORS[0]) not in MONITORS:
            raise GoodfitError(f"{where}: monitor {o['monitor']!r} is unknown; use one of {', '.join(MONITORS)}")
        return EarlyStopping(patience=_whole(o.get("patience", "10"), where, "early_stopping=20"),
                             min_delta=_number(o.get("min_delta", "0"), where, "min_delta:0.001"),
                             warmup=_whole(o.get("warmup", "0"), where, "warmup:5"),
                             monitor=o.get("monitor", MONITORS[0]))
    if name == "batchnorm":
        return BatchNorm(_number(settings, where, "batchnorm=0.1"))
    if name == "shrink":
        o = _options(name, settings, "width", {"width": "0.5", "depth": "1"}, "shrink=0.5")
        depth = o.get("depth")
        return Shrink(_number(o.get("width", "1"), where, "shrink=0.5"),
                      None if depth is None else _whole(depth, where, "shrink=width:0.5+depth:1"))
    if name == "label_smoothing":
        return LabelSmoothing(_number(settings, where, "label_smoothing=0.1"))
    if name == "class_weights":
        o = _options(name, settings, "how", {"how": "balanced"}, "class_weights=balanced")
        if o["how"] not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"{where}: use one of {', '.join(CLASS_WEIGHTINGS)}, e.g. class_weights=balanced")
        return ClassWeights(o["how"])
    raise GoodfitError(f"{where}: {name} takes no settings; write {name} alone")


def _canonical(name: str, settings: str) -> str:
    """The arm's name as written, numbers in their shortest form: `dropout=0.50` -> `dropout=0.5`."""
    def short(match: re.Match) -> str:
        return f"{float(match.group(0)):g}"
    return f"{name}=" + re.sub(r"(?<![A-Za-z_])[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", short, settings)


def _parts(text: str, names) -> list[str]:
    """`dropout=0.3+augment=shift:0.1+noise+l2` -> ['dropout=0.3', 'augment=shift:0.1+noise', 'l2']: a part
    that starts with one of the arms' `names` starts an arm, any other continues the one before."""
    parts: list[str] = []
    for token in text.split("+"):
        head = re.split(r"[=:]", token.strip(), maxsplit=1)[0].strip()
        if not parts or head in names:
            parts.append(token.strip())
        else:
            parts[-1] += "+" + token.strip()
    return parts


def parse_arm(text: str, kind: str) -> Arm:
    """One arm from its spelling, for data of this kind (`image`, `sequence` or `table`); remedies
    joined by `+` make one arm of them all.

    Example:
        >>> parse_arm("dropout=0.3+l2=1e-4", "table")
        Arm(name='dropout=0.3+l2=0.0001', remedies=(Dropout(rate=0.3), WeightDecay(strength=0.0001, decoupled=False, include_bias_and_norm=False)))

    Example:
        >>> parse_arm("dropout=0.50", "table")
        Arm(name='dropout=0.5', remedies=(Dropout(rate=0.5),))
        >>> parse_arm("augment=shift:0.1+noise", "sequence").remedies[0]
        Augment(rotate=0.0, flip=0.0, zoom=0.0, shift=0.1, noise=0.05, mixup=0.0)
        >>> parse_arm("early_stopping=patience:20+monitor:val_accuracy", "image").remedies[0].patience
        20
        >>> parse_arm("l2", "image").remedies
        (WeightDecay(strength=0.001, decoupled=False, include_bias_and_norm=False),)
    """
    parts = _parts(text.strip(), default_arms(kind))
    if len(parts) > 1:
        return _combined(text.strip(), [_single(p, kind) for p in parts])
    return _single(parts[0], kind)


def _combined(text: str, arms: list[Arm]) -> Arm:
    """One arm of several remedies, each at most once."""
    seen: dict[str, str] = {}
    for arm in arms:
        if arm.name in (BASELINE, "all"):
            raise GoodfitError(f"arm {text}: {arm.name} does not combine with other remedies; write it alone")
        key = type(arm.remedies[0]).key
        if key in seen:
            raise GoodfitError(f"arm {text}: {seen[key]} and {arm.name} set the same remedy; keep one")
        seen[key] = arm.name
    return Arm("+".join(a.name for a in arms), tuple(a.remedies[0] for a in arms))


def _single(text: str, kind: str) -> Arm:
    known = default_arms(kind)
    name, eq, settings = (s.strip() for s in text.partition("="))
    if name not in known:
        raise GoodfitError(f"arm {name!r} is unknown{did_you_mean(name, known)}; choose from {', '.join(known)} "
                           f"(with a strength, e.g. {ARMS_HELP})")
    if not eq:
        return known[name]
    if not settings:
        raise GoodfitError(f"arm {text!r} has '=' but no setting; e.g. {name}=0.5 or write {name} alone")
    if name in (BASELINE, "all"):
        raise GoodfitError(f"arm {name} takes no settings; write {name} alone")
    return Arm(_canonical(name, settings), (_remedy(name, settings, kind),))


def spell(arm: Arm) -> str:
    """The arm in this grammar, every setting that differs from a name alone written out; `parse_arm`
    reads it back to the same remedies.

    Example:
        >>> spell(Arm("r", (Dropout(0.43), WeightDecay(1.3e-05), Augment(rotate=6.2, noise=0.059), BatchNorm(),
        ...                 EarlyStopping(patience=10))))
        'dropout=0.43+l2=1.3e-05+augment=rotate:6.2+noise:0.059+batchnorm+early_stopping=10'
    """
    words = []
    for r in arm.remedies:
        if isinstance(r, Dropout):
            words.append(f"dropout={r.rate:g}")
        elif isinstance(r, WeightDecay):
            words.append(f"{'decay' if r.decoupled else 'l2'}={r.strength:g}")
        elif isinstance(r, Augment):
            words.append("augment=" + "+".join(f"{k}:{getattr(r, k):g}" for k in r.active))
        elif isinstance(r, EarlyStopping):
            extra = [f"{k}:{v:g}" for k, v in (("min_delta", r.min_delta), ("warmup", r.warmup)) if v]
            extra += [f"monitor:{r.monitor}"] if r.monitor != MONITORS[0] else []
            words.append(f"early_stopping={r.patience}" if not extra else
                         "early_stopping=" + "+".join([f"patience:{r.patience}"] + extra))
        elif isinstance(r, BatchNorm):
            words.append("batchnorm" if r.momentum == BatchNorm().momentum else f"batchnorm={r.momentum:g}")
        elif isinstance(r, Shrink):
            words.append(f"shrink={r.width:g}" if r.depth is None else f"shrink=width:{r.width:g}+depth:{r.depth}")
        elif isinstance(r, LabelSmoothing):
            words.append(f"label_smoothing={r.amount:g}")
        elif isinstance(r, ClassWeights):
            words.append("class_weights" if r.how == CLASS_WEIGHTINGS[0] else f"class_weights={r.how}")
    return "+".join(words) or BASELINE


def parse_arms(text: str, kind: str) -> list[Arm]:
    """Arms from a comma list; the baseline comes first whether named or not, repeats are dropped.

    Example:
        >>> [a.name for a in parse_arms("dropout=0.1, dropout=0.5,l2", "table")]
        ['baseline', 'dropout=0.1', 'dropout=0.5', 'l2']
    """
    items = [part for part in (p.strip() for p in text.split(",")) if part]
    if not items:
        raise GoodfitError(f"--arms names no arm; e.g. --arms {ARMS_HELP}")
    arms = {arm.name: arm for arm in map(lambda item: parse_arm(item, kind), items)}
    return [default_arms(kind)[BASELINE]] + [a for name, a in arms.items() if name != BASELINE]


def parse_seeds(text: str) -> list[int]:
    """Seeds from a count (`5`: 0 to 4), an inclusive range (`10-14`) or a list (`0,3,7`).

    Example:
        >>> parse_seeds("5"), parse_seeds("10-14"), parse_seeds("0,3,7")
        ([0, 1, 2, 3, 4], [10, 11, 12, 13, 14], [0, 3, 7])
    """
    text = str(text).strip()
    example = "--seeds 5 (seeds 0-4), --seeds 10-14 or --seeds 0,3,7"
    if re.fullmatch(r"\d+", text):
        if int(text) < 1:
            raise GoodfitError(f"--seeds must be at least 1, got {text}; e.g. {example}")
        return list(range(int(text)))
    if match := re.fullmatch(r"(\d+)\s*-\s*(\d+)", text):
        first, last = int(match.group(1)), int(match.group(2))
        if last < first:
            raise GoodfitError(f"--seeds {text}: the range ends before it starts; e.g. --seeds {last}-{first}")
        return list(range(first, last + 1))
    if re.fullmatch(r"\d+(\s*,\s*\d+)+", text):
        seeds = [int(s) for s in text.split(",")]
        if len(set(seeds)) != len(seeds):
            raise GoodfitError(f"--seeds {text} repeats a seed; each seed once")
        return seeds
    raise GoodfitError(f"--seeds {text!r} is not a count, a range or a list; e.g. {example}")
