#!/usr/bin/env bash
# One bench script on an older revision, then on this checkout, in one run (bench/README.md).
#
#   bench/compare.sh [--record] [--note TEXT] [--keep] [--bench-here] [--rounds N]
#                    REVISION SCRIPT [ARGS...]
#   bench/compare.sh --rounds 3 7742dd8 throughput.py --quick
#
# Makes a git worktree of REVISION in a temporary directory, installs it into its own virtual
# environment there (python3 -m venv, pip install -e '.[test]'), runs bench/SCRIPT of that
# worktree, then bench/SCRIPT of this checkout with its .venv (or $COMPARE_PYTHON), one after
# the other with the same arguments, and prints both outputs one after the other as a block
# for bench/results/ (--record files it by day, bench/RESULTS.md indexes it). Progress goes to
# stderr, the block to stdout. Exit status: this checkout's run's (the old one's is in it).
# --bench-here: the old tree is measured with this checkout's bench/ (its code, these
# scripts); so it is, with a note, when REVISION has no bench/SCRIPT (a new script).
# --rounds N: run each side N times, alternating which goes first (old new, new old, old new,
# ...), so a machine that drifts during the run weighs on both; the block starts with the
# median of each figure per side and a count of figures better, the same and worse
# (bench/medians.py), then every run's output.
#
# The bench scripts serve on 127.0.0.1 and reach PostgreSQL as the test suite does; this
# refuses a MUTUALAB_TEST_DATABASE_URL that is not on 127.0.0.1, localhost or a Unix socket.
set -euo pipefail

usage() {
    sed -n '2,21s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

record=0
keep=0
bench_here=0
rounds=1
note=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --record) record=1; shift ;;
        --keep) keep=1; shift ;;
        --bench-here) bench_here=1; shift ;;
        --note) [[ $# -ge 2 ]] || usage; note="$2"; shift 2 ;;
        --rounds)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage
            rounds="$2"
            shift 2
            ;;
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

# Spelled with if: a false [[ ]] as the last command of a substitution would end the script
# under set -e (it did, for every run without --rounds).
options=""
if [[ "$bench_here" == 1 ]]; then options+="--bench-here "; fi
if [[ "$rounds" -gt 1 ]]; then options+="--rounds $rounds "; fi
command="bench/compare.sh $options$revision $script${*:+ $*}"
old_status=0
new_status=0
order=()
run_side() {
    # One run of SCRIPT on one side: its stdout kept as $work/SIDE.ROUND.out.
    local side="$1" round="$2" tree python label status=0
    shift 2
    if [[ "$side" == old ]]; then
        tree="$old" python="$old/.venv/bin/python" label="$old_short"
    else
        tree="$root" python="$new_python" label="$new_short"
    fi
    echo "compare.sh: $side ($label), run $round of $rounds: $script $*" >&2
    (cd "$tree" && "$python" "bench/$script" "$@") | tee "$work/$side.$round.out" >&2 \
        || status="${PIPESTATUS[0]}"
    if [[ "$status" != 0 ]]; then
        if [[ "$side" == old ]]; then old_status="$status"; else new_status="$status"; fi
    fi
    order+=("$side")
}
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then
        run_side old "$round" "$@"
        run_side new "$round" "$@"
    else
        run_side new "$round" "$@"
        run_side old "$round" "$@"
    fi
done

old_outputs=()
new_outputs=()
for ((round = 1; round <= rounds; round++)); do
    old_outputs+=("$work/old.$round.out")
    new_outputs+=("$work/new.$round.out")
done

block="$work/block.md"
{
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $script, $old_short against $new_short${note:+ — $note}"
    echo
    if [[ "$rounds" == 1 ]]; then
        echo "- command: \`$command\` (one after the other, same PostgreSQL, same machine)"
    else
        echo "- command: \`$command\` ($rounds runs per side, in this order: ${order[*]};" \
            "same PostgreSQL, same machine)"
    fi
    subject="$(git -C "$root" log -1 --format=%s "$old_commit")"
    [[ ${#subject} -le 80 ]] || subject="${subject:0:79}…"
    echo "- old: $old_short ($subject), measured with $old_bench, exit status $old_status"
    echo "- new: $new_short, exit status $new_status"
    echo
    echo "$([[ "$rounds" == 1 ]] && echo "figures" || echo "medians"), old → new (bench/medians.py):"
    echo
    echo '```'
    "$new_python" "$root/bench/medians.py" --old "${old_outputs[@]}" --new "${new_outputs[@]}" \
        --order "${order[@]}"
    echo '```'
    echo
    for ((round = 1; round <= rounds; round++)); do
        for side in old new; do
            if [[ "$side" == old ]]; then label="$old_short"; else label="$new_short"; fi
            echo "$side, $label$([[ "$rounds" == 1 ]] || echo ", run $round"):"
            echo
            echo '```'
            cat "$work/$side.$round.out"
            echo '```'
            echo
        done
    done
} >"$block"
cat "$block"
if [[ "$record" == 1 ]]; then
    "$new_python" "$root/bench/results_files.py" "$block" >&2
fi
exit "$new_status"
