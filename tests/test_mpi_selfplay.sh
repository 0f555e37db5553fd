#!/bin/sh
# test_mpi_selfplay.sh: self-play on two ranks (each plays half of the start positions,
# and decides the exact values of its own games) equals one process bit for bit.
. "${srcdir:-.}/tests/mpi_common.sh"

one out="$WORK/one" mode=selfplay > "$WORK/one.out" 2>&1
ok $? "one process"
two out="$WORK/two" mode=selfplay > "$WORK/two.out" 2>&1
ok $? "two ranks"
same_run "$WORK/one" "$WORK/two" "self-play, 2 ranks vs 1"
grep -q '"grad_norm":0\.[0-9]*[1-9]' "$WORK/one/metrics.jsonl"
ok $? "the policy is trained (a non-zero gradient)"
# exact value targets: each rank decides the positions of its own games, then they swap
one out="$WORK/one_s" mode=selfplay solve_nodes=300 > "$WORK/one_s.out" 2>&1
ok $? "one process, exact targets"
two out="$WORK/two_s" mode=selfplay solve_nodes=300 > "$WORK/two_s.out" 2>&1
ok $? "two ranks, exact targets"
same_run "$WORK/one_s" "$WORK/two_s" "self-play with exact targets, 2 ranks vs 1"
grep -q '"solved":0\.[0-9]*[1-9]' "$WORK/one_s/metrics.jsonl"
ok $? "some decisions, not all, get exact targets"
finish
