#!/bin/sh
# test_mpi_fail.sh: a failure on one rank (a Lua error, an unreadable file) stops both
# ranks with its message, never a hang (timeout: a hang fails).
. "${srcdir:-.}/tests/mpi_common.sh"

for case in "1 error" "1 file" "0 error"; do
    set -- $case
    two out="$WORK/f$1$2" fail_rank=$1 fail=$2 steps=4 > "$WORK/f.out" 2>&1
    rc=$?
    ok $((rc == 0)) "rank $1, $2: the run fails (got $rc)"
    ok $((rc == 124)) "rank $1, $2: no hang"
    grep -q "rank $1 of 2\]: " "$WORK/f.out"
    ok $? "rank $1, $2: the message names the rank"
    if [ "$2" = file ]; then
        grep -q "no-such-file.ckpt" "$WORK/f.out"
    else
        grep -q "deliberate failure on rank $1 at step 2" "$WORK/f.out"
    fi
    ok $? "rank $1, $2: the failing rank's message is shown"
    [ "$fails" = 0 ] || cat "$WORK/f.out"
done
finish
