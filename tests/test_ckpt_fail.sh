#!/bin/sh
# test_ckpt_fail.sh: a checkpoint write that fails (here: the file size limit, as a full
# disk would) leaves the previous checkpoint intact and says so; the run goes on, counts
# the failures, and a later run resumes from the kept checkpoint to the same result as an
# uninterrupted run.
. "${srcdir:-.}/tests/run_common.sh"
args="steps=30 log_every=10 $TINY"

"$RLZERO" "$DEMO" $args out="$WORK/a" > /dev/null 2>&1
ok $? "uninterrupted run"
RLZERO_STOP_AT_STEP=10 "$RLZERO" "$DEMO" $args out="$WORK/b" > /dev/null 2>&1
cp "$WORK/b/last.ckpt" "$WORK/kept.ckpt"
size=$(wc -c < "$WORK/kept.ckpt")
ok $((size < 30000)) "the checkpoint ($size bytes) is larger than the limit below"

# 16 blocks (8 KiB in dash's 512-byte blocks, 16 KiB in bash's): enough for the logs,
# too small for a checkpoint; SIGXFSZ ignored so the write fails with EFBIG instead
( trap '' XFSZ; ulimit -f 16 && exec "$RLZERO" "$DEMO" $args out="$WORK/b" ) > "$WORK/b.out" 2>&1
ok $? "the run survives failed checkpoint writes"
grep -q "checkpoint at step 20 not written" "$WORK/b.out"
ok $? "the failure is reported"
grep -q "the checkpoint of step 10 is kept" "$WORK/b.out"
ok $? "it says the previous checkpoint is kept"
cmp -s "$WORK/kept.ckpt" "$WORK/b/last.ckpt"
ok $? "the previous checkpoint is intact"
ls "$WORK/b" | grep -q '\.tmp\.'
ok $((! $?)) "no temporary file is left behind"
grep -q '"checkpoint_failures": 2' "$WORK/b/results.json"
ok $? "results.json counts the two failures"

"$RLZERO" "$DEMO" $args out="$WORK/b" > "$WORK/b2.out" 2>&1
ok $? "the next run"
grep -q "resuming .* at step 10" "$WORK/b2.out"
ok $? "resumes from the kept checkpoint"
cmp -s "$WORK/a/last.ckpt" "$WORK/b/last.ckpt"
ok $? "and ends where an uninterrupted run ends"
finish
