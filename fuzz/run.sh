#!/bin/sh
# run.sh: runs every libFuzzer target for SECONDS (default 25) from a build configured with
# --enable-fuzz CC=clang, after `make fuzz`. Each starts from its corpus in the source tree
# (fuzz/corpus/NAME; the graders' is tests/data/nasty); what it discovers goes to a scratch
# corpus under fuzz-work/, a crashing input to fuzz-work/NAME-crash-*. Non-zero on any crash.
# Keep each crash's input: fix the bug, then add the file to fuzz/corpus/NAME.
#   sh SRCDIR/fuzz/run.sh [SECONDS] [TARGET...]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-25}
[ $# -gt 0 ] && shift
targets=${*:-"checkpoint safetensors tokenizer override episodes arith countdown linear rpn_eval rpn_write reverse"}
mkdir -p fuzz-work
failed=0
for t in $targets; do
    case $t in
        checkpoint|safetensors|tokenizer|override|episodes) seeds="$here/fuzz/corpus/$t" ;;
        *) seeds="$here/tests/data/nasty" ;;
    esac
    mkdir -p "fuzz-work/$t"
    # -rss_limit_mb: a loader that tries to allocate what a tiny file cannot justify is a bug
    if "fuzz/fuzz_$t" -max_total_time="$secs" -runs=5000000 -rss_limit_mb=1024 -malloc_limit_mb=512 \
        -timeout=10 -print_final_stats=0 -artifact_prefix="fuzz-work/$t-" \
        "fuzz-work/$t" "$seeds" > "fuzz-work/$t.log" 2>&1; then
        echo "PASS: fuzz_$t ($(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "fuzz-work/$t.log") runs)"
    else
        echo "FAIL: fuzz_$t: see fuzz-work/$t.log"; grep -A30 '^==\|^SUMMARY\|ERROR' "fuzz-work/$t.log" | head -n 60
        failed=$((failed + 1))
    fi
done
echo "fuzz: $failed failed"
[ "$failed" = 0 ]
