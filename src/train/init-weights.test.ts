// initFrom with PyTorch-named safetensors: a prefix map and initGroups load a torchvision-style
// backbone under `backbone.`; wrong prefixes, shapes and .pth files fail with the fix in the message.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../checkpoint/safetensors.js';
import { InferenceEngine } from '../engine/inference.js';
import { rngFor } from '../nn/module.js';
import { ResNet } from '../nn/resnet.js';
import { initWeights } from './init-weights.js';
import { resolveModel } from './models.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-init-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A torchvision-style state_dict (plain names, an fc for 5 classes, num_batches_tracked) of a tiny ResNet. */
async function torchStyleFile(name: string, drop: string[] = []): Promise<string> {
  const net = new ResNet({ layers: [1, 1], width: 4, inChannels: 1, stem: 'small', numClasses: 5 });
  const tensors = [...net.parameters(), ...net.buffers()].filter((d) => !drop.includes(d.name)).map((d) => ({ name: d.name, dtype: d.dtype, shape: d.shape, data: d.init(d.shape, rngFor(99, d.name)) }));
  tensors.push({ name: 'bn1.num_batches_tracked', dtype: 'int64', shape: [], data: BigInt64Array.of(7n) } as never);
  const file = path.join(tmp, name);
  await writeSafetensors(file, tensors);
  return file;
}

async function target() {
  const spec = await resolveModel('resnet', { classes: ['a', 'b', 'c'], inputShape: [1, 16, 16], task: 'detection', options: { layers: [1, 1], width: 4, stem: 'small' } });
  return InferenceEngine.create({ model: spec.model, inputs: { image: { shape: [1, 16, 16] } } });
}

describe('initWeights', () => {
  it('loads a PyTorch-named backbone with {"": "backbone.", "fc": null} into backbone only', async () => {
    const file = await torchStyleFile('tv.safetensors');
    const e = await target();
    try {
      const before = e.getState().get('param.head.cls.weight')!.data.slice();
      const msg = await initWeights(e, { initFrom: file, initMap: { '': 'backbone.', fc: null }, initGroups: ['backbone'] });
      expect(msg).toMatch(/^Initialised backbone weights from .*tv\.safetensors \(fresh optimizer; 30 of 34 model tensors loaded\)$/);
      const w = e.getState().get('param.backbone.layer2.0.downsample.0.weight')!;
      const decl = new ResNet({ layers: [1, 1], width: 4, inChannels: 1, stem: 'small' }).parameters().find((p) => p.name === 'layer2.0.downsample.0.weight')!;
      expect(Array.from(w.data as Float32Array)).toEqual(Array.from(decl.init([8, 4, 1, 1], rngFor(99, decl.name)) as Float32Array));
      expect(Array.from(e.getState().get('param.head.cls.weight')!.data as Float32Array)).toEqual(Array.from(before as Float32Array));
    } finally {
      await e.release();
    }
  });

  it('explains what is wrong: a missing prefix, a shape mismatch, a missing backbone tensor, a .pth file', async () => {
    const file = await torchStyleFile('tv2.safetensors');
    const e = await target();
    try {
      await expect(initWeights(e, { initFrom: file })).rejects.toThrow(/no tensor matches the model .*\(30 of 32 unexpected names are model names without the prefix "backbone\.": add it with initMap \{"": "backbone\."\} \(CLI --init-map =backbone\.\); the others match no model name \(fc\.(bias|weight), fc\.(bias|weight)\): drop them with "fc": null in initMap\)/);
      await expect(initWeights(e, { initFrom: file, initMap: { '': 'backbone.', fc: 'head.cls' } })).rejects.toThrow(/2 tensor\(s\) have another shape than the model's: .*fc\.weight float32 \[5,8\] vs param\.head\.cls\.weight: float32 \[3,8\].*Drop them with initMap/);
      const partial = await initWeights(e, { initFrom: file, initMap: { '': 'backbone.' } });
      expect(partial).toMatch(/30 of 34 model tensors loaded; kept their initial values: param\.head\.cls\.weight, .*; not in the model: fc\.\w+ \(as backbone\.fc\.\w+\), fc\.\w+ \(as backbone\.fc\.\w+\)\)$/);
      const holey = await torchStyleFile('holey.safetensors', ['layer1.0.conv2.weight']);
      await expect(initWeights(e, { initFrom: holey, initMap: { '': 'backbone.', fc: null }, initGroups: ['backbone'] })).rejects.toThrow(/no value for 1 weight\(s\) of backbone: param\.backbone\.layer1\.0\.conv2\.weight; nothing was loaded/);
      await expect(initWeights(e, { initFrom: path.join(tmp, 'resnet18.pth') })).rejects.toThrow(/PyTorch pickle.*python3 scripts\/pth-to-safetensors\.py .*resnet18\.pth .*resnet18\.safetensors/);
      await expect(initWeights(e, { initFrom: path.join(tmp, 'nothing.safetensors') })).rejects.toThrow(/nothing\.safetensors does not exist/);
    } finally {
      await e.release();
    }
  });
});
