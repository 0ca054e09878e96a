# PyTorch side of test/optim-torch-parity.test.ts: reads cases (model, optimizer, initial state,
# batches) as JSON on stdin, trains each with torch.optim and prints per-step losses as JSON.
# Float32 tensors travel as base64 of little-endian bytes, so both sides start bit-identical.
import base64
import json
import sys
from collections import OrderedDict

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def tensor(t):
    dt = {'float32': '<f4', 'int64': '<i8'}[t['dtype']]
    a = np.frombuffer(base64.b64decode(t['data']), dtype=dt).reshape(t['shape'])
    return torch.from_numpy(a.copy())


def model_of(kind):
    if kind == 'mlp':
        return nn.Sequential(OrderedDict(fc1=nn.Linear(20, 32), act=nn.ReLU(), fc2=nn.Linear(32, 10)))
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(1, 4, 3, padding=1, bias=False), bn=nn.BatchNorm2d(4), act=nn.ReLU(),
        pool=nn.MaxPool2d(2), flat=nn.Flatten(), head=nn.Linear(4 * 4 * 4, 10)))


def optimizer_of(o, params):
    if o['kind'] == 'sgd':
        return torch.optim.SGD(params, lr=o['lr'], momentum=o['momentum'], nesterov=o['nesterov'], weight_decay=o['weightDecay'])
    return torch.optim.AdamW(params, lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'], weight_decay=o['weightDecay'])


def run(case):
    model = model_of(case['model'])
    state = {k.split('.', 1)[1]: tensor(v) for k, v in case['state'].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise SystemExit(f"state names differ: missing {missing}, unexpected {unexpected}")
    model.train()
    opt = optimizer_of(case['optimizer'], model.parameters())
    losses = []
    for b in case['batches']:
        x, y = tensor(b['x']), tensor(b['y'])
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


cases = json.load(sys.stdin)
print(json.dumps({'torch': torch.__version__, 'losses': [run(c) for c in cases]}))
