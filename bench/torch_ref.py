#!/usr/bin/env python3
"""torch_ref.py: the PyTorch CPU reference that rlzero's transformer speed is reported against.

The same Llama-style model as core/transformer.c, written out by hand (no `transformers`):
token embedding, L pre-norm layers of RMSNorm (eps 1e-5) + causal multi-head attention with
RoPE (theta 10000, rotate-half as Hugging Face Llama) + RMSNorm + SwiGLU MLP (hidden = 8C/3
rounded up to a multiple of 32 unless given), no biases, a final RMSNorm and an untied lm head.

Measures, in tokens per second (median of several timed repeats after warm-up):
  train_step    forward + backward + AdamW step of the next-token cross-entropy on (B, T)
  train_fwdbwd  forward + backward only (what bench_transformer's training figure times)
  sample        KV-cache sampling: a short prompt, then new tokens one position at a time
                (temperature 1 by default, --greedy for argmax) up to T; counts new tokens,
                prompt prefill time included

Prints one JSON object per line (impl, name, size, dim, layers, heads, hidden, vocab, T,
batch, threads, tokens_per_s, repeats). Exits 77 when torch is not importable.

usage: torch_ref.py [--seconds S] [--sizes 128x4x4,256x6x8] [--batches 1,16,64] ...
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # ImportError, or a broken install failing to load its libraries
    print("torch_ref.py: PyTorch is not importable (%s: %s): skipped"
          % (type(e).__name__, e), file=sys.stderr)
    sys.exit(77)


def llama_hidden(dim):
    return (8 * dim // 3 + 31) // 32 * 32


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(hd, T, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd)
    return emb.cos(), emb.sin()


# scaled_dot_product_attention arrived in torch 2.0; older ones get the explicit softmax
HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.nh, self.hd = heads, dim // heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)  # (B, NH, T, hd)
        k = self.k_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        causal = True
        if cache is not None:
            kc, vc = cache  # (B, NH, Tmax, hd) each, preallocated
            kc[:, :, pos:pos + T] = k
            vc[:, :, pos:pos + T] = v
            k, v = kc[:, :, :pos + T], vc[:, :, :pos + T]
            causal = T > 1  # one new query sees every cached position
            if causal and pos > 0:
                raise ValueError("prefill must start at position 0")
        if HAVE_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
            if causal:
                mask = torch.ones(T, T, dtype=torch.bool).triu(1)
                att = att.masked_fill(mask, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.input_layernorm = RMSNorm(dim, eps)
        self.self_attn = Attention(dim, heads)
        self.post_attention_layernorm = RMSNorm(dim, eps)
        self.mlp = MLP(dim, hidden)

    def forward(self, x, cos, sin, cache=None, pos=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, pos)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, vocab, dim, layers, heads, hidden=0, context=128, tied=False,
                 rope_theta=10000.0, eps=1e-5):
        super().__init__()
        if dim % heads or (dim // heads) % 2:
            raise ValueError("dim must be a multiple of heads with an even head size")
        self.hidden = hidden or llama_hidden(dim)
        self.context, self.nh, self.hd = context, heads, dim // heads
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(Layer(dim, heads, self.hidden, eps) for _ in range(layers))
        self.norm = RMSNorm(dim, eps)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        if tied:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rope_tables(self.hd, context, rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        # rlzero's init: N(0, 0.02), residual output projections scaled by 1/sqrt(2L)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02
                    if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                        std /= math.sqrt(2 * layers)
                    p.normal_(0.0, std)

    def forward(self, tokens, caches=None, pos=0):
        T = tokens.shape[1]
        if pos + T > self.context:
            raise ValueError("sequence longer than the context")
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        x = self.embed_tokens(tokens)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], pos)
        return self.lm_head(self.norm(x))

    def new_cache(self, B, T):
        shape = (B, self.nh, T, self.hd)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in self.layers]


@torch.no_grad()
def generate(model, prompt, T, greedy, gen):
    """prompt (B, P) -> (B, T) tokens: one prefill forward, then one position at a time."""
    B, P = prompt.shape
    caches = model.new_cache(B, T)
    out = torch.empty(B, T, dtype=torch.long)
    out[:, :P] = prompt
    logits = model(prompt, caches, 0)[:, -1]
    for p in range(P, T):
        if greedy:
            nxt = logits.argmax(-1)
        else:
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=gen).squeeze(1)
        out[:, p] = nxt
        if p + 1 < T:
            logits = model(nxt.view(B, 1), caches, p)[:, -1]
    return out


def timed(fn, warmup, repeats, seconds):
    """Runs warmup() untimed, then `repeats` timed repeats of fn() (which returns the work
    units it did), each at least seconds/repeats long; returns the units/s of each repeat."""
    warmup()
    rates, per = [], seconds / repeats
    for _ in range(repeats):
        units, t0 = 0, time.perf_counter()
        while True:
            units += fn()
            t = time.perf_counter() - t0
            if t >= per:
                break
        rates.append(units / t)
    return rates


def check_cache(model, vocab, T):
    """Decoding with the cache must give the logits of the full causal forward."""
    g = torch.Generator().manual_seed(2)
    toks = torch.randint(vocab, (3, T), generator=g)
    with torch.no_grad():
        full = model(toks)
        caches = model.new_cache(3, T)
        P = T // 4
        steps = [model(toks[:, :P], caches, 0)]
        steps += [model(toks[:, p:p + 1], caches, p) for p in range(P, T)]
        err = (torch.cat(steps, dim=1) - full).abs().max().item()
    if not err < 1e-4:
        raise SystemExit("torch_ref.py: KV-cache decode differs from forward by %g" % err)
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    ap.add_argument("--warmup", type=int, default=2, help="untimed training iterations first")
    ap.add_argument("--sizes", default="128x4x4,256x6x8", help="DIMxLAYERSxHEADS,...")
    ap.add_argument("--hidden", type=int, default=0, help="SwiGLU width, 0 = Llama's rule")
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--context", type=int, default=128, help="T: training length, decode end")
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--batches", default="1,16,64", help="sampling batch sizes")
    ap.add_argument("--prompt", type=int, default=8, help="prompt length before sampling")
    ap.add_argument("--greedy", action="store_true", help="argmax instead of temperature 1")
    ap.add_argument("--workloads", default="train_step,train_fwdbwd,sample")
    ap.add_argument("--check", action="store_true", help="verify cached decode == forward first")
    a = ap.parse_args()

    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.strip():
        torch.set_num_threads(max(1, int(env.split(",")[0])))
    threads = torch.get_num_threads()
    torch.manual_seed(1)
    work = set(a.workloads.split(","))
    T, B, V = a.context, a.train_batch, a.vocab
    if not 0 < a.prompt < T:
        ap.error("--prompt must be in 1..context-1")

    for spec in a.sizes.split(","):
        dim, layers, heads = (int(x) for x in spec.lower().split("x"))
        model = Llama(V, dim, layers, heads, a.hidden, T)
        base = {
            "impl": "pytorch", "torch": torch.__version__,
            "size": "C%d L%d NH%d" % (dim, layers, heads), "dim": dim, "layers": layers,
            "heads": heads, "hidden": model.hidden, "vocab": V, "T": T, "threads": threads,
            "params": sum(p.numel() for p in model.parameters()),
        }

        def emit(name, batch, rates, **extra):
            rec = dict(base, name=name, batch=batch, tokens_per_s=statistics.median(rates),
                       repeats=[round(r, 1) for r in rates], **extra)
            print(json.dumps(rec), flush=True)

        if a.check:
            emit_err = check_cache(model, V, T)
            print(json.dumps(dict(base, name="check_cache", max_abs_err=emit_err)), flush=True)

        g = torch.Generator().manual_seed(1)
        data = torch.randint(V, (B, T + 1), generator=g)
        x, y = data[:, :-1], data[:, 1:]
        # rlzero's AdamW defaults, so the optimizer's per-parameter work is the same kind
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
                                weight_decay=0.1)

        def train(step):
            def fn():
                opt.zero_grad(set_to_none=False)
                loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
                loss.backward()
                if step:
                    opt.step()
                return B * T
            return fn

        model.train()
        if "train_step" in work:
            fn = train(True)
            emit("train_step", B, timed(fn, lambda: [fn() for _ in range(a.warmup)],
                                        a.repeats, a.seconds))
        if "train_fwdbwd" in work:
            fn = train(False)
            emit("train_fwdbwd", B, timed(fn, lambda: [fn() for _ in range(a.warmup)],
                                          a.repeats, a.seconds))
        model.eval()
        if "sample" in work:
            for nb in (int(s) for s in a.batches.split(",")):
                prompt = torch.randint(V, (nb, a.prompt), generator=g)

                def fn():
                    generate(model, prompt, T, a.greedy, g)
                    return nb * (T - a.prompt)
                # a whole generation is long at batch 64: warm up on a few positions only
                warm = lambda: generate(model, prompt, min(T, a.prompt + 4), a.greedy, g)
                emit("sample", nb, timed(fn, warm, a.repeats, a.seconds), prompt=a.prompt,
                     new_tokens=T - a.prompt, greedy=a.greedy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
