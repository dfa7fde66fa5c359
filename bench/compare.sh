#!/usr/bin/env bash
# One bench script on an older revision, then on this checkout, in one run (bench/README.md).
#
#   bench/compare.sh [--record] [--note TEXT] [--keep] [--bench-here] REVISION SCRIPT [ARGS...]
#   bench/compare.sh 7742dd8 throughput.py --quick
#
# Makes a git worktree of REVISION in a temporary directory, installs it into its own virtual
# environment there (python3 -m venv, pip install -e '.[test]'), runs bench/SCRIPT of that
# worktree, then bench/SCRIPT of this checkout with its .venv (or $COMPARE_PYTHON), one after
# the other with the same arguments, and prints both outputs one after the other as a block
# for bench/RESULTS.md (--record appends it there). The scripts' progress goes to stderr, the
# block to stdout. Exit status: that of this checkout's run (the old one's is in the block).
# --bench-here: the old tree is measured with this checkout's bench/ (its code, these
# scripts); so it is, with a note, when REVISION has no bench/SCRIPT (a new script).
#
# The bench scripts serve on 127.0.0.1 and reach PostgreSQL as the test suite does; this
# refuses a MUTUALAB_TEST_DATABASE_URL that is not on 127.0.0.1, localhost or a Unix socket.
set -euo pipefail

usage() {
    sed -n '2,18s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

record=0
keep=0
bench_here=0
note=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --record) record=1; shift ;;
        --keep) keep=1; shift ;;
        --bench-here) bench_here=1; shift ;;
        --note) [[ $# -ge 2 ]] || usage; note="$2"; shift 2 ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "compare.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[[ $# -ge 2 ]] || usage
revision="$1"
script="$(basename "$2" .py).py"
shift 2
for argument in "$@"; do
    if [[ "$argument" == "--record" ]]; then
        echo "compare.sh: give --record before REVISION (one block for both runs)" >&2
        exit 2
    fi
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
new_python="${COMPARE_PYTHON:-$root/.venv/bin/python}"
if [[ ! -x "$new_python" ]]; then
    echo "compare.sh: no $new_python (make install, or set COMPARE_PYTHON)" >&2
    exit 2
fi
if [[ ! -f "$root/bench/$script" ]]; then
    echo "compare.sh: no bench/$script in $root" >&2
    exit 2
fi

# Traffic stays on this machine: the database too.
"$new_python" - <<'EOF'
import os
import sys

from sqlalchemy.engine import make_url

configured = os.environ.get("MUTUALAB_TEST_DATABASE_URL")
if configured:
    url = make_url(configured)
    socket = str(url.query.get("host", "")).startswith("/")
    if not socket and url.host not in (None, "", "127.0.0.1", "localhost"):
        print(f"compare.sh: MUTUALAB_TEST_DATABASE_URL is on {url.host}, not here", file=sys.stderr)
        sys.exit(2)
EOF

old_commit="$(git -C "$root" rev-parse --verify --quiet "$revision^{commit}")" || {
    echo "compare.sh: no commit $revision" >&2
    exit 2
}
old_short="$(git -C "$root" rev-parse --short "$old_commit")"
new_short="$(git -C "$root" rev-parse --short HEAD)"
if [[ -n "$(git -C "$root" status --porcelain)" ]]; then
    new_short="$new_short (dirty: uncommitted changes)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/mutualab-compare.XXXXXX")"
old="$work/old"
cleanup() {
    if [[ "$keep" == 1 ]]; then
        echo "compare.sh: kept $old (git worktree; remove with: git worktree remove --force $old)" >&2
        return
    fi
    git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || true
    git -C "$root" worktree prune >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "compare.sh: worktree of $old_short in $old" >&2
git -C "$root" worktree add --quiet --detach "$old" "$old_commit"
if [[ ! -f "$old/bench/$script" && "$bench_here" == 0 ]]; then
    echo "compare.sh: $old_short has no bench/$script: measuring it with this checkout's bench/" >&2
    bench_here=1
fi
old_bench="its own bench/$script"
if [[ "$bench_here" == 1 ]]; then
    # The old code measured by these scripts: the same measurement on both sides.
    rm -rf "$old/bench"
    cp -R "$root/bench" "$old/bench"
    rm -rf "$old/bench/__pycache__"
    old_bench="this checkout's bench/$script (copied into its tree)"
fi
echo "compare.sh: installing $old_short into $old/.venv" >&2
python3 -m venv "$old/.venv"
(cd "$old" && .venv/bin/python -m pip install --quiet -e '.[test]') >&2

# Each run must import its own tree's code (an editable install of that tree).
for pair in "$old/.venv/bin/python:$old" "$new_python:$root"; do
    python="${pair%%:*}"
    tree="${pair#*:}"
    found="$(cd "$tree" && "$python" -c 'import mutualab; print(mutualab.__file__)')"
    if [[ "$(realpath "$found")" != "$(realpath "$tree")"/* ]]; then
        echo "compare.sh: $python imports mutualab from $found, not from $tree" >&2
        exit 2
    fi
done

command="bench/compare.sh $revision $script${*:+ $*}"
echo "compare.sh: old ($old_short): $script $*" >&2
old_status=0
(cd "$old" && "$old/.venv/bin/python" "bench/$script" "$@") | tee "$work/old.out" >&2 \
    || old_status="${PIPESTATUS[0]}"
echo "compare.sh: new ($new_short): $script $*" >&2
new_status=0
(cd "$root" && "$new_python" "bench/$script" "$@") | tee "$work/new.out" >&2 \
    || new_status="${PIPESTATUS[0]}"

block="$work/block.md"
{
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $script, $old_short against $new_short${note:+ — $note}"
    echo
    echo "- command: \`$command\` (one after the other, same PostgreSQL, same machine)"
    subject="$(git -C "$root" log -1 --format=%s "$old_commit")"
    [[ ${#subject} -le 80 ]] || subject="${subject:0:79}…"
    echo "- old: $old_short ($subject), measured with $old_bench, exit status $old_status"
    echo "- new: $new_short, exit status $new_status"
    echo
    echo "old, $old_short:"
    echo
    echo '```'
    cat "$work/old.out"
    echo '```'
    echo
    echo "new, $new_short:"
    echo
    echo '```'
    cat "$work/new.out"
    echo '```'
    echo
} >"$block"
cat "$block"
if [[ "$record" == 1 ]]; then
    cat "$block" >>"$root/bench/RESULTS.md"
    echo "compare.sh: recorded in bench/RESULTS.md" >&2
fi
exit "$new_status"
