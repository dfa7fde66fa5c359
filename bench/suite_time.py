"""The wall time of ``make test``: an older revision against this one, on fresh clones, in one run.

Clones this repository twice into a temporary directory (the older REVISION and HEAD), installs
each (``make install`` and the browser tools, untimed), then times each part of ``make test``
(``make lint``, ``make typecheck``, ``make pytest``, ``make browser-tests``), one clone after
the other on the same machine and PostgreSQL:

- the older revision's whole ``make test``;
- HEAD's ``make test`` limited to the older revision's tests (like for like): lint and type
  checks of the whole tree, and the tests whose function names the older revision's test files
  define (the few renamed since are mapped below), run with the same options as HEAD's
  Makefile (its workers, its browser test options), on cold caches;
- HEAD's whole ``make test``, caches emptied again.

The test suite grows with every feature, so the whole suites' times compare two different sets
of tests; the like-for-like line compares the same tests' cost. Both are printed.

Run: cd /work/main && .venv/bin/python bench/suite_time.py [--old 7742dd8] [--record]
(about 25 minutes on 2 cores). Exit status 1 when any part fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.harness import ROOT, add_common_arguments, machine, record

PARTS = ("lint", "typecheck", "pytest", "browser-tests")
# Tests of 7742dd8 renamed since (what they check stayed; sign-up now mails a link first).
RENAMED = {
    "test_duplicate_email_and_weak_password": "test_weak_password_and_malformed_address",
    "test_occurrences_beyond_the_rules_are_reported": (
        "test_occurrences_beyond_the_horizon_wait_for_it"
    ),
    "test_sign_up_logs_in_and_shows_my_account": (
        "test_sign_up_then_the_mailed_link_and_the_password_log_in"
    ),
    "test_sign_up_logs_in_at_citizen_rate": (
        "test_sign_up_then_the_mailed_link_logs_in_at_citizen_rate"
    ),
    "test_sign_up_weak_password_and_taken_email_are_explained": (
        "test_sign_up_weak_password_is_explained_and_a_taken_address_answers_like_a_new_one"
    ),
}
TEST_FUNCTION = re.compile(r"^(?:async )?def (test_\w+)", re.MULTILINE)


def clone(revision: str, into: Path) -> str:
    """A fresh clone of this repository at ``revision``, installed; returns its short hash."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", revision], check=True)
    makefile = (into / "Makefile").read_text(encoding="utf-8")
    for target in ("install", "browser-tools", "web-assets"):
        if re.search(rf"^{target}:", makefile, re.MULTILINE):
            subprocess.run(["make", target], cwd=into, check=True, stdout=subprocess.DEVNULL)
    done = subprocess.run(
        ["git", "-C", str(into), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def timed(command: Sequence[str], cwd: Path, log: Path) -> tuple[float, bool]:
    """Seconds ``command`` took in ``cwd`` and whether it passed (output appended to ``log``)."""
    began = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    return time.monotonic() - began, done.returncode == 0


def timed_parts(
    commands: dict[str, list[str]], cwd: Path, log: Path
) -> tuple[dict[str, float], bool]:
    """Seconds each named command took, one after the other, and whether all passed."""
    seconds: dict[str, float] = {}
    passed = True
    for part, command in commands.items():
        seconds[part], ok = timed(command, cwd, log)
        passed &= ok
    return seconds, passed


def forget_caches(tree: Path) -> None:
    """Empty the linters' and type checker's caches, as a fresh clone has none."""
    for cache in (".mypy_cache", ".ruff_cache", ".pytest_cache"):
        shutil.rmtree(tree / cache, ignore_errors=True)


def test_functions(tree: Path) -> list[tuple[str, str]]:
    """Every test function of ``tree``'s tests as (file, name), in the order pytest runs them
    (files by path, functions as defined)."""
    return [
        (str(path.relative_to(tree)), name)
        for path in sorted((tree / "tests").rglob("test_*.py"))
        for name in TEST_FUNCTION.findall(path.read_text(encoding="utf-8"))
    ]


def same_tests(old: Path, new: Path) -> tuple[list[str], list[str], list[str]]:
    """HEAD's node ids of the older tree's tests (outside and inside tests/browser), in the
    order the whole suite runs them (the browser journeys share a served instance), and the
    older names HEAD no longer has."""
    wanted = {RENAMED.get(name, name) for _, name in test_functions(old)}
    here = test_functions(new)
    ids = [f"{path}::{name}" for path, name in here if name in wanted]
    have = {name for _, name in here}
    lost = sorted({name for _, name in test_functions(old) if RENAMED.get(name, name) not in have})
    browser = [i for i in ids if i.startswith("tests/browser/")]
    return [i for i in ids if not i.startswith("tests/browser/")], browser, lost


def makefile_command(tree: Path, target: str) -> list[str]:
    """The pytest command line of ``target`` in ``tree``'s Makefile, as a list."""
    text = (tree / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(rf"^{target}:.*\n\t(.+)$", text, re.MULTILINE)
    assert recipe is not None, f"no {target} recipe"
    workers = re.search(r"^PYTEST_WORKERS \?= (\d+)", text, re.MULTILINE)
    line = recipe.group(1).replace("$(BIN)/", ".venv/bin/")
    line = line.replace("$(PYTEST_WORKERS)", workers.group(1) if workers else "1")
    # The node ids given replace the folder the recipe names (its --ignore stays).
    return [word for word in line.split() if word != "tests/browser"]


def parts_line(label: str, seconds: dict[str, float], passed: bool) -> str:
    """One line of figures: each part and the total."""
    each = "  ".join(f"{part} {seconds[part]:5.0f} s" for part in seconds)
    verdict = "" if passed else "  (a part FAILED: see the log)"
    return f"{label:<34} {each}  total {sum(seconds.values()):5.0f} s{verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="7742dd8", help="the older revision")
    add_common_arguments(parser)
    args = parser.parse_args()
    context = machine()
    work = Path(tempfile.mkdtemp(prefix="mutualab-suite-"))
    log = work / "suite.log"
    print(f"clones and log in {work}", file=sys.stderr)
    old_tree, new_tree = work / "old", work / "new"
    old_commit = clone(args.old, old_tree)
    new_commit = clone("HEAD", new_tree)
    figures: list[str] = []

    make_test = {part: ["make", part] for part in PARTS}
    old_seconds, old_passed = timed_parts(make_test, old_tree, log)
    figures.append(parts_line(f"{old_commit} make test", old_seconds, old_passed))

    python_ids, browser_ids, lost = same_tests(old_tree, new_tree)
    like, like_passed = timed_parts(
        {
            "lint": make_test["lint"],
            "typecheck": make_test["typecheck"],
            "pytest": [*makefile_command(new_tree, "pytest"), *python_ids],
            "browser-tests": [*makefile_command(new_tree, "browser-tests"), *browser_ids],
        },
        new_tree,
        log,
    )
    label = f"{new_commit} on {old_commit}'s tests"
    figures.append(parts_line(label, like, like_passed))
    figures.append(
        f"  ({len(python_ids)} + {len(browser_ids)} browser tests of {new_commit} whose names "
        f"{old_commit} defines; names it defines that {new_commit} lacks: {lost or 'none'})"
    )

    forget_caches(new_tree)
    new_seconds, new_passed = timed_parts(make_test, new_tree, log)
    figures.append(parts_line(f"{new_commit} make test", new_seconds, new_passed))
    ratio = sum(like.values()) / sum(old_seconds.values())
    figures.append(f"like for like: {ratio:.2f} of {old_commit}'s make test")
    all_passed = old_passed and like_passed and new_passed

    print("\n".join(["", *context, *figures]))
    if args.record:
        record(
            f"suite_time.py, {old_commit} against {new_commit}",
            context,
            f"fresh clones; the parts of make test timed one after the other; log {log}",
            figures,
            args.note,
        )
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
