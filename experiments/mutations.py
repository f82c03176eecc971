"""Mutation check of the rules: does a test fail when any single piece of any rule changes?

    python experiments/mutations.py [--jobs 2] [--only N] [--rule NAME ...]

Every mutant is model/rules.py with one change: a factor dropped from a product, + and - or * and /
swapped, a comparison flipped or its boundary moved (< to <=), & and | swapped, a `not` removed, a
number moved by one (an age limit off by a month, a level off by one). Each runs against the fast tests
that watch the rules (the rules' unit tests, the direction of every effect, the pinned fingerprint) in a
copy of the repository with its own numba cache, so that nothing compiled for one mutant serves another.
A mutant is caught when a test fails. Prints each survivor and the score; writes
results/mutations.csv (one row per mutant).
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "model" / "rules.py"
TESTS = ["tests/test_rules.py", "tests/test_directions.py", "tests/test_fingerprint.py"]

SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass
class Mutant:
    line: int
    what: str
    source: str


def _rule_nodes(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """The nodes a mutant may change, with the rule they belong to: the bodies of the rule functions and the
    module's constants ("constants")."""
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name != "ndtri":
            yield from ((statement.name, node) for part in statement.body for node in ast.walk(part))
        elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.BinOp | ast.Constant):
            yield from (("constants", node) for node in ast.walk(statement.value))


def mutants(source: str, rules: set[str] | None = None) -> Iterator[Mutant]:
    """Every single mutation of the rules module (of the named rules only, if given)."""
    tree = ast.parse(source)
    for index, (rule, node) in enumerate(_rule_nodes(tree)):
        if rules and rule not in rules:
            continue
        line = getattr(node, "lineno", 0)
        for what, change in _changes(node):
            mutated = copy.deepcopy(tree)
            target = list(_rule_nodes(mutated))[index][1]
            change(target)
            yield Mutant(line, what, ast.unparse(mutated))


def _changes(node: ast.AST) -> Iterator[tuple[str, object]]:
    """(description, a function that applies the change to the corresponding node of a copy)."""
    if isinstance(node, ast.BinOp):
        if type(node.op) in SWAPS:
            new = SWAPS[type(node.op)]
            yield f"{type(node.op).__name__} -> {new.__name__}", lambda n, new=new: setattr(n, "op", new())
        if isinstance(node.op, ast.Mult | ast.BitAnd | ast.BitOr):  # drop a factor or a condition
            yield "drop the right operand", lambda n: _replace_with(n, n.left)
            yield "drop the left operand", lambda n: _replace_with(n, n.right)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAPS:
        new = SWAPS[type(node.ops[0])]
        yield f"{type(node.ops[0]).__name__} -> {new.__name__}", lambda n, new=new: setattr(n, "ops", [new()])
    elif isinstance(node, ast.BoolOp):
        new = SWAPS[type(node.op)]
        yield f"{type(node.op).__name__} -> {new.__name__}", lambda n, new=new: setattr(n, "op", new())
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        yield f"remove {type(node.op).__name__}", lambda n: _replace_with(n, n.operand)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        for step in (-1, +1):
            yield f"{node.value!r} {step:+d}", lambda n, step=step: setattr(n, "value", n.value + step)


def _replace_with(node: ast.AST, other: ast.AST) -> None:
    """Turn `node` into `other` in place (the parent keeps pointing at `node`)."""
    replacement = copy.deepcopy(other)
    node.__class__ = replacement.__class__
    node.__dict__.clear()
    node.__dict__.update(replacement.__dict__)


def run_mutant(mutant: Mutant, original: Path) -> tuple[bool, str, float]:
    """(caught, the first failing test, seconds): the tests against the mutant, in a copy of `original`."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="prevsim-mutant-") as folder:
        copy_ = Path(folder) / "repo"
        shutil.copytree(original, copy_)
        (copy_ / "model" / "rules.py").write_text(mutant.source, encoding="utf-8")
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(folder) / "numba"), "PYTHONPATH": str(copy_)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-n",
                "0",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "--no-header",
                "-rfE",
                *TESTS,
            ],
            cwd=copy_,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    failed = next((line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))), "")
    if done.returncode != 0 and not failed:
        failed = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    return done.returncode != 0, failed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--only", type=int, default=None, help="test only the first N mutants")
    parser.add_argument("--rule", action="append", help="test only mutants of this rule function (repeatable)")
    args = parser.parse_args()
    all_mutants = list(mutants(RULES.read_text(encoding="utf-8"), set(args.rule or ())))[: args.only]
    print(f"{len(all_mutants)} mutants of {RULES.relative_to(ROOT)}; tests: {' '.join(TESTS)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="prevsim-mutation-check-") as folder:
        original = Path(folder) / "repo"  # the repository as it is now, whatever is edited meanwhile
        shutil.copytree(ROOT, original, ignore=shutil.ignore_patterns(".venv", ".git", "results", "__pycache__"))
        unchanged = Mutant(0, "none", ast.unparse(ast.parse(RULES.read_text(encoding="utf-8"))))
        caught, failed, _ = run_mutant(unchanged, original)
        if caught:  # the check means nothing unless the rules as they are pass in the copy
            sys.exit(f"the unmutated rules fail the tests in a copy of the repository: {failed}")
        rows = []
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = pool.map(run_mutant, all_mutants, [original] * len(all_mutants))
            for number, (mutant, (caught, failed, seconds)) in enumerate(zip(all_mutants, outcomes, strict=True), 1):
                where = f"{number:4d}/{len(all_mutants)} line {mutant.line:4d} {mutant.what:28s}"
                print(f"{where} {'caught' if caught else 'SURVIVED'} ({seconds:.0f} s) {failed}", flush=True)
                rows.append({"line": mutant.line, "mutation": mutant.what, "caught": caught, "first_failure": failed})
    out = ROOT / "results" / "mutations.csv"
    out.parent.mkdir(exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    caught = sum(row["caught"] for row in rows)
    print(f"\nmutation score: {caught}/{len(rows)} caught ({100 * caught / len(rows):.1f} %); survivors:")
    for row in rows:
        if not row["caught"]:
            print(f"  line {row['line']}: {row['mutation']}")
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
