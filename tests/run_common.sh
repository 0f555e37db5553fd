# run_common.sh: sourced by the run tests: the program, a tiny demo configuration, a
# scratch directory removed on exit, and helpers.
set -u
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
RLZERO="$top_builddir/rlzero"
RLZERO_LUA_PATH=${RLZERO_LUA_PATH:-$srcdir/lua}
export RLZERO_LUA_PATH
unset RLZERO_STOP_AT_STEP
DEMO="$srcdir/experiments/demo.lua"
TINY="dim=16 layers=1 heads=2 batch=4"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rz-run-test.XXXXXX") || exit 99
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
fails=0
checks=0
ok() { # ok CONDITION-STATUS MESSAGE
    checks=$((checks + 1))
    if [ "$1" -ne 0 ]; then
        echo "FAIL: $2" >&2
        fails=$((fails + 1))
    fi
}
# metrics.jsonl without the timing fields, which differ between any two runs
untimed() { sed -e 's/"tokens_per_s":[^,}]*,\{0,1\}//' "$1"; }
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$0: $fails of $checks checks failed" >&2
        exit 1
    fi
    echo "$0: all $checks checks passed"
    exit 0
}
