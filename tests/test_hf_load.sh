#!/bin/sh
# Loads our export with Hugging Face transformers' LlamaForCausalLM and compares its logits
# with ours (tests/st_logits), tied and untied. Skipped (77) when python3 lacks torch or
# transformers.
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
python3 -c 'import torch, transformers' >/dev/null 2>&1 ||
    { echo "python3 lacks torch or transformers: skipped"; exit 77; }
bin=${top_builddir:-.}/tests/st_logits
tmp=test_hf_load.tmp.$$
rm -rf "$tmp" && mkdir -p "$tmp" || exit 99
tokens="1 5 9 3 36 0 7 7 2 12 30 4 4 4 18 11 6 20 2 33"
status=0
for tied in 0 1; do
    dir=$tmp/m$tied
    "$bin" export "$dir" $tied || exit 99
    "$bin" logits "$dir" $tokens >"$tmp/ours$tied.txt" || exit 99
    python3 - "$dir" "$tmp/ours$tied.txt" $tokens <<'PY' || status=1
import sys, torch
from transformers import LlamaForCausalLM
d, ours, toks = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
m = LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager")
m.eval()
with torch.no_grad():
    hf = m(torch.tensor([toks])).logits[0]
ref = torch.tensor([[float(x) for x in line.split()] for line in open(ours)])
err = (hf - ref).abs().max().item()
scale = ref.abs().max().item()
print(f"{d}: tied={m.config.tie_word_embeddings} max |hf - ours| = {err:.3g} (logits up to {scale:.3g})")
sys.exit(0 if hf.shape == ref.shape and err <= 1e-4 * max(1.0, scale) else 1)
PY
done
[ $status = 0 ] && rm -rf "$tmp"
exit $status
