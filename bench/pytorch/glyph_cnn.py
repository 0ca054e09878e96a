# PyTorch CPU reference for bench/cnn-cpu.ts: the glyph CNN of src/train/models.ts (3× conv3x3-
# relu-maxpool2 + fc 64 + relu, cls and box heads; cross-entropy + 4 × smooth-L1(beta 0.05);
# accuracy and box IoU metrics), AdamW, the same batch and threads. Serves timing rounds so
# the bench can interleave them with drivetrain's: reads "run N" lines on stdin, answers one
# JSON line {"ms_per_step": …} per round; "quit" ends. Starts with {"ready": …, "torch": …}.
import json, sys, time
import torch
import torch.nn.functional as F

threads, batch, size, width, classes = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)
w = width


class Glyph(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, w, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(w, 2 * w, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(2 * w, 2 * w, 3, padding=1)
        self.fc = torch.nn.Linear(2 * w * (size // 8) ** 2, 64)
        self.cls = torch.nn.Linear(64, classes)
        self.box = torch.nn.Linear(64, 4)

    def forward(self, x):
        for c in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(F.relu(c(x)), 2)
        x = F.relu(self.fc(torch.flatten(x, 1)))
        return self.cls(x), self.box(x)


def iou(p, t):
    def corners(b):
        return b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    a0, a1, a2, a3 = corners(p)
    b0, b1, b2, b3 = corners(t)
    inter = (torch.min(a2, b2) - torch.max(a0, b0)).clamp(min=0) * (torch.min(a3, b3) - torch.max(a1, b1)).clamp(min=0)
    area = lambda x0, y0, x1, y1: (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    union = area(a0, a1, a2, a3) + area(b0, b1, b2, b3) - inter
    return (inter / union.clamp(min=1e-6)).mean()


model = Glyph()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
n = 8
xs = torch.rand(n, batch, 1, size, size)
ys = torch.randint(0, classes, (n, batch))
bs = torch.rand(n, batch, 4) * 0.5 + 0.25


def step(i):
    x, y, b = xs[i % n], ys[i % n], bs[i % n]
    opt.zero_grad(set_to_none=True)
    logits, box = model(x)
    loss = F.cross_entropy(logits, y) + 4 * F.smooth_l1_loss(box, b, beta=0.05)
    loss.backward()
    opt.step()
    with torch.no_grad():
        acc = (logits.argmax(1) == y).float().mean()
        m = iou(box, b)
    return loss.item(), acc.item(), m.item()


for i in range(5):
    step(i)
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": threads}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    steps = int(cmd[1])
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    print(json.dumps({"ms_per_step": (time.perf_counter() - t0) / steps * 1000}), flush=True)
