"""Every figure the README quotes from a goodfit command, checked against a fresh run of that command, or rewritten.

A README passage that quotes a command's output sits between `<!-- figures: WHAT -->` and `<!-- /figures -->`;
WHAT is the `--out` folder of the README's command (`runs/diabetes`: the ```bash line with `--out runs/diabetes`),
a whole command (`goodfit diagnose runs/one/history.csv`) or `python-block: MARKER` (the ```python block holding
MARKER, run as a script), followed by `slow` for the examples only `--all` runs. Each "double-quoted" fragment and each ```text block of the passage is the command's output as printed: its
numbers are read as wildcards, the rest must be found word for word (line wraps aside), and each number must lie
within a tolerance of today's: ten units of its last shown digit or 2% of it, whichever is larger (training
differs in its last digits between CPUs; a figure further off is stale). Fragments joined by "..." are checked
part by part. The examples run in the README's order in a scratch folder (its `python -c` lines first: they make
the inputs, e.g. cancer.csv), so an example's input must come from a command the README shows.

    make readme-figures                                   # the cheap examples: README's figure beside today's
    .venv/bin/python scripts/readme_figures.py --all      # the slow ones too (MNIST-1D studies, recipes)
    .venv/bin/python scripts/readme_figures.py --write    # and replace the README's figures by today's
    .venv/bin/python scripts/readme_figures.py --only runs/diabetes

Exit code 1 when a figure is stale or a fragment is no longer printed, 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PASSAGE = re.compile(r"<!-- figures: (.+?)( slow)? -->\n(.*?)<!-- /figures -->", re.S)
NUMBER = r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|\.\d)"  # 1,400 and -0.5 but not L2


@dataclass
class Passage:
    what: str
    slow: bool
    body: str
    start: int  # where the body begins in the README text


def passages(text: str) -> list[Passage]:
    return [Passage(m.group(1).strip(), bool(m.group(2)), m.group(3), m.start(3)) for m in PASSAGE.finditer(text)]


def fragments(body: str) -> list[str]:
    """The quoted output in a passage: each ```text block and each "double-quoted" fragment, split at "..."."""
    blocks = re.findall(r"```text\n(.*?)```", body, re.S)
    prose = re.sub(r"```.*?```", " ", body, flags=re.S)
    quoted = re.findall(r'"([^"\n]*(?:\n[^"\n]*)*?)"', prose)
    parts = []
    for piece in blocks + quoted:
        parts += [p.strip() for p in re.split(r"\.\.\.|…", piece) if p.strip()]
    return [p for p in parts if re.search(r"\w", p)]


def pattern(fragment: str) -> re.Pattern:
    """The fragment as a regular expression: numbers as groups, whitespace as any whitespace, the rest literal."""
    out, last = [], 0
    for m in re.finditer(NUMBER, fragment):
        out.append(_literal(fragment[last:m.start()]))
        out.append(f"({NUMBER})")
        last = m.end()
    out.append(_literal(fragment[last:]))
    return re.compile("".join(out))


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in re.split(r"\s+", text)) if text.strip() else (r"\s*" if text else "")


def value(number: str) -> float:
    return float(number.replace("−", "-").replace(",", ""))


def tolerance(number: str) -> float:
    decimals = len(number.split(".")[1]) if "." in number else 0
    return max(10 * 10 ** -decimals, 0.02 * abs(value(number)))


def command_of(what: str, readme: str) -> str:
    """The command a passage quotes: a whole command, the README command writing `--out WHAT`, or for
    `python-block: MARKER` the ```python block holding MARKER, run as a script (`python readme_block.py ...`)."""
    if what.startswith("python-block: "):
        marker = what.removeprefix("python-block: ")
        blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if marker in b]
        if len(blocks) != 1:
            raise SystemExit(f"error: no single README python block holds {marker!r} (found {len(blocks)})")
        return "python -c " + shlex.quote(blocks[0])
    if what.startswith("goodfit ") or what.startswith("python "):
        return what
    lines = bash_lines(readme)
    found = [line for line in lines if re.search(rf"--out {re.escape(what)}(\s|$)", line)]
    if len(found) != 1:
        raise SystemExit(f"error: no single README command writes --out {what} (found {len(found)})")
    return found[0]


def bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [line.split("  #")[0].strip() for line in lines if line and not line.startswith("#")]


def run(command: str, where: Path) -> tuple[str, float]:
    """The command's output (stdout and stderr) in the scratch folder, and its seconds."""
    words = shlex.split(command, comments=True)
    if words[0] == "goodfit":
        words = [str(Path(sys.executable).parent / "goodfit"), *words[1:]]
    elif words[0] == "python":
        words = [sys.executable, *words[1:]]
    start = time.perf_counter()
    done = subprocess.run(words, cwd=where, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80", "PYTHONWARNINGS": "ignore"})  # as the README quotes it
    return done.stdout + done.stderr, time.perf_counter() - start


@dataclass
class Figure:
    passage: str
    fragment: str
    readme: str
    today: str | None

    @property
    def ok(self) -> bool:
        return self.today is not None and abs(value(self.readme) - value(self.today)) <= tolerance(self.readme)


def compare(fragment: str, output: str, passage: str) -> tuple[list[Figure], re.Match | None]:
    """Each number of the fragment beside today's; a fragment not found has today None for all."""
    numbers = re.findall(NUMBER, fragment)
    m = pattern(fragment).search(output)
    if m is None:
        return [Figure(passage, fragment, n, None) for n in numbers] or [Figure(passage, fragment, "0", None)], None
    return [Figure(passage, fragment, n, t) for n, t in zip(numbers, m.groups())], m


def rewritten(text: str, passage: Passage, figures: list[Figure]) -> str:
    """The README with this passage's numbers replaced by today's (its wording and line wraps kept)."""
    body = passage.body
    for fragment in fragments(body):
        mine = [f for f in figures if f.fragment == fragment and f.today is not None]
        if not mine:
            continue
        m = pattern(fragment).search(body)
        if m is None:
            continue
        pieces, last = [], m.start()
        for k, f in enumerate(mine):
            pieces.append(body[last:m.start(k + 1)] + f.today)
            last = m.end(k + 1)
        body = body[:m.start()] + "".join(pieces) + body[last:]
    return text[:passage.start] + body + text[passage.start + len(passage.body):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="run the slow examples too")
    parser.add_argument("--write", action="store_true", help="replace the README's figures by today's")
    parser.add_argument("--only", action="append", help="the examples to run (their WHAT), all others skipped")
    parser.add_argument("--keep", help="run in this folder and keep it, instead of a scratch folder")
    args = parser.parse_args()
    text = README.read_text()
    where = Path(args.keep or tempfile.mkdtemp(prefix="readme-figures-"))
    where.mkdir(parents=True, exist_ok=True)
    (where / "tests").mkdir(exist_ok=True)
    if not (where / "tests" / "corpus").exists():
        (where / "tests" / "corpus").symlink_to(ROOT / "tests" / "corpus")
    for line in bash_lines(text):
        if line.startswith("python -c"):
            run(line, where)
    stale = 0
    everything = passages(text)
    chosen = [i for i, p in enumerate(everything) if (args.all or not p.slow) and (not args.only or p.what in args.only)]
    outputs: dict[str, str] = {}
    for i in chosen:
        passage = everything[i]
        command = command_of(passage.what, text)
        if passage.what not in outputs:  # a command quoted in several passages runs once
            outputs[passage.what], seconds = run(command, where)
            print(f"\n{passage.what}  ({seconds:.0f} s)\n  $ {command[:200]}")
        output = outputs[passage.what]
        figures = []
        for fragment in fragments(passage.body):
            found, match = compare(fragment, output, passage.what)
            figures += found
            if match is None:
                stale += 1
                print(f"  NOT PRINTED: {' '.join(fragment.split())[:110]}")
                continue
            for f in found:
                if not re.search(r"\d", f.readme):
                    continue
                mark = "ok " if f.ok else "OFF"
                stale += not f.ok
                if not f.ok or f.readme != f.today:
                    print(f"  {mark} README {f.readme:>9}  today {f.today:>9}   in: {' '.join(fragment.split())[:70]}")
        if args.write:
            text = rewritten(text, passages(text)[i], figures)
    if args.write:
        README.write_text(text)
        print("\nREADME.md rewritten with today's figures; read the diff (git diff README.md) before committing")
    if not args.keep:
        shutil.rmtree(where, ignore_errors=True)
    print(f"\n{len(chosen)} example(s); {stale} figure(s) stale or fragment(s) not printed")
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
