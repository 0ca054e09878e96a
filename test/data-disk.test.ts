// Your own images end to end: a folder of PNG and JPEG images (RGB and grayscale) with an
// annotation CSV trains through the CLI (--data --ann --img-size); a run with augmentation killed
// with SIGKILL mid-epoch resumes bitwise equal to an uninterrupted one; epochs after the first and
// resumed runs read no image file (the decoded cache); bad data stops with the file and line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromFlags } from '../src/cli/train-flags.js';
import { STANDARD_AUGMENT } from '../src/data/augment.js';
import { trainValSplit } from '../src/data/dataset.js';
import { glyphDataset } from '../src/data/glyphs.js';
import { loadDatasets, residentBase } from '../src/train/datasets.js';
import { parseTrainConfig } from '../src/train/config.js';
import { createModel } from '../src/train/models.js';
import { train } from '../src/train/run.js';
import { blankImagesKeepingStats, writeImageSet, type WrittenImage } from './support/image-data.js';
import { diffTensors, finalCheckpoint, runChild, stepLosses, writeConfig } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-disk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dataDir = path.join(tmp, 'data');
let ann = '';
let images: WrittenImage[] = [];
beforeAll(async () => {
  const w = await writeImageSet(dataDir, { n: 40, extraBoxes: true });
  ann = w.ann!;
  images = w.images;
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/drivetrain.js', ...args], { encoding: 'utf8', timeout: 90_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('training on images from disk', () => {
  it('maps --data --ann --img-size --channels --augment --val-fraction --cache-dir onto data', () => {
    expect(configFromFlags({ epochs: 2, lr: 0.01, data: 'imgs', ann: 'ann.csv', imgSize: 96, channels: '1', augment: true, valFraction: 0.2, cacheDir: 'c' }).data).toEqual({
      path: 'imgs', ann: 'ann.csv', size: 96, channels: 1, valFraction: 0.2, cacheDir: 'c', augment: { hflip: 0.5, translate: 0.1, brightness: 0.2, contrast: 0.2 },
    });
    expect(configFromFlags({ epochs: 2, lr: 0.01, channels: 'auto', dataN: 5 }).data).toEqual({ n: 5, channels: 'auto' });
  });

  it('the engine holds a dataset whole only while its float32 inputs fit the limit', () => {
    const all = glyphDataset({ n: 64 }); // 64 × 1024 pixels → 256 KiB as float32, + labels and boxes
    const { train } = trainValSplit(all, 0.25, 1);
    const said: string[] = [];
    expect(residentBase(train, (m) => said.push(m))).toBe(all);
    expect(residentBase(train, (m) => said.push(m), 200_000)).toBeUndefined();
    expect(said).toEqual([expect.stringMatching(/^The dataset takes 0\.0 GiB as float32 inputs, over 0\.0 GiB: batches are made from the uint8 images step by step/)]);
  });

  it('trains from --data --ann --img-size through the CLI; bad data stops before training with the file and line', () => {
    const out = path.join(tmp, 'cli-run');
    const r = cli('train', '--data', dataDir, '--ann', ann, '--img-size', '32', '--model', 'glyph-tiny', '--epochs', '1', '--batch', '8', '--lr', '0.05',
      '--threads', '1', '--out', out, '--cache-dir', path.join(tmp, 'cli-cache'));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^Data: 40 images from .*data \+ .*annotations\.csv \(detection, \d+ classes: .*\), 32×32 RGB \(stretch\); decoded in .* into the cache /m);
    expect(r.out).toMatch(/^Epoch 1\/1: train_loss=\d+\.\d{4} cls_loss=.* box_iou=\d+\.\d{4} val_loss=.*time=/m);
    const bad = path.join(dataDir, 'bad.csv');
    fs.writeFileSync(bad, `filename,class,x1,y1,x2,y2\n${images[0].file},L,1,1,9,9\ngone.png,L,1,1,5,5\n`);
    const b = cli('train', '--data', dataDir, '--ann', bad, '--epochs', '1', '--lr', '0.05', '--out', path.join(tmp, 'bad-run'), '--cache-dir', path.join(tmp, 'cli-cache'));
    expect(b.code).toBe(1);
    expect(b.out).toMatch(/^drivetrain: bad data in .*bad\.csv \(1 problem\):\n {2}.*bad\.csv line 3: image gone\.png not found \(looked for /m);
    expect(b.out).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(path.join(tmp, 'bad-run'))).toBe(false);
  });

  it('class folders train the built-in models as classifiers (adapted to channels, size and classes); a detector on them says what to use', async () => {
    const w = await writeImageSet(path.join(tmp, 'folders'), { n: 24, layout: 'folder' });
    const cfg = { data: { path: w.dir, size: 16, cacheDir: path.join(tmp, 'fcache'), valFraction: 0.25 }, epochs: 1, batchSize: 6, lr: 0.05, threads: 1 };
    const classes = [...new Set(w.images.map((i) => i.cls))].sort();
    for (const model of ['mnist', 'glyph']) {
      const s = await train({ ...cfg, model, out: path.join(tmp, `folders-${model}`) });
      expect(s.reason).toBe('completed');
      expect(s.classes).toEqual(classes);
      expect(Object.keys(s.last!)).toEqual(expect.arrayContaining(['train_loss', 'acc', 'val_acc']));
      expect(Object.keys(s.last!).some((k) => k.includes('box'))).toBe(false);
    }
    const data = await loadDatasets(parseTrainConfig({ ...cfg, epochs: 1 }));
    const detector = createModel('glyph-tiny', { classes, channels: data.image!.channels, size: 16, task: 'detection' });
    await expect(train({ ...cfg, model: 'glyph-tiny', out: path.join(tmp, 'folders-det') }, { model: detector })).rejects.toThrow(/model "glyph-tiny" is a detector and needs a box per image, .* classification dataset without boxes: give the annotation CSV \(--ann FILE.*or a model that classifies/);
  });

  it('kill -9 mid-epoch with augmentation resumes bitwise equal; later epochs and resumed runs read no image file', async () => {
    // 40 images, 8 for validation: 32 train → 8 steps per epoch × 3 epochs
    const base = {
      model: 'glyph-tiny', data: { path: dataDir, ann, size: 32, valFraction: 0.2, seed: 3, augment: STANDARD_AUGMENT }, epochs: 3, batchSize: 4,
      optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, weightDecay: 0.001, seed: 11, threads: 1, checkpoint: { saveSteps: 2, keepLast: 2 },
    };
    // reference, in this process: after epoch 1 the data folder is moved away, so epochs 2 and 3 cannot read an image
    const refDir = path.join(tmp, 'ref');
    let moved = false;
    const ref = await train({ ...base, out: refDir, data: { ...base.data, cacheDir: path.join(tmp, 'ref-cache') } }, {
      onEvent: (e) => { if (e.type === 'epoch' && !moved) { fs.renameSync(dataDir, `${dataDir}.away`); moved = true; } },
    }).finally(() => { if (moved) fs.renameSync(`${dataDir}.away`, dataDir); });
    expect([ref.reason, ref.globalStep, moved]).toEqual(['completed', 24, true]);

    const runDir = path.join(tmp, 'killed');
    const cfgFile = writeConfig(tmp, 'killed', { ...base, out: runDir, data: { ...base.data, cacheDir: path.join(tmp, 'kill-cache') } });
    const first = await runChild(cfgFile, { env: { DT_STEP_SLEEP_MS: '100' }, killOn: /^DURABLE \w+ 12$/ }); // mid epoch 2
    expect(first.signal, first.out).toBe('SIGKILL');
    expect(first.out).toMatch(/Data: 40 images .* decoded in/);
    expect(first.out).toMatch(/Augmenting training images .*: hflip 0\.5, translate 0\.1, brightness 0\.2, contrast 0\.2/);
    blankImagesKeepingStats(dataDir, images.map((i) => i.file)); // a decoder would fail now; stat() sees the same files
    const resumed = await runChild(cfgFile);
    expect(resumed.out).toMatch(/Data: 40 images .* read from the decoded cache/);
    // from step 12 (or a later save that became durable before the kill landed): in epoch 2 or 3, so
    // augmentation must continue from the checkpoint's epoch, not from epoch 1
    expect(resumed.out).toMatch(/RESUME (1[2-9]|2[0-3])\n[\s\S]*DONE completed/);

    const a = await finalCheckpoint(refDir), b = await finalCheckpoint(runDir);
    expect(b.state.globalStep).toBe(24);
    expect(diffTensors(a.tensors, b.tensors)).toEqual([]);
    expect(stepLosses(runDir)).toEqual(stepLosses(refDir));
    expect(b.state.metrics.map((m) => m.values)).toEqual(a.state.metrics.map((m) => m.values));
  });
});
