#!/usr/bin/env python3
"""Convert a PyTorch checkpoint (.pth/.pt: a state_dict, {'state_dict': ...}, {'model': ...} or a
whole nn.Module) into a .safetensors file drivetrain reads (initFrom / --init-from).

Usage: python3 scripts/pth-to-safetensors.py model.pth [model.safetensors]

Needs only torch (the safetensors format is written here: 8-byte little-endian header length,
JSON header, raw little-endian tensor bytes). torch.load runs the file's pickle: convert only
files you trust.
"""
import json
import struct
import sys

import torch

DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
          torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}


def state_dict_of(obj):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ('state_dict', 'model_state_dict', 'model', 'net'):
            inner = obj.get(key)
            if isinstance(inner, torch.nn.Module):
                return inner.state_dict()
            if isinstance(inner, dict) and any(torch.is_tensor(v) for v in inner.values()):
                return inner
        return obj
    raise SystemExit(f'not a state_dict or module: {type(obj).__name__}')


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main(argv):
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    src = argv[1]
    dst = argv[2] if len(argv) == 3 else src.rsplit('.', 1)[0] + '.safetensors'
    sd = state_dict_of(torch.load(src, map_location='cpu'))
    tensors = {k: v for k, v in sd.items() if torch.is_tensor(v)}
    skipped = [k for k, v in sd.items() if not torch.is_tensor(v)]
    if not tensors:
        raise SystemExit(f'{src}: no tensors found')
    save_safetensors(dst, tensors)
    print(f'wrote {dst}: {len(tensors)} tensors' + (f' (skipped non-tensors: {", ".join(skipped[:5])})' if skipped else ''))


if __name__ == '__main__':
    main(sys.argv)
