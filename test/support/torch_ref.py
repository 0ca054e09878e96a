#!/usr/bin/env python3
"""PyTorch reference for the ResNet tests (Debian python3-torch / python3-torchvision).

  backbone OUT.pth --layers 1,1 --width 8 --channels 1 --stem small --classes 5 --seed 0
      a torchvision-named ResNet (torchvision's BasicBlock) with non-trivial BatchNorm statistics,
      saved with torch.save(state_dict) as a pretrained checkpoint would be.
  check WEIGHTS.safetensors INPUT.f32 --shape 2,1,32,32 --layers 1,1 --width 8 --channels 1
        --stem small --classes 12 --task detection
      builds the same architecture as drivetrain's Detector / Classifier, loads the weights with
      load_state_dict(strict=True), prints its eval-mode outputs on the input as JSON.
  verify MODEL.onnx WEIGHTS.safetensors IMAGE… OUT.f32 --layers … --classes 4 --task detection
      an independent reading of an export: onnx.checker, the classes and preprocessing from the
      ONNX metadata, the images decoded with PIL and preprocessed from that metadata (written to
      OUT.f32 for onnxruntime), and the weights loaded strictly into the PyTorch architecture;
      prints the metadata and PyTorch's outputs as JSON.
  torchvision OUTDIR --size 32 --classes 10 --seed 0
      torchvision.models.resnet18 with random weights and BN statistics: OUTDIR/resnet18.safetensors,
      input.f32 (1, 3, size, size), logits.json; plus resnet34's state_dict names and shapes.
"""
import argparse
import json
import runpy
import struct
import sys

import torch
from torch import nn
from torchvision.models import resnet18, resnet34
from torchvision.models.resnet import BasicBlock, conv1x1

DT = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8}
DT_NAME = {v: k for k, v in DT.items()}


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        raw = t.detach().cpu().contiguous().numpy().tobytes()
        header[k] = {'dtype': DT_NAME[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def load_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        t = torch.frombuffer(bytearray(body[a:b]), dtype=DT[v['dtype']]) if b > a else torch.empty(0, dtype=DT[v['dtype']])
        out[k] = t.reshape(v['shape'])
    return out


class ResNet(nn.Module):
    """torchvision's ResNet layout and names with any width and stage count, and a 'small' stem."""

    def __init__(self, layers, width, channels, stem, num_classes=None):
        super().__init__()
        big = stem == 'imagenet'
        self.conv1 = nn.Conv2d(channels, width, 7 if big else 3, stride=2 if big else 1, padding=3 if big else 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if big else nn.Identity()
        inplanes = width
        self.stages = []
        for i, n in enumerate(layers):
            planes, stride = width * 2 ** i, 1 if i == 0 else 2
            down = None if stride == 1 and inplanes == planes else nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
            blocks = [BasicBlock(inplanes, planes, stride, down)] + [BasicBlock(planes, planes) for _ in range(n - 1)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
            self.stages.append(f'layer{i + 1}')
            inplanes = planes
        self.features = inplanes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        if num_classes:
            self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for s in self.stages:
            x = getattr(self, s)(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x) if hasattr(self, 'fc') else x


class Heads(nn.Module):
    def __init__(self, f, c):
        super().__init__()
        self.cls = nn.Linear(f, c)
        self.box = nn.Linear(f, 4)


class Model(nn.Module):
    """drivetrain's Detector (head.cls + head.box) or Classifier (head = Linear)."""

    def __init__(self, backbone, classes, task):
        super().__init__()
        self.backbone = backbone
        self.task = task
        self.head = Heads(backbone.features, classes) if task == 'detection' else nn.Linear(backbone.features, classes)

    def forward(self, x):
        f = self.backbone(x)
        return {'cls': self.head.cls(f), 'box': self.head.box(f)} if self.task == 'detection' else {'output': self.head(f)}


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 1 + 0.2 * torch.randn(c, generator=gen)
            m.bias.data = 0.2 * torch.randn(c, generator=gen)
            m.running_mean = 0.3 * torch.randn(c, generator=gen)
            m.running_var = 0.5 + torch.rand(c, generator=gen)
            m.num_batches_tracked.fill_(100)


def verify(a):
    import onnx
    from PIL import Image
    onnx_file, weights, *images, out = a.paths
    m = onnx.load(onnx_file)
    onnx.checker.check_model(m)
    meta = {p.key: p.value for p in m.metadata_props}
    classes = json.loads(meta['classes'])
    pre = json.loads(meta['preprocessing'])
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    rows = []
    for f in images:
        img = Image.open(f).convert('L' if pre['channels'] == 1 else 'RGB').resize((pre['width'], pre['height']))
        px = torch.tensor(list(img.getdata()), dtype=torch.float64).reshape(pre['height'], pre['width'], pre['channels']).permute(2, 0, 1)
        mean = torch.tensor(pre['mean'], dtype=torch.float64).reshape(-1, 1, 1)
        std = torch.tensor(pre['std'], dtype=torch.float64).reshape(-1, 1, 1)
        rows.append(((px * pre['scale'] - mean) / std).float())
    x = torch.stack(rows)
    with open(out, 'wb') as f:
        f.write(x.numpy().tobytes())
    model = Model(ResNet(a.layers, a.width, a.channels, a.stem), len(classes), a.task).eval()
    model.load_state_dict(load_safetensors(weights), strict=True)
    with torch.no_grad():
        y = model(x)
    print(json.dumps({'classes': classes, 'preprocessing': pre, 'task': meta.get('task'), 'input': m.graph.input[0].name, 'dims': dims,
                      'outputs': [o.name for o in m.graph.output], 'shape': list(x.shape), 'torch': {k: v.flatten().tolist() for k, v in y.items()}}))


def ints(s):
    return [int(x) for x in s.split(',')]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('cmd')
    p.add_argument('paths', nargs='*')
    p.add_argument('--layers', type=ints, default=[2, 2, 2, 2])
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--channels', type=int, default=3)
    p.add_argument('--stem', default='imagenet')
    p.add_argument('--classes', type=int, default=0)
    p.add_argument('--task', default='detection')
    p.add_argument('--shape', type=ints)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--convert')
    a = p.parse_args()
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    if a.cmd == 'backbone':
        net = ResNet(a.layers, a.width, a.channels, a.stem, a.classes or None)
        randomize_bn(net, gen)
        torch.save(net.state_dict(), a.paths[0])
        if a.convert:  # the converter users run (scripts/pth-to-safetensors.py), in this process
            sys.argv = [a.convert, a.paths[0]]
            runpy.run_path(a.convert, run_name='__main__')
        print(json.dumps({'names': list(net.state_dict().keys())}))
    elif a.cmd == 'verify':
        verify(a)
    elif a.cmd == 'check':
        model = Model(ResNet(a.layers, a.width, a.channels, a.stem), a.classes, a.task).eval()
        model.load_state_dict(load_safetensors(a.paths[0]), strict=True)
        with open(a.paths[1], 'rb') as f:
            x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(a.shape)
        with torch.no_grad():
            out = model(x)
        print(json.dumps({k: v.flatten().tolist() for k, v in out.items()}))
    elif a.cmd == 'torchvision':
        d = a.paths[0]
        net = resnet18(num_classes=a.classes or 10)
        randomize_bn(net, gen)
        net.eval()
        x = torch.randn(1, 3, a.size, a.size, generator=gen)
        with torch.no_grad():
            logits = net(x)
        save_safetensors(f'{d}/resnet18.safetensors', net.state_dict())
        with open(f'{d}/input.f32', 'wb') as f:
            f.write(x.numpy().tobytes())
        r34 = {k: list(v.shape) for k, v in resnet34().state_dict().items()}
        with open(f'{d}/logits.json', 'w') as f:
            json.dump({'logits': logits.flatten().tolist(), 'resnet34': r34, 'resnet18': {k: list(v.shape) for k, v in net.state_dict().items()}}, f)
        print('ok')
    else:
        sys.exit(f'unknown command {a.cmd}')


if __name__ == '__main__':
    main()
