# PyTorch CUDA reference for bench/gpu.ts: the same models, batch sizes and optimizer, data resident
# on the GPU (a random row of a resident dataset per step), fp32 with TF32 off or on.
# Usage: python3 bench/gpu_reference.py check
#        python3 bench/gpu_reference.py mlp|cnn BATCH STEPS tf32|fp32
# Prints one JSON line; `check` exits 2 with {"missing": reason} when torch or CUDA is absent.
import json, sys, time

def missing(reason):
    print(json.dumps({"missing": reason}))
    sys.exit(2)

try:
    import torch
except Exception as e:  # noqa: BLE001
    missing(f"python3 cannot import torch ({type(e).__name__}: {e})")
if not torch.cuda.is_available():
    missing(f"torch {torch.__version__} sees no CUDA device")
if sys.argv[1] == "check":
    print(json.dumps({"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}))
    sys.exit(0)

kind, batch, steps, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
torch.backends.cudnn.allow_tf32 = mode == "tf32"
torch.manual_seed(0)
dev = torch.device("cuda")
nn = torch.nn
N = 8192

if kind == "mlp":
    model = nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10)).to(dev)
    x = torch.randn(N, 1024, device=dev)
    y = torch.randint(0, 10, (N,), device=dev)

    def loss_fn(idx):
        return nn.functional.cross_entropy(model(x[idx]), y[idx])
else:  # glyph CNN of src/train/models.ts (size 32, 12 classes, width 16): cls + box heads
    w = 16
    body = nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * w * 16, 64), nn.ReLU()).to(dev)
    cls, box = nn.Linear(64, 12).to(dev), nn.Linear(64, 4).to(dev)
    model = nn.ModuleList([body, cls, box])
    x = torch.randint(0, 256, (N, 1, 32, 32), device=dev, dtype=torch.uint8)
    y = torch.randint(0, 12, (N,), device=dev)
    b = torch.rand(N, 4, device=dev)

    def loss_fn(idx):
        h = body(x[idx].float() * (1 / 255))
        return nn.functional.cross_entropy(cls(h), y[idx]) + 4 * nn.functional.smooth_l1_loss(box(h), b[idx], beta=0.05)

opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
gen = torch.Generator(device=dev).manual_seed(0)

def step():
    idx = torch.randint(0, N, (batch,), device=dev, generator=gen)
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(idx)
    loss.backward()
    opt.step()
    return loss

for _ in range(10):
    step()
torch.cuda.synchronize()
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()  # one host sync per round: PyTorch's best case (drivetrain reads the loss every step)
    torch.cuda.synchronize()
    best = min(best, (time.perf_counter() - t0) / steps)
print(json.dumps({"ms_per_step": best * 1000, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "mode": mode}))
