// Prefix maps, the load plan's report (incl. the prefix hint) and the PyTorch state_dict export.
import { describe, expect, it } from 'vitest';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { applyPrefixMap, parsePrefixMap, planWeights, pthMessage } from './interop.js';
import type { StateDecl } from './state.js';
import { toStateDict } from './state-dict.js';

const decl = (name: string, shape = [2]): StateDecl => ({ name, role: name.startsWith('param.') ? 'param' : 'buffer', dtype: 'float32', shape });
const t = (name: string, shape = [2]): NamedTensor => ({ name, dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
const map = (...xs: NamedTensor[]): TensorMap => new Map(xs.map((x) => [x.name, x]));
const model = [decl('param.backbone.conv1.weight'), decl('buffer.backbone.bn1.running_mean'), decl('param.head.cls.weight'), decl('param.head.cls.bias')];

describe('prefix maps', () => {
  it('rename by the longest dotted prefix; "" matches all; null drops; trailing dots are optional', () => {
    const m = { '': 'backbone.', fc: 'head.cls', 'fc.aux': null };
    expect(applyPrefixMap('conv1.weight', m)).toBe('backbone.conv1.weight');
    expect(applyPrefixMap('fc.weight', m)).toBe('head.cls.weight');
    expect(applyPrefixMap('fc.aux.weight', m)).toBeUndefined();
    expect(applyPrefixMap('fcx.weight', m)).toBe('backbone.fcx.weight'); // components, not characters
    expect(applyPrefixMap('module.layer1.0.conv1.weight', { module: '' })).toBe('layer1.0.conv1.weight');
    expect(applyPrefixMap('backbone.conv1.weight', { backbone: '' })).toBe('conv1.weight');
    expect(applyPrefixMap('x.y', undefined)).toBe('x.y');
  });

  it('parse from CLI pairs or JSON, with clear errors', () => {
    expect(parsePrefixMap(['=backbone.', 'fc=head.cls', 'aux=null', 'module='])).toEqual({ '': 'backbone.', fc: 'head.cls', aux: null, module: '' });
    expect(parsePrefixMap('{"": "backbone.", "fc": null}')).toEqual({ '': 'backbone.', fc: null });
    expect(() => parsePrefixMap(['fc'])).toThrow(/write source=model/);
    expect(() => parsePrefixMap('{"fc": 3}')).toThrow(/expected \{"source prefix"/);
  });
});

describe('planWeights', () => {
  it('maps PyTorch names, limits to groups, skips num_batches_tracked and optimizer state', () => {
    const src = map(t('conv1.weight'), t('bn1.running_mean'), t('bn1.num_batches_tracked', []), t('fc.weight', [5, 2]), t('opt.m.x'));
    const { report, take } = planWeights(model, src, { map: { '': 'backbone.', fc: null }, groups: ['backbone'] });
    expect(take.map((x) => x.name)).toEqual(['param.backbone.conv1.weight', 'buffer.backbone.bn1.running_mean']);
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.ignored.sort()).toEqual(['bn1.num_batches_tracked', 'fc.weight', 'opt.m.x']);
  });

  it('says when every unexpected name is a model name with a prefix added or removed', () => {
    const bare = planWeights(model, map(t('conv1.weight'), t('bn1.running_mean')));
    expect(bare.take).toEqual([]);
    expect(bare.report.prefixHint).toMatch(/every unexpected name is a model name without the prefix "backbone\."; add it with initMap \{"": "backbone\."\} \(CLI --init-map =backbone\.\)/);
    const extra = planWeights(model, map(t('module.backbone.conv1.weight'), t('module.head.cls.bias')));
    expect(extra.report.prefixHint).toMatch(/extra prefix "module\."; drop it with initMap \{"module": ""\}/);
    const mixed = planWeights(model, map(t('conv1.weight'), t('x.head.cls.weight')));
    expect(mixed.report.prefixHint).toMatch(/differs from a model name by a prefix \(1 lack "backbone\.", 1 have an extra "x\."/);
    expect(planWeights(model, map(t('conv1.weight'), t('totally.else'))).report.prefixHint).toBeUndefined();
  });

  it('reports shape mismatches and points .pth files to the converter', () => {
    const r = planWeights(model, map(t('backbone.conv1.weight', [3])));
    expect(r.report.mismatched).toEqual([{ name: 'backbone.conv1.weight', source: 'float32 [3]', engine: 'param.backbone.conv1.weight: float32 [2]' }]);
    expect(pthMessage('w/resnet.pth')).toMatch(/python3 scripts\/pth-to-safetensors\.py w\/resnet\.pth w\/resnet\.safetensors/);
  });
});

describe('toStateDict', () => {
  it('drops role prefixes and optimizer state, adds num_batches_tracked per BatchNorm, applies the map', () => {
    const state = map(t('param.bn.weight'), t('buffer.bn.running_mean'), t('buffer.bn.running_var'), t('opt.m.bn.weight'), t('param.head.w'), t('rng.drop.state'));
    const sd = toStateDict(state, { numBatchesTracked: 42 });
    expect(sd.map((x) => x.name)).toEqual(['bn.weight', 'bn.running_mean', 'bn.running_var', 'head.w', 'bn.num_batches_tracked']);
    const nbt = sd.find((x) => x.name === 'bn.num_batches_tracked')!;
    expect(nbt.dtype).toBe('int64');
    expect(nbt.shape).toEqual([]);
    expect(nbt.data[0]).toBe(42n);
    expect(toStateDict(state, { map: { head: null, bn: 'backbone.bn1' } }).map((x) => x.name)).toEqual(['backbone.bn1.weight', 'backbone.bn1.running_mean', 'backbone.bn1.running_var', 'backbone.bn1.num_batches_tracked']);
    expect(() => toStateDict(map(t('param.a.w'), t('param.b.w')), { map: { a: 'c', b: 'c' } })).toThrow(/two tensors map to "c\.w"/);
  });
});
