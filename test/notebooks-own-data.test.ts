// Issue 11's "done when", notebook part: the stage notebooks train on a folder of images (PNG and
// JPEG, RGB and grayscale) with an annotation CSV by parameters only (DATA, ANN, IMG_SIZE, MODEL)
// and take their stages from the runbook (runbooks/glyphs.json with its output folder moved to a
// temporary one and one epoch a stage): 01 runs pre-training and stage 1, stage 2 runs from the
// terminal (`runbook --data --ann …`, as a user who mixes the two would), 03 runs stage 3 and
// exports and predicts (02 is 03's cells without the export).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunMetadata } from '../src/checkpoint/metadata.js';
import { findJupyterServer, runNotebook } from '../src/runner/index.js';
import { spawnCli } from './support/cli-process.js';
import { writeImageSet } from './support/image-data.js';

const root = path.resolve(import.meta.dirname, '..');
const hasJupyter = findJupyterServer() !== null;
if (!hasJupyter) console.warn('SKIP the own-data notebook test: no Jupyter server installed (run `make setup`)');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-owndata-'));
const cacheBefore = process.env.DRIVETRAIN_CACHE_DIR;
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (cacheBefore === undefined) delete process.env.DRIVETRAIN_CACHE_DIR;
  else process.env.DRIVETRAIN_CACHE_DIR = cacheBefore;
});
const book = path.join(tmp, 'glyphs.json');
const data = path.join(tmp, 'data');
let ann = '';
const stageDir = (run: string, stage: string) => path.join(tmp, 'runs', run, stage);

beforeAll(async () => {
  ann = (await writeImageSet(data, { n: 40 })).ann!;
  const rb = JSON.parse(fs.readFileSync(path.join(root, 'runbooks', 'glyphs.json'), 'utf8')) as { out: string; defaults: Record<string, unknown>; stages: Record<string, unknown>[] };
  rb.out = path.join(tmp, 'runs', 'glyphs');
  rb.defaults.threads = 1;
  for (const s of rb.stages) s.epochs = 1;
  fs.writeFileSync(book, JSON.stringify(rb));
  process.env.DRIVETRAIN_CACHE_DIR = path.join(tmp, 'cache'); // the kernels inherit it
});

describe.skipIf(!hasJupyter)('your images in the stage notebooks, by parameters only', () => {
  it('01 trains pre-training and stage 1 on DATA + ANN, the CLI stage 2 (runbook --data --ann), 03 stage 3, export and predict', async () => {
    const params = { RUNBOOK: book, RUN: 'nb', DEVICE: 'cpu', DRIVE: path.join(tmp, 'drive'), DATA: data, ANN: ann, IMG_SIZE: 32, MODEL: 'glyph-tiny' };
    const notebook = async (n: string) => {
      let text = '';
      const sink = { stream: (_: string, t: string) => void (text += t), display: (d: Record<string, unknown>) => void (text += `${String(d['text/plain'] ?? '')}\n`) };
      await runNotebook(path.join(root, 'notebooks', `${n}.ipynb`), { params, out: path.join(tmp, `${n}.ipynb`), sink, log: () => {} });
      return text;
    };
    const first = await notebook('01-stage1');
    expect(first).toMatch(/Data: 40 images from .*data \+ .*annotations\.csv \(detection, \d+ classes: .*\), 32×32 RGB \(stretch\); decoded in/);
    expect(first).toMatch(/stage0-pretrain[\s\S]*stage1-head/); // the stages before stage 1 run first
    for (const s of ['stage0-pretrain', 'stage1-head']) expect((await readRunMetadata(stageDir('nb', s)))?.best, s).not.toBeNull();

    // stage 2 from the terminal, on the notebook's run: the same data and model by flags
    const cli = spawnCli(['runbook', book, '--stage', 'stage2-unfreeze', '--run', 'nb', '--data', data, '--ann', ann, '--img-size', '32', '--model', 'glyph-tiny', '--device', 'cpu']);
    expect(await cli.exited, cli.output().slice(-3000)).toBe(0);
    expect(cli.output()).toMatch(/Data: 40 images .* read from the decoded cache/);
    expect(cli.output()).toMatch(/Initialised .*stage1-head/);
    expect(cli.output()).toMatch(/2 stage2-unfreeze\s+completed\s+1\s+/);

    const third = await notebook('03-stage3');
    expect(third).toMatch(/Initialised .*stage2-unfreeze/);
    expect(third).toMatch(/ONNX model\s+.*stage3-finetune\/export\/model\.onnx .*dynamic batch/);
    expect(third).toMatch(/Predictions/);
    const classes = [...new Set(fs.readFileSync(ann, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[1]))].sort();
    expect(third).toMatch(new RegExp(`classes\\s+${classes.join(', ')}\\s`)); // in the ONNX metadata: the CSV's class names
  }, 300_000);
});
