"""How a study is spelled on the command line: arms with strengths, and seeds as a count or a range.

One arm is `NAME` or `NAME=SETTINGS`. A name alone means the remedy at the study's default
strength. SETTINGS is a number (the remedy's main setting, e.g. `dropout=0.5`, `l2=1e-4`,
`early_stopping=20`) or `key:value` options joined by `+` (`early_stopping=patience:20+min_delta:0.001`,
`shrink=width:0.5+depth:1`, `augment=shift:0.1+noise:0.05`). Each remedy's own file under
`goodfit/remedies/` reads and writes its settings; this module only splits and joins.

Remedies combine into one arm with `+` (no quoting needed in a shell): `dropout=0.3+l2=1e-4`,
`augment=shift:0.1+noise:0.05+batchnorm` (a part that starts with a remedy's name starts a remedy;
any other part is a setting of the one before). `spell` writes an arm back in this grammar, as
`goodfit train --arm`, `goodfit study --arms` and what `goodfit recipe` prints all read it; `goodfit
train`'s own remedy options (each remedy's flags) make an arm through `arm_from_flags`.

The same remedy may appear at several strengths (`dropout=0.1,dropout=0.5`): each is its own arm,
named as written (numbers in their shortest form). Pure functions; nothing here trains.
"""
from __future__ import annotations

import re

from goodfit.errors import GoodfitError
from goodfit.remedies import REGISTRY, WORDS, Arm, train_flags
from goodfit.remedies.base import did_you_mean

BASELINE = "baseline"
ALL = "all"
SINGLES = tuple(cls.words[0] for cls in REGISTRY if cls.in_all)  # the six classic remedies, which `all` combines
ARMS_HELP = ("baseline,dropout=0.5,l2=1e-4,decay=1e-2,augment=shift:0.1+noise:0.05,early_stopping=patience:20,"
             "batchnorm,shrink=0.5,label_smoothing=0.1,class_weights=balanced,dropout=0.3+l2=1e-4")


def single_arms(kind: str) -> dict[str, Arm]:
    """Each of the six classic remedies alone, at the study's default strength: what `all` combines.

    Example:
        >>> list(single_arms("table"))
        ['dropout', 'l2', 'augment', 'batchnorm', 'shrink', 'early_stopping']
    """
    return {word: Arm(word, (WORDS[word].defaults(kind)[word],)) for word in SINGLES}


def default_arms(kind: str) -> dict[str, Arm]:
    """The baseline, each registered remedy by each of its words at the study's default strength, and `all`
    (`single_arms` combined; label smoothing and class weights, answers to a data set's labels, stay out of it).

    Example:
        >>> list(default_arms("table"))
        ['baseline', 'dropout', 'l2', 'decay', 'augment', 'batchnorm', 'shrink', 'early_stopping', 'label_smoothing', 'class_weights', 'all']
        >>> [type(r).__name__ for r in default_arms("table")["all"].remedies]
        ['Dropout', 'WeightDecay', 'Augment', 'BatchNorm', 'Shrink', 'EarlyStopping']
    """
    arms = {BASELINE: Arm(BASELINE)}
    for cls in REGISTRY:
        arms |= {word: Arm(word, (remedy,)) for word, remedy in cls.defaults(kind).items()}
    arms[ALL] = Arm(ALL, tuple(a.remedies[0] for a in single_arms(kind).values()))
    return arms


def _remedy(name: str, settings: str, kind: str):
    """The remedy that `name=settings` describes."""
    if name not in WORDS:
        raise GoodfitError(f"arm {name}={settings}: {name} takes no settings; write {name} alone")
    return WORDS[name].parse(name, settings, kind)


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
        elif "=" in token:  # `name=value` starts an arm: a name no remedy has is a misspelling, not a setting
            raise GoodfitError(f"arm {text}: {head!r} is not a remedy{did_you_mean(head, names, 0.5)}; join remedies "
                               f"as dropout=0.3+l2=1e-4")
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
        if arm.name in (BASELINE, ALL):
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
    if name in (BASELINE, ALL):
        raise GoodfitError(f"arm {name} takes no settings; write {name} alone")
    return Arm(_canonical(name, settings), (_remedy(name, settings, kind),))


def spell(arm: Arm) -> str:
    """The arm in this grammar, every setting that differs from a name alone written out; `parse_arm`
    reads it back to the same remedies.

    Example:
        >>> from goodfit.remedies import Augment, BatchNorm, Dropout, EarlyStopping, WeightDecay
        >>> spell(Arm("r", (Dropout(0.43), WeightDecay(1.3e-05), Augment(rotate=6.2, noise=0.059), BatchNorm(),
        ...                 EarlyStopping(patience=10))))
        'dropout=0.43+l2=1.3e-05+augment=rotate:6.2+noise:0.059+batchnorm+early_stopping=10'
    """
    return "+".join(r.spell() for r in arm.remedies) or BASELINE


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


def parse_numbers(text: str | None, option: str) -> list[float]:
    """Numbers from a comma list, as `--train-size 100,300` or `--dropout 0.1,0.3` gives them; none for None.

    Example:
        >>> parse_numbers("0.1, 0.3", "--dropout"), parse_numbers(None, "--dropout")
        ([0.1, 0.3], [])
    """
    if text is None:
        return []
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GoodfitError(f"{option} takes numbers separated by commas, got {text!r}; e.g. {option} 0.1,0.3") from None


def parse_whole_numbers(text: str | None, option: str) -> list[int]:
    """Whole numbers from a comma list, as `--train-size 100,300,1000` gives them; none for None.

    Example:
        >>> parse_whole_numbers("100,300", "--train-size")
        [100, 300]
    """
    values = parse_numbers(text, option)
    if any(v != int(v) for v in values):
        raise GoodfitError(f"{option} takes whole numbers separated by commas, got {text!r}; e.g. {option} 100,300")
    return [int(v) for v in values]


def arm_from_flags(values: dict, kind: str, arm: str | None = None) -> Arm:
    """The arm that `goodfit train`'s remedy options ask for: each remedy's own flags (`values` by `Flag.dest`,
    a flag left out or at its default asks for nothing), or the spelling `arm` (`--arm`), never both.

    The arm is named by its spelling, as `parse_arm` names it.

    Example:
        >>> arm_from_flags({"dropout": 0.3, "l2": 1e-4}, "table").name
        'dropout=0.3+l2=0.0001'
        >>> arm_from_flags({}, "table", arm="dropout=0.3").remedies
        (Dropout(rate=0.3),)
    """
    given = [f"--{f.name}" for f in train_flags() if values.get(f.dest, f.default) != f.default]
    if arm is not None:
        if given:
            raise GoodfitError(f"--arm {arm} and {', '.join(given)} both set remedies; put them all in --arm, "
                               f"e.g. --arm dropout=0.3+l2=1e-4")
        return parse_arm(arm, kind)
    parts = tuple(r for r in (cls.from_flags(values, kind) for cls in REGISTRY) if r is not None)
    return Arm(spell(Arm("remedies", parts)), parts)
