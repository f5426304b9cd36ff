"""Why is bf16/fp16 autocast fine-tuning slower than fp32 on the H200? Fixed vs varying shapes, and a profile."""
import time, sys, torch
from biobert.encoders import load_token_classifier
from biobert.pipeline import default_tagger_path
from biobert.device import autocast
dev = torch.device("cuda")
print("tf32 matmul", torch.backends.cuda.matmul.allow_tf32, torch.get_float32_matmul_precision(), flush=True)
m = load_token_classifier(str(default_tagger_path()), ["O", "B-X", "I-X"]).to(dev)
print("attn", m.config._attn_implementation, flush=True)
opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
def step(L, p, B=32):
    ids = torch.randint(1000, 20000, (B, L), device=dev); mask = torch.ones_like(ids); mask[:, L - L // 4:] = 0
    lab = torch.randint(0, 3, (B, L), device=dev)
    with autocast(dev, p):
        lg = m(input_ids=ids, attention_mask=mask).logits
    loss = torch.nn.functional.cross_entropy(lg.float().view(-1, 3), lab.view(-1))
    loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    return float(loss)
def timed(fn):
    torch.cuda.synchronize(); t = time.perf_counter(); fn(); torch.cuda.synchronize(); return time.perf_counter() - t
for p in ["fp32", "bf16", "fp16"]:
    step(128, p)
    fixed = timed(lambda: [step(128, p) for _ in range(30)]) / 30
    new = timed(lambda: [step(L, p) for L in range(20, 80)]) / 60   # 60 shapes never seen
    seen = timed(lambda: [step(L, p) for L in range(20, 80)]) / 60  # the same shapes again
    print(f"{p}: fixed 128 {1000*fixed:.1f} ms/step, new shapes {1000*new:.1f}, seen shapes {1000*seen:.1f}", flush=True)
from torch.profiler import profile, ProfilerActivity
for p in ["fp32", "bf16"]:
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for L in range(81, 91): step(L, p)
    print(f"=== profile {p}, 10 new shapes", flush=True)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), flush=True)
