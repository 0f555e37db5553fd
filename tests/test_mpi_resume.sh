#!/bin/sh
# test_mpi_resume.sh: a two-rank run stopped after step 2 and resumed on two ranks ends
# where an uninterrupted run does (GRPO and self-play).
. "${srcdir:-.}/tests/mpi_common.sh"

for mode in grpo selfplay; do
    one out="$WORK/$mode-one" mode=$mode steps=4 shards=2 > /dev/null 2>&1
    ok $? "$mode: uninterrupted, one process"
    RLZERO_STOP_AT_STEP=2 two out="$WORK/$mode" mode=$mode steps=4 > "$WORK/$mode.out1" 2>&1
    rc=$?
    ok $((rc != 3)) "$mode: stopped two-rank run exits 3 (got $rc)"
    grep -q "at step 2: checkpoint written" "$WORK/$mode.out1"
    ok $? "$mode: says where it stopped"
    two out="$WORK/$mode" mode=$mode steps=4 > "$WORK/$mode.out2" 2>&1
    ok $? "$mode: resumed on two ranks"
    grep -q "resuming .* at step 2" "$WORK/$mode.out2"
    ok $? "$mode: resumed from step 2"
    same_run "$WORK/$mode-one" "$WORK/$mode" "$mode: stopped and resumed on 2 ranks vs 1 process"
done
finish
