#!/bin/sh
# test_resume.sh: a demo run stopped after step K (the same path a Ctrl-C takes) and
# resumed equals an uninterrupted run bit for bit: the checkpoint files are identical and
# so are metrics.jsonl (timing fields aside) and results.json (wall time aside).
. "${srcdir:-.}/tests/run_common.sh"

"$RLZERO" "$DEMO" steps=30 log_every=10 $TINY out="$WORK/a" > "$WORK/a.out" 2>&1
ok $? "uninterrupted run"
for k in 7 10; do
    d="$WORK/b$k"
    RLZERO_STOP_AT_STEP=$k "$RLZERO" "$DEMO" steps=30 log_every=10 $TINY out="$d" > "$d.out1" 2>&1
    rc=$?
    ok $((rc != 3)) "stopped run exits 3 (got $rc)"
    grep -q "at step $k: checkpoint written" "$d.out1"
    ok $? "stopped run says where it stopped"
    n=$(wc -l < "$d/metrics.jsonl")
    ok $((n != k)) "stopped run logged $k steps (got $n)"
    "$RLZERO" "$DEMO" steps=30 log_every=10 $TINY out="$d" > "$d.out2" 2>&1
    ok $? "resumed run"
    grep -q "resuming .* at step $k" "$d.out2"
    ok $? "resumed from step $k"
    cmp -s "$WORK/a/last.ckpt" "$d/last.ckpt"
    ok $? "stop at $k: final checkpoint identical"
    untimed "$WORK/a/metrics.jsonl" > "$WORK/ma"
    untimed "$d/metrics.jsonl" > "$WORK/mb"
    cmp -s "$WORK/ma" "$WORK/mb"
    ok $? "stop at $k: metrics identical"
    grep -v wall_seconds "$WORK/a/results.json" > "$WORK/ra"
    grep -v wall_seconds "$d/results.json" > "$WORK/rb"
    cmp -s "$WORK/ra" "$WORK/rb"
    ok $? "stop at $k: results identical"
done
# fresh=true ignores the checkpoint and starts over
"$RLZERO" "$DEMO" steps=30 log_every=10 $TINY out="$WORK/a" fresh=true > "$WORK/a2.out" 2>&1
ok $? "fresh run"
grep -q resuming "$WORK/a2.out"
ok $((! $?)) "fresh=true does not resume"
finish
