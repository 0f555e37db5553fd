#!/bin/sh
# test_report.sh: `rlzero report` writes one self-contained page with a plot per metric
# and completions from the episode log; where Debian's chromium is installed, headless
# chromium renders it and the page's own count of drawn plots must match. (chromium is
# not a CI package: too big; without it that part is skipped.)
. "${srcdir:-.}/tests/run_common.sh"

"$RLZERO" "$srcdir/tests/make_run.lua" out="$WORK/g" steps=3 > /dev/null 2>&1
ok $? "GRPO run"
"$RLZERO" report "$WORK/g" --steps 1,3 > "$WORK/r.out"
ok $? "report"
page="$WORK/g/report.html"
[ -s "$page" ]
ok $? "report.html written"
for key in reward accuracy format language len_mean kl entropy clip_frac clip_low clip_high; do
    grep -q "data-key=\"$key\"" "$page"
    ok $? "plot of $key"
done
plots=$(grep -o '<path class="series" d="M[0-9]' "$page" | wc -l)
ok $((plots < 10)) "at least 10 drawn series (got $plots)"
grep -q "($plots plots)" "$WORK/r.out"
ok $? "the command says how many plots"
grep -q "<h3>step 1</h3>" "$page" && grep -q "<h3>step 3</h3>" "$page"
ok $? "completions at the chosen steps"
grep -Eiq '<(script|link|img)[^>]* (src|href)=' "$page"
ok $((! $?)) "no external resources"

# the SFT demo's run (no episodes) makes a report too
"$RLZERO" "$DEMO" steps=12 log_every=6 $TINY out="$WORK/d" > /dev/null 2>&1
"$RLZERO" report "$WORK/d" --out "$WORK/d.html" > /dev/null
ok $? "report of an SFT run"
grep -q 'data-key="loss"' "$WORK/d.html"
ok $? "with its loss plot"
"$RLZERO" report "$WORK/nowhere" > /dev/null 2>&1
ok $(($? != 1)) "a missing run directory exits 1"

browser=""
for b in chromium chromium-browser; do
    if command -v "$b" > /dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "chromium not installed: rendering skipped"
    [ "$fails" -ne 0 ] && finish
    echo "$0: all $checks checks passed (rendering skipped)"
    exit 77
fi
HOME="$WORK" timeout 60 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome" \
    --dump-dom "file://$page" > "$WORK/dom.html" 2> "$WORK/chrome.err"
ok $? "$browser renders the page"
drawn=$(sed -n 's/.*data-plots-drawn="\([0-9]*\)".*/\1/p' "$WORK/dom.html" | head -1)
ok $((${drawn:-0} != plots)) "the browser drew all $plots plots (it counted ${drawn:-none})"
finish
