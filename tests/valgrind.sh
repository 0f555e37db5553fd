#!/bin/sh
# valgrind.sh: memcheck over a representative subset of the tests: the core tests, a short
# GRPO run (tests/vg_grpo.lua) and a game playout. Any memory error or definite leak fails.
# Run from a configured build directory: `sh SRCDIR/tests/valgrind.sh` (srcdir is found from
# this script's path). The slow gradient checks (test_transformer, test_grpo) and the
# 1-vs-2-thread bitwise checks are left out: under valgrind OpenBLAS may choose different
# kernels per thread count, and memcheck is ~50x slower.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
srcdir=${srcdir:-$here}
export srcdir RLZERO_LUA_PATH="$srcdir/lua"
# one OpenMP thread keeps the run short and the thread-count comparisons consistent
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind is not installed"; exit 77
fi
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
failed=0
run() { # name, command...
    name=$1; shift
    start=$(date +%s)
    if ./libtool --mode=execute $vg "$@" > "valgrind-$name.log" 2>&1; then
        echo "PASS: $name ($(( $(date +%s) - start )) s)"
    else
        echo "FAIL: $name (exit $?): see valgrind-$name.log"; tail -n 30 "valgrind-$name.log"
        failed=$((failed + 1))
    fi
}
for t in test_rng test_spec test_ops test_adamw test_tokenizer test_checkpoint test_safetensors \
         test_generate; do
    run "$t" "tests/$t"
done
run grpo ./rlzero "$srcdir/tests/vg_grpo.lua"
echo "valgrind: $failed failed"
[ "$failed" = 0 ]
