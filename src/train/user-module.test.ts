// A user's own model / dataset module named by `file.ts#export`: references, errors that list
// what exists, the ES-module path (CLI, tests) and the CommonJS path notebooks use, and the spec
// defaults filled in for a bare `{ model }`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Linear, Module, Sequential } from '../nn/index.js';
import type { Graph } from '../onnx/graph.js';
import { parseTrainConfig } from './config.js';
import { loadDatasets } from './datasets.js';
import { checkSpec, modelContext, resolveModel } from './models.js';
import { isModuleRef, loadCommonJsForTests, loadUserExport, parseModuleRef } from './user-module.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'user-model');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-usermod-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const ctx = modelContext({ classes: ['a', 'b', 'c'], inputShape: [1, 16, 16], task: 'detection', options: { width: 4 } });
const names = (m: Module<any, any>) => m.parameters().map((p) => `${p.name} [${p.shape}]`);

describe('user modules', () => {
  it('parses references relative to the working directory', () => {
    expect(isModuleRef('./models/mine.ts#detector')).toBe(true);
    expect(isModuleRef('models/mine.ts')).toBe(true);
    expect(isModuleRef('resnet18')).toBe(false);
    expect(parseModuleRef('models/mine.ts#detector', '/w')).toMatchObject({ file: '/w/models/mine.ts', exportName: 'detector' });
    expect(parseModuleRef('/x/m.ts', '/w')).toMatchObject({ file: '/x/m.ts', exportName: 'default' });
    expect(() => parseModuleRef('m.ts#not-a-name')).toThrow(/is not an export name/);
  });

  it('says which file is missing and which exports a module has', async () => {
    await expect(loadUserExport(path.join(tmp, 'nope.ts#x'), 'model')).rejects.toThrow(/model: .*nope\.ts does not exist \(module paths are relative to the working directory/);
    fs.writeFileSync(path.join(tmp, 'two.ts'), 'export const a = 1;\nexport function b(): number { return 2; }\n');
    await expect(loadUserExport(`${path.join(tmp, 'two.ts')}#c`, 'model')).rejects.toThrow(/has no export "c" \(it exports a, b\)/);
    fs.writeFileSync(path.join(tmp, 'broken.ts'), 'export const a: number = ;\n');
    await expect(loadUserExport(`${path.join(tmp, 'broken.ts')}#a`, 'model')).rejects.toThrow(/model: loading .*broken\.ts failed/);
  });

  it('builds the fixture model from a context: classes from the dataset, torchvision names under backbone', async () => {
    const spec = await resolveModel(`${path.join(fixture, 'detector.ts')}#detector`, ctx);
    expect(names(spec.model)).toContain('backbone.layer2.0.downsample.0.weight [8,4,1,1]');
    expect(names(spec.model)).toContain('head.cls.weight [3,8]');
    expect(spec.groups).toEqual(['backbone', 'head']);
    // the same module through the CommonJS loader (what tslab notebooks use): same model
    const cjs = loadCommonJsForTests(path.join(fixture, 'detector.ts')) as { detector: (c: typeof ctx) => { model: Module<any, any> } };
    expect(names(cjs.detector(ctx).model)).toEqual(names(spec.model));
  });

  it('a dataset factory gives the class names (here 4 classes, not the 12 glyph shapes)', async () => {
    const cfg = parseTrainConfig({ epochs: 1, lr: 0.1, data: { name: `${path.join(fixture, 'shapes.ts')}#shapes`, n: 40, valFraction: 0.25 } });
    const d = await loadDatasets(cfg);
    expect(d.classNames).toEqual(['line', 'plus', 'circle', 'square']);
    expect(d.train.length + d.val!.length).toBe(40);
    expect(d.preprocess).toMatchObject({ channels: 1, height: 32, width: 32, scale: 1 / 255 });
    fs.writeFileSync(path.join(tmp, 'nonames.ts'), 'export const ds = { length: 1, getBatch: () => ({}) };\n');
    await expect(loadDatasets(parseTrainConfig({ epochs: 1, lr: 0.1, data: { name: `${path.join(tmp, 'nonames.ts')}#ds` } }))).rejects.toThrow(/give the class names/);
    expect(() => parseTrainConfig({ epochs: 1, lr: 0.1, data: { name: 'cifar' } })).toThrow(/data\.name: .*use "glyphs", "mnist" or a module/);
  });

  it('fills in a bare spec: groups from the children, the loss by task; rejects what is not a model', () => {
    class Two extends Module<string, Record<string, string>> {
      readonly backbone = this.add('backbone', new Sequential({ fc: new Linear(4, 4) }));
      readonly head = this.add('head', new Linear(4, 3));
      forward(g: Graph, v: string, c: Parameters<Linear['forward']>[2]) { return { cls: this.head.forward(g, this.backbone.forward(g, v, c), c), box: v }; }
    }
    const s = checkSpec({ model: new Two() }, 'mine.ts#x', ctx);
    expect(s).toMatchObject({ groups: ['backbone', 'head'], input: 'image', task: 'detection', rename: { cls_accuracy: 'acc' } });
    expect(s.loss.targets).toEqual(['label', 'box']);
    expect(checkSpec(new Two(), 'm', { ...ctx, task: 'classification' }).loss.targets).toEqual(['label']);
    expect(() => checkSpec({ model: new Linear(2, 2) }, 'm', ctx)).toThrow(/root module has its own parameters \(weight, bias\); give the spec groups/);
    expect(() => checkSpec({ net: 1 }, 'm', ctx)).toThrow(/expected a model spec \{ model, loss\?, input\?, groups\? \}/);
  });
});
