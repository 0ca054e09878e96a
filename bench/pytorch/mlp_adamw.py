# PyTorch CPU reference for bench/engine-mlp.ts: 784-256-10 MLP, batch 128, AdamW, cross-entropy.
# Prints one JSON line {"ms_per_step": …, "torch": version, "threads": n}.
import json, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randn(2048, 784)
y = torch.randint(0, 10, (2048,))

def step(i):
    s = (i * 128) % 2048
    xb, yb = x[s:s + 128], y[s:s + 128]
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    return loss.item()

for i in range(30):
    step(i)
best = float('inf')
for r in range(3):
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    best = min(best, (time.perf_counter() - t0) / steps * 1000)
print(json.dumps({"ms_per_step": best, "torch": torch.__version__, "threads": threads}))
