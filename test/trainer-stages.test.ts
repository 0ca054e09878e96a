// Stage chaining: order errors, weights-only init from the previous stage's best (frozen groups
// stay bitwise equal), re-running a finished stage does nothing, a half-finished stage resumes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/dir.js';
import { parseRunbook } from '../src/train/config.js';
import type { TrainEvent } from '../src/train/events.js';
import { bestCheckpoint } from '../src/train/run.js';
import { formatStageTable, runRunbook, runStage } from '../src/train/runbook.js';
import { diffTensors, finalCheckpoint } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-stages-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rb = parseRunbook({
  name: 'tiny',
  out: path.join(tmp, 'rb'),
  defaults: { model: 'glyph-tiny', data: { n: 320, seed: 2 }, batchSize: 8, epochs: 2, lr: 0.05, threads: 1, seed: 1, checkpoint: { saveSteps: 10, monitor: 'val_loss' } },
  stages: [
    { name: 'pre', optimizer: 'sgd' },
    { name: 'head', initGroups: ['backbone'], freeze: ['backbone'], optimizer: 'adamw', lr: 0.002, lrGroups: { head: 0.008 }, momentum: 0.95, weightDecay: 0.001, earlyStopping: { monitor: 'train_loss', minDelta: 0.0005, patience: 5 } },
    { name: 'all', optimizer: 'adamw', lrGroups: { backbone: 2e-5, head: 5e-5 }, lr: 1e-4, momentum: 0.95 },
  ],
});

const params = (m: Map<string, unknown>, prefix: string) => new Map([...m].filter(([k]) => k.startsWith(prefix))) as never;

describe('runbook stages', () => {
  it('refuses a stage whose predecessor has no best yet, naming the stage to run first', async () => {
    await expect(runStage(rb, 2)).rejects.toThrow(/stage 2 \(all\) starts from the best checkpoint of stage 1 \(head\), which has none yet.*run stage 1 first/);
    await expect(runStage(rb, 'nope')).rejects.toThrow(/no stage "nope" in runbook tiny: stages are 0 \(pre\), 1 \(head\), 2 \(all\)/);
  });

  it('chains stages: weights-only init, frozen backbone untouched, finished stages skipped, half-finished resumed', async () => {
    const s0 = await runStage(rb, 0);
    expect(s0.reason).toBe('completed');
    const best0 = (await bestCheckpoint(s0.out))!;
    expect(best0).toBeTruthy();

    const again = await runStage(rb, 'pre');
    expect(again.reason).toBe('alreadyDone');
    expect(again.message).toMatch(/Stage pre already finished \(epoch 2, global step 70\); nothing to do/);

    // interrupt stage 1 after 12 steps (as a notebook interrupt would), then run it again
    const ac = new AbortController();
    const seen: TrainEvent[] = [];
    const half = await runStage(rb, 1, { signal: ac.signal, onEvent: (e) => { seen.push(e); if (e.type === 'step' && e.globalStep === 12) ac.abort(); } });
    expect(half.reason).toBe('interrupted');
    expect(half.globalStep).toBe(12);
    expect(seen.some((e) => e.type === 'log' && /Initialised backbone weights from .*pre/.test(e.message))).toBe(true);
    const resumed: TrainEvent[] = [];
    const s1 = await runStage(rb, 1, { onEvent: (e) => resumed.push(e) });
    expect(resumed.find((e) => e.type === 'resume')).toMatchObject({ epoch: 0, stepInEpoch: 12, globalStep: 12 });
    expect(resumed.some((e) => e.type === 'log' && /Initialised/.test(e.message))).toBe(false); // resume, not re-init
    expect(s1.reason).toBe('completed');
    expect(s1.initFrom).toBe(best0);

    // stage 1 froze the backbone: bitwise the pre-trained one; its head was trained from scratch
    const c0 = await loadCheckpoint(best0);
    const c1 = await finalCheckpoint(s1.out);
    expect(diffTensors(params(c0.tensors, 'param.backbone.'), params(c1.tensors, 'param.backbone.'))).toEqual([]);
    expect(diffTensors(params(c0.tensors, 'param.head.'), params(c1.tensors, 'param.head.')).length).toBe(4);
    expect([...c1.tensors.keys()].some((k) => k.startsWith('opt.') && k.includes('backbone'))).toBe(false);

    // the whole runbook: finished stages say so, the last one runs from stage 1's best
    const all = await runRunbook(rb);
    expect(all.map((s) => s.reason)).toEqual(['alreadyDone', 'alreadyDone', 'completed']);
    expect(all[2].initFrom).toBe(await bestCheckpoint(s1.out));
    expect(all[2].last!.val_acc).toBeGreaterThanOrEqual(0);
    const table = formatStageTable(all);
    expect(table.split('\n')[0]).toMatch(/^stage\s+status\s+epochs\s+val_acc \(first → last\)\s+val_box_iou/);
    expect(table).toMatch(/2 all\s+completed\s+2\s+\d\.\d{4} → \d\.\d{4}\s+\d\.\d{4} → \d\.\d{4}/);
    expect(table).toMatch(/0 pre\s+alreadyDone\s+2\s+\d\.\d{4}\s/);
  });
});
