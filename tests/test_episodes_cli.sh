#!/bin/sh
# test_episodes_cli.sh: a tiny GRPO run (tests/make_run.lua, beta = 0) logs its episodes;
# stopped after step 2 and resumed it equals an uninterrupted run bit for bit (checkpoint,
# episode log, metrics); `rlzero episodes` prints the log readably and as JSON lines and
# refuses a truncated log with a clear message. With beta > 0 the KL reference is saved
# with each checkpoint and a twice-interrupted run still equals the uninterrupted one.
. "${srcdir:-.}/tests/run_common.sh"
RUN="$srcdir/tests/make_run.lua"
# timing fields of the GRPO metrics differ between any two runs
untimed_grpo() { sed -e 's/"\(gen_tokens_per_s\|gen_seconds\|update_seconds\|step_seconds\)":[^,}]*,\{0,1\}//g' "$1"; }

"$RLZERO" "$RUN" out="$WORK/a" steps=4 > "$WORK/a.out" 2>&1
ok $? "GRPO run"
RLZERO_STOP_AT_STEP=2 "$RLZERO" "$RUN" out="$WORK/b" steps=4 > "$WORK/b.out" 2>&1
ok $(($? != 3)) "GRPO run stopped after step 2"
"$RLZERO" "$RUN" out="$WORK/b" steps=4 > "$WORK/b2.out" 2>&1
ok $? "GRPO run resumed"
cmp -s "$WORK/a/last.ckpt" "$WORK/b/last.ckpt"
ok $? "GRPO resume: identical checkpoint"
cmp -s "$WORK/a/episodes.msgpack" "$WORK/b/episodes.msgpack"
ok $? "GRPO resume: identical episode log"
untimed_grpo "$WORK/a/metrics.jsonl" > "$WORK/ma"
untimed_grpo "$WORK/b/metrics.jsonl" > "$WORK/mb"
cmp -s "$WORK/ma" "$WORK/mb"
ok $? "GRPO resume: identical metrics"

# beta > 0 (and a language reward, so that rewards differ and the policy moves): stopped at step 2 (the reference is still the initial policy) and at step 4
# (the reference is the policy after update 3, ref_reset = 3), resumed each time
KL="steps=5 beta=0.2 ref_reset=3 w_language=1"
"$RLZERO" "$RUN" out="$WORK/k" $KL > "$WORK/k.out" 2>&1
ok $? "GRPO run with beta > 0"
RLZERO_STOP_AT_STEP=2 "$RLZERO" "$RUN" out="$WORK/kr" $KL > "$WORK/kr1.out" 2>&1
ok $(($? != 3)) "beta > 0: stopped after step 2"
RLZERO_STOP_AT_STEP=4 "$RLZERO" "$RUN" out="$WORK/kr" $KL > "$WORK/kr2.out" 2>&1
ok $(($? != 3)) "beta > 0: resumed, stopped after step 4"
"$RLZERO" "$RUN" out="$WORK/kr" $KL > "$WORK/kr3.out" 2>&1
ok $? "beta > 0: resumed to the end"
cmp -s "$WORK/k/last.ckpt" "$WORK/kr/last.ckpt"
ok $? "beta > 0 resume: identical checkpoint"
cmp -s "$WORK/k/ref-5.ckpt" "$WORK/kr/ref-5.ckpt"
ok $? "beta > 0 resume: identical reference"
untimed_grpo "$WORK/k/metrics.jsonl" > "$WORK/mk"
untimed_grpo "$WORK/kr/metrics.jsonl" > "$WORK/mkr"
cmp -s "$WORK/mk" "$WORK/mkr"
ok $? "beta > 0 resume: identical metrics (KL included)"
refs=$(cd "$WORK/kr" && ls ref-*.ckpt | tr '\n' ' ')
ok $([ "$refs" = "ref-5.ckpt " ]; echo $?) "only the last checkpoint's reference is kept (got: $refs)"

"$RLZERO" episodes "$WORK/a" > "$WORK/all.txt"
ok $? "episodes prints"
n=$(grep -c '^step [0-9]*  group' "$WORK/all.txt")
ok $((n != 48)) "4 steps x 3 prompts x 4 samples = 48 episodes (got $n)"
grep -q "^  completion: " "$WORK/all.txt"
ok $? "completions shown"
"$RLZERO" episodes "$WORK/a" --step 3 --json > "$WORK/s3.jsonl"
ok $? "episodes --json"
n=$(grep -c '"step":3' "$WORK/s3.jsonl")
m=$(wc -l < "$WORK/s3.jsonl")
ok $((n != 12 || m != 12)) "--step 3: 12 JSON lines (got $n of $m)"
F="$WORK/s3.jsonl" "$RLZERO" -e '
  local rz = require "rlzero"
  local n, adv = 0, 0
  for line in io.lines(os.getenv("F")) do
    local e = rz.json_decode(line)
    assert(e.prompt and e.completion and e.reward and e.accuracy and e.format and e.language, line)
    n = n + 1
    if e.advantage then adv = adv + 1 end
  end
  assert(n == 12 and adv == 12, "every line parses and has an advantage")'
ok $? "JSON lines parse, with advantages"
"$RLZERO" episodes "$WORK/a" --step 99 > /dev/null 2>&1
ok $(($? != 1)) "a step with no episodes exits 1"

size=$(wc -c < "$WORK/a/episodes.msgpack")
head -c $((size - 5)) "$WORK/a/episodes.msgpack" > "$WORK/trunc.msgpack"
"$RLZERO" episodes "$WORK/trunc.msgpack" > "$WORK/t.out" 2> "$WORK/t.err"
ok $(($? != 1)) "a truncated log exits 1"
grep -q "truncated at byte .* (after 47 complete episodes)" "$WORK/t.err"
ok $? "and says where: $(cat "$WORK/t.err")"
printf 'not msgpack at all' > "$WORK/junk.msgpack"
"$RLZERO" episodes "$WORK/junk.msgpack" > /dev/null 2> "$WORK/j.err"
ok $(($? != 1)) "a foreign file exits 1"
grep -q "rlzero episodes: " "$WORK/j.err"
ok $? "with a message"
"$RLZERO" episodes "$WORK/nowhere" > /dev/null 2>&1
ok $(($? != 1)) "a missing run directory exits 1"
"$RLZERO" episodes > /dev/null 2>&1
ok $(($? != 2)) "no arguments is a usage error"
finish
