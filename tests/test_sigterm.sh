#!/bin/sh
# test_sigterm.sh: SIGTERM (then SIGINT) mid-run writes a checkpoint and exits 143 (130);
# re-running the same command finishes with the same parameters as an uninterrupted run.
. "${srcdir:-.}/tests/run_common.sh"
STEPS=3000
args="steps=$STEPS log_every=50 $TINY"

"$RLZERO" "$DEMO" $args out="$WORK/a" > /dev/null 2>&1
ok $? "uninterrupted run"

for sig in TERM INT; do
    d="$WORK/$sig"
    "$RLZERO" "$DEMO" $args out="$d" > "$d.out" 2>&1 &
    pid=$!
    # wait (bounded: 20 s) for the first checkpoint, then interrupt
    i=0
    while [ ! -f "$d/last.ckpt" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$sig" = TERM ]; then want=143; else want=130; fi
    if grep -q "^results:" "$d.out"; then
        # the run finished before the signal came (a very fast machine): nothing to test
        echo "note: the run finished before SIG$sig arrived"
        continue
    fi
    ok $((rc != want)) "SIG$sig: exit status $want (got $rc)"
    grep -q "SIG$sig at step [0-9]*: checkpoint written" "$d.out"
    ok $? "SIG$sig: says it wrote a checkpoint"
    "$RLZERO" "$DEMO" $args out="$d" > "$d.out2" 2>&1
    ok $? "SIG$sig: resumed run"
    grep -q "resuming" "$d.out2"
    ok $? "SIG$sig: it resumed"
    cmp -s "$WORK/a/last.ckpt" "$d/last.ckpt"
    ok $? "SIG$sig: final checkpoint identical to the uninterrupted run's"
    untimed "$WORK/a/metrics.jsonl" > "$WORK/ma"
    untimed "$d/metrics.jsonl" > "$WORK/mb"
    cmp -s "$WORK/ma" "$WORK/mb"
    ok $? "SIG$sig: metrics identical"
done
finish
