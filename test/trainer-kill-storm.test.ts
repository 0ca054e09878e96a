// "Saved" means durable: a storm of SIGKILLs, each landing right after a `Saved last (epoch N)`
// line (the harshest moment) or at a random step, while a busy sibling process loads the CPUs;
// every resume must come back at or after the last step the killed run printed as Saved.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runChild, writeConfig } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-storm-'));
const busy: ChildProcess[] = [];
afterAll(() => {
  for (const b of busy) b.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cfg = {
  model: 'glyph-tiny', data: { name: 'glyphs', n: 160, valFraction: 0.125, seed: 3 }, epochs: 60, batchSize: 8,
  optimizer: 'sgd', lr: 0.05, momentum: 0.9, seed: 11, threads: 1,
  checkpoint: { saveLast: true, saveSteps: 3, keepLast: 2, monitor: 'val_loss' },
};

it('resumed step ≥ the last step printed as Saved, after SIGKILLs under load', async () => {
  busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })); // a busy sibling
  const file = writeConfig(tmp, 'storm', { ...cfg, out: path.join(tmp, 'run') });
  let rnd = 12345;
  const next = () => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const log: string[] = [];
  let promised = 0; // global step of the last "Saved" line printed so far
  let checked = 0;
  for (let k = 0; k < 5; k++) {
    // even kills: as soon as the n-th "Saved" line appears; odd: at a random step
    let saves = 0;
    const nth = 1 + Math.floor(next() * 2);
    const atStep = promised + 5 + Math.floor(next() * 30);
    const env = { DT_RENDER: '1' };
    const r = await runChild(file, k % 2 === 0 ? { env, killOn: (l) => /^Saved (last|best) \(epoch \d+\)$/.test(l) && ++saves >= nth } : { env, killAt: atStep });
    const per = Number(/epochs × (\d+) steps/.exec(r.out)?.[1]);
    const resumed = Number(/^RESUME (\d+)$/m.exec(r.out)?.[1] ?? 0);
    if (k > 0) {
      expect(resumed, `${log.join('\n')}\nrun ${k} resumed at ${resumed}, but step ${promised} was printed as Saved`).toBeGreaterThanOrEqual(promised);
      checked++;
    }
    const epochs = [...r.out.matchAll(/^Saved (?:last|best) \(epoch (\d+)\)$/gm)].map((m) => Number(m[1]));
    if (epochs.length) promised = Math.max(promised, epochs[epochs.length - 1] * per);
    log.push(`run ${k}: resumed at ${resumed}, killed (${r.signal}) after step ${r.steps.at(-1)}, last Saved at step ${promised}`);
    expect(r.signal, r.out).toBe('SIGKILL');
  }
  console.log(`kill storm under load:\n${log.join('\n')}`);
  expect(checked).toBe(4);
  expect(promised).toBeGreaterThan(0);
}, 120_000);
