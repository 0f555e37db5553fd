#!/bin/sh
# test_mpi_grpo.sh: GRPO on two ranks equals one process cutting each minibatch's gradient
# into the same shards, bit for bit (checkpoint, metrics, episode log); only rank 0 writes.
. "${srcdir:-.}/tests/mpi_common.sh"

one out="$WORK/one" shards=2 > "$WORK/one.out" 2>&1
ok $? "one process, shards=2"
two out="$WORK/two" > "$WORK/two.out" 2>&1
ok $? "two ranks (shards = ranks)"
same_run "$WORK/one" "$WORK/two" "2 ranks vs 1 process"
cmp -s "$WORK/one/episodes.msgpack" "$WORK/two/episodes.msgpack"
ok $? "episode logs identical"
grep -q '"ranks": 2' "$WORK/two/results.json"
ok $? "the run had two ranks"
n=$(grep -c "results:" "$WORK/two.out")
ok $((n != 1)) "one rank prints (got $n result lines)"
# several shards per rank, uneven: rank 0 sums 3 parts, rank 1 4
one out="$WORK/one7" shards=7 > /dev/null 2>&1
ok $? "one process, shards=7"
two out="$WORK/two7" shards=7 > /dev/null 2>&1
ok $? "two ranks, shards=7"
same_run "$WORK/one7" "$WORK/two7" "shards=7"
# the shards change the sum order (a different, equally valid result); the test sees it
one out="$WORK/one1" > /dev/null 2>&1
cmp -s "$WORK/one1/last.ckpt" "$WORK/one/last.ckpt"
ok $((! $?)) "shards=1 and shards=2 differ in rounding (the test is not vacuous)"
two out="$WORK/bad" shards=1 > "$WORK/bad.out" 2>&1
ok $((! $?)) "shards below the ranks is refused"
grep -q "shards = 1 is fewer than the 2 ranks" "$WORK/bad.out"
ok $? "... with a message"
finish
