import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesArg, configFromFlags } from '../cli/train-flags.js';
import { checkpointOptions } from './run.js';
import { configHash, parseRunbook, parseTrainConfig, stageInput } from './config.js';

describe('train config', () => {
  it('fills defaults and hashes only what changes the trajectory', () => {
    const c = parseTrainConfig({ epochs: 3, lr: 0.01 });
    expect(c.batchSize).toBe(32);
    expect(c.checkpoint.saveLast).toBe(true);
    expect(c.resume).toBe('auto');
    const h = configHash(c);
    expect(configHash(parseTrainConfig({ epochs: 9, lr: 0.01, out: 'elsewhere', resume: 'none' }))).toBe(h);
    expect(configHash(parseTrainConfig({ epochs: 3, lr: 0.02 }))).not.toBe(h);
    expect(configHash(parseTrainConfig({ lr: 0.01, epochs: 3, lrGroups: { head: 1, backbone: 2 } })))
      .toBe(configHash(parseTrainConfig({ epochs: 3, lr: 0.01, lrGroups: { backbone: 2, head: 1 } })));
    // keys added later (modelOptions, initMap, freezeBn, data.options) change the hash only when set, so older runs resume quietly
    expect(h).toBe('287932a3accfd542');
    expect(configHash(parseTrainConfig({ epochs: 3, lr: 0.01, modelOptions: { width: 8 } }))).not.toBe(h);
    expect(configHash(parseTrainConfig({ epochs: 3, lr: 0.01, initMap: { '': 'backbone.' } }))).not.toBe(h);
  });

  it('a new config key with a default, data keys the source does not read and data at its defaults leave the hash alone', () => {
    const c = parseTrainConfig({ epochs: 3, lr: 0.01 });
    const h = configHash(c);
    // what parsing gives once a key with a default is added (top level, in data, in augment)
    expect(configHash({ ...c, someNewKey: 'x', data: { ...c.data, someNewKey: 3, augment: { hflip: 0, translate: 0, brightness: 0, contrast: 0, someNewKey: 0 } } } as typeof c)).toBe(h);
    expect(configHash(parseTrainConfig({ epochs: 3, lr: 0.01, data: { n: 4096, size: 32 }, batchSize: 32 }))).toBe(h); // the defaults, written out
    expect(configHash(parseTrainConfig({ epochs: 3, lr: 0.01, freezeBn: false }))).toBe(h);
    const disk = (data: object) => configHash(parseTrainConfig({ epochs: 3, lr: 0.01, data: { path: 'imgs', ann: 'a.csv', size: 64, ...data } }));
    expect(disk({ noise: [0.1, 0.2], clutter: 3, n: 99 })).toBe(disk({})); // glyph keys: unused by images from disk
    expect(new Set([disk({}), disk({ path: 'other' }), disk({ size: 96 }), disk({ seed: 2 }), disk({ augment: { hflip: 0.5 } }), disk({ classes: ['a', 'b'] })]).size).toBe(6);
  });

  it("covers the model's parameter names and shapes and the data's class list", () => {
    const c = parseTrainConfig({ epochs: 3, lr: 0.01 });
    const id = { params: { 'backbone.fc.weight': [16, 1024], 'head.cls.weight': [12, 16] }, data: { classes: ['a', 'b'], samples: 100, channels: 1 } };
    const h = configHash(c, id);
    expect(h).not.toBe(configHash(c));
    expect(configHash(c, { ...id, params: { ...id.params, 'head.cls.weight': [13, 16] } })).not.toBe(h);
    expect(configHash(c, { ...id, params: { 'backbone.fc2.weight': [16, 1024], 'head.cls.weight': [12, 16] } })).not.toBe(h);
    expect(configHash(c, { ...id, data: { ...id.data, classes: ['b', 'a'] } })).not.toBe(h);
    expect(configHash(c, { ...id, data: { ...id.data, samples: 101 } })).not.toBe(h);
    expect(configHash(c, { params: { 'head.cls.weight': [12, 16], 'backbone.fc.weight': [16, 1024] }, data: { samples: 100, channels: 1, classes: ['a', 'b'] } })).toBe(h);
  });

  it('names the key path of every problem', () => {
    expect(() => parseTrainConfig({ epochs: 0, lr: 'x', checkpoint: { keepLast: -1, everyStep: 3 }, earlyStopping: { patience: 1.5 } }, 'config c.json'))
      .toThrow([
        'invalid config c.json:',
        '  epochs: Too small: expected number to be >0',
        '  lr: Invalid input: expected number, received string',
        '  earlyStopping.patience: Invalid input: expected int, received number',
        '  checkpoint.keepLast: Too small: expected number to be >0',
        '  checkpoint: unknown key "everyStep"',
      ].join('\n'));
    expect(() => parseTrainConfig({ lr: 1 })).toThrow(/epochs: missing \(required\)/);
  });
});

describe('disk cap and permanent keeps are reachable', () => {
  it('from a config, a runbook and the CLI flags, down to the checkpoint manager options', () => {
    const c = parseTrainConfig({ epochs: 3, lr: 0.01, checkpoint: { diskCapBytes: 2_000_000_000, permanentEvery: 5 } });
    expect(checkpointOptions(c)).toMatchObject({ diskCapBytes: 2_000_000_000, save: { permanentEveryEpochs: 5 } });
    expect(checkpointOptions(parseTrainConfig({ epochs: 3, lr: 0.01 })).diskCapBytes).toBeUndefined();
    const rb = parseRunbook({ defaults: { lr: 0.1, checkpoint: { diskCapBytes: 1e9 } }, stages: [{ name: 'a', epochs: 1, checkpoint: { permanentEvery: 2 } }] });
    expect(parseTrainConfig(stageInput(rb, 0)).checkpoint).toMatchObject({ diskCapBytes: 1e9, permanentEvery: 2 });
    expect(configFromFlags({ epochs: 1, lr: 1, diskCap: bytesArg('--disk-cap')('2G'), permanentEvery: 5 }).checkpoint).toEqual({ diskCapBytes: 2e9, permanentEvery: 5 });
    expect([bytesArg('x')('500M'), bytesArg('x')('1.5GiB'), bytesArg('x')('123456'), bytesArg('x')('64 kB')]).toEqual([5e8, 1.5 * 1024 ** 3, 123456, 64_000]);
    expect(() => bytesArg('--disk-cap')('lots')).toThrow('--disk-cap expects a size such as 500M, 2G or 1.5GiB (bytes without a unit), got "lots"');
    expect(() => parseTrainConfig({ epochs: 1, lr: 1, checkpoint: { diskCapBytes: -5 } })).toThrow(/checkpoint\.diskCapBytes: Too small/);
  });
});

describe('runbooks', () => {
  it('the example runbook parses and mirrors the users’ stages', () => {
    const rb = parseRunbook(JSON.parse(fs.readFileSync('runbooks/glyphs.json', 'utf8')));
    const s = rb.stages.map((_, i) => parseTrainConfig({ ...stageInput(rb, i), initFrom: null }));
    expect(s.length).toBe(4);
    expect([s[1].freeze, s[1].lr, s[1].lrGroups.head, s[1].momentum, s[1].weightDecay]).toEqual([['backbone'], 0.002, 0.008, 0.95, 0.001]);
    expect(s[1].earlyStopping).toEqual({ monitor: 'train_loss', mode: 'min', minDelta: 0.0005, patience: 5 });
    expect([s[2].freeze, s[2].lrGroups, s[2].earlyStopping?.patience]).toEqual([[], { backbone: 2e-5, head: 5e-5 }, 8]);
    expect([s[3].lrGroups, s[3].earlyStopping?.patience]).toEqual([{ backbone: 5e-6, head: 1e-5 }, 10]);
    // defaults merge key by key into nested objects
    expect(s[2].checkpoint.saveSteps).toBe(50);
  });

  it('reports errors where the user wrote them (stage or defaults), once', () => {
    const bad = { defaults: { lr: 'x', data: { n: -1 } }, stages: [{ name: 'a', epochs: 2 }, { name: 'b', lrGroups: { head: 'fast' }, bogus: 1 }, { name: 'a', epochs: 1, lr: 1 }] };
    let msg = '';
    try { parseRunbook(bad, 'runbook t.json'); } catch (e) { msg = (e as Error).message; }
    expect(msg.split('\n')).toEqual([
      'invalid runbook t.json:',
      '  defaults.data.n: Too small: expected number to be >0',
      '  defaults.lr: Invalid input: expected number, received string',
      '  stages[1].epochs: missing (required)',
      '  stages[1].lrGroups.head: Invalid input: expected number, received string',
      '  stages[1]: unknown key "bogus"',
      '  stages[2].name: duplicate stage name "a"',
    ]);
    expect(() => parseRunbook({ stages: [] })).toThrow(/stages: Too small/);
  });
});

describe('data from disk', () => {
  it('takes the disk keys only with data.path, keeps glyph sizes in range, and leaves built-in configs (and their hash) as they were', () => {
    const c = parseTrainConfig({ epochs: 1, lr: 0.1, data: { path: 'imgs', ann: 'a.csv', size: 224, channels: 3, augment: { hflip: 0.5 } } });
    expect(c.data).toMatchObject({ path: 'imgs', ann: 'a.csv', size: 224, channels: 3, augment: { hflip: 0.5, translate: 0, brightness: 0, contrast: 0 } });
    expect(Object.keys(parseTrainConfig({ epochs: 1, lr: 0.1 }).data).sort()).toEqual(['clutter', 'n', 'name', 'noise', 'seed', 'size', 'valFraction']);
    expect(() => parseTrainConfig({ epochs: 1, lr: 0.1, data: { ann: 'a.csv', mean: [0.5] } })).toThrow([
      'invalid train config:',
      '  data.ann: applies to datasets from disk only: set data.path (--data DIR) too',
      '  data.mean: applies to datasets from disk only: set data.path (--data DIR) too',
    ].join('\n'));
    expect(() => parseTrainConfig({ epochs: 1, lr: 0.1, data: { size: 100 } })).toThrow(/data\.size: glyph images are 32–64 pixels, got 100/);
    expect(() => parseTrainConfig({ epochs: 1, lr: 0.1, data: { name: 'mnist', path: 'x' } })).toThrow(/data\.name: "mnist" is a built-in dataset; leave data\.name out/);
    expect(() => parseTrainConfig({ epochs: 1, lr: 0.1, data: { path: 'x', channels: 2 } })).toThrow(/data\.channels/);
  });
});
