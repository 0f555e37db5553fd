#!/bin/sh
# test_mpi_selfplay.sh: self-play on two ranks (each plays half of the start positions)
# equals one process bit for bit.
. "${srcdir:-.}/tests/mpi_common.sh"

one out="$WORK/one" mode=selfplay > "$WORK/one.out" 2>&1
ok $? "one process"
two out="$WORK/two" mode=selfplay > "$WORK/two.out" 2>&1
ok $? "two ranks"
same_run "$WORK/one" "$WORK/two" "self-play, 2 ranks vs 1"
grep -q '"grad_norm":0\.[0-9]*[1-9]' "$WORK/one/metrics.jsonl"
ok $? "the policy is trained (a non-zero gradient)"
finish
