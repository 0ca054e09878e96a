// Checkpoint faults as users meet them: every local checkpoint corrupt, two trainers on one --out,
// a disk that fills up during a save (a small tmpfs), an --out that is a file, another model on the
// same --out, a disk cap below one checkpoint, and --no-save-last with a best metric.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectResume, verifyCheckpoint } from '../src/checkpoint/index.js';
import { train } from '../src/train/run.js';
import type { TrainEvent } from '../src/train/events.js';
import { spawnCli } from './support/cli-process.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-ckfaults-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const tiny = { model: 'glyph-tiny', data: { n: 128, seed: 5 }, batchSize: 16, threads: 1, seed: 3, lr: 0.05 };
const flags = ['--model', 'glyph-tiny', '--batch', '16', '--lr', '0.05', '--data-n', '128', '--threads', '1'];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/drivetrain.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

const checkpointsOf = (run: string) => fs.readdirSync(path.join(run, 'checkpoints')).sort();

describe('resume auto', () => {
  it('refuses (exit 1) when every local checkpoint is corrupt instead of starting again at epoch 1; --resume none starts fresh', async () => {
    const out = path.join(tmp, 'corrupt');
    await train({ ...tiny, out, epochs: 2 });
    const names = checkpointsOf(out);
    expect(names).toEqual(['last-000000007', 'last-000000014']);
    for (const n of names) {
      const f = path.join(out, 'checkpoints', n, 'tensors.safetensors');
      const b = fs.readFileSync(f);
      b[b.length - 5] ^= 0x55;
      fs.writeFileSync(f, b);
    }
    const r = cli('train', ...flags, '--epochs', '3', '--out', out);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/resume 'auto': .*corrupt has 2 checkpoint\(s\) and none of them verifies; refusing to start again at epoch 1/);
    expect(r.out).toMatch(/last-000000014: failed the sha256 of the files check/);
    expect(r.out).toMatch(/last-000000007: failed the sha256 of the files check/);
    expect(r.out).toMatch(/--resume none/);
    expect(r.out).toMatch(/drivetrain restore --from <drive> --run corrupt --into /);
    expect(r.out).not.toMatch(/Epoch 1\/3/);
    const fresh = await train({ ...tiny, out, epochs: 1, resume: 'none' });
    expect([fresh.reason, fresh.resumedFrom]).toEqual(['completed', null]);
    expect(checkpointsOf(out)).toEqual(['last-000000007', 'last-000000007-2', 'last-000000014']); // beside the corrupt ones
  }, 120_000);
});

describe('two trainers on one --out', () => {
  it('the second is refused at once naming the first (pid, host, since); the first trains on and stops cleanly', async () => {
    const out = path.join(tmp, 'shared');
    const a = spawnCli(['train', ...flags, '--epochs', '500', '--out', out]);
    try {
      expect(await a.waitFor(/Epoch 1\/500/, 60_000), a.output()).toBe(true);
      const b = cli('train', ...flags, '--epochs', '2', '--out', out);
      expect(b.code, b.out).toBe(1);
      expect(b.out).toMatch(new RegExp(`drivetrain: ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by pid ${a.child.pid} on ${os.hostname()} since \\S+\\. Stop that process, use another run directory, or delete .*\\.lock if you are sure it is gone\\.`));
      expect(a.child.exitCode).toBeNull(); // the first is still training
      a.child.kill('SIGINT');
      expect(await a.exited).toBe(130);
      expect(a.output()).toMatch(/Interrupted: saved epoch \d+/);
    } finally {
      a.child.kill('SIGKILL');
    }
    const c = await selectResume(out, { warn: () => undefined });
    expect(c).not.toBeNull();
    await verifyCheckpoint(c!.dir);
  }, 120_000);
});

describe('disk full during a save (tmpfs of 400 kB; one checkpoint is ~144 kB)', () => {
  it('stops with an error naming the full disk and what to do; the previous checkpoint is intact, no partial files left', async (ctx) => {
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=400k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) return ctx.skip(`mount -t tmpfs is not permitted here: ${(m.stderr || m.error?.message || '').trim()}`);
    try {
      const out = path.join(mnt, 'run');
      const r = cli('train', ...flags, '--epochs', '3', '--keep-last', '10', '--out', out);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(/drivetrain: the disk holding .*run is full \(ENOSPC\): the checkpoint at step 21 was not written and its partial files were removed\. Earlier checkpoints are intact \(the newest: last-000000014, step 14\)\. Training stops at the next save\. Free space \(drivetrain clean-checkpoints/);
      expect(r.out).toMatch(/then run the same command again to resume from step 14\./);
      expect(r.out).not.toMatch(/Finished 3 epochs/);
      expect(checkpointsOf(out)).toEqual(['last-000000007', 'last-000000014']); // no staging folder left
      const c = await selectResume(out, { warn: () => undefined });
      expect(c?.manifest.globalStep).toBe(14);
      await verifyCheckpoint(c!.dir);
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  }, 120_000);
});

describe('run folder and disk cap errors come before any training', () => {
  it('--out is a file: named, with the fix', async () => {
    const file = path.join(tmp, 'afile');
    fs.writeFileSync(file, 'x');
    await expect(train({ ...tiny, out: file, epochs: 1 })).rejects.toThrow(`cannot use ${file} as the run folder: ${file} is a file, not a folder. Choose another output folder (--out DIR, or "out" in the config / notebook), or move that file away.`);
  }, 60_000);

  it('another model on the same --out: says so and how to go on, not setState\'s list of problems', async () => {
    const out = path.join(tmp, 'othermodel');
    await train({ ...tiny, out, epochs: 1 });
    const err = (await train({ ...tiny, out, epochs: 2, modelOptions: { hidden: 24 } }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^this run was trained with another model \(model "glyph-tiny"; now "glyph-tiny" \{"hidden":24\}\): the checkpoint .*othermodel\/checkpoints\/last-000000007 does not fit it \(param\..*: got float32 \[.*\], the model needs float32 \[.*\]/);
    expect(err.message).toMatch(/Use a new --out \(or "out"\) for this model, or --resume none \(resume: 'none'\) to start this run folder again\.$/);
    expect(err.message).not.toMatch(/setState/);
  }, 60_000);

  it('a disk cap below one checkpoint: DISK_CAP before the first step, nothing written', async () => {
    const out = path.join(tmp, 'cap');
    const events: TrainEvent[] = [];
    const err = await train({ ...tiny, out, epochs: 1, checkpoint: { diskCapBytes: 1000 } }, { onEvent: (e) => events.push(e) }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'DISK_CAP' });
    expect((err as Error).message).toMatch(/^the run's disk cap \(diskCapBytes 1000 bytes\) is below the size of one checkpoint \(~\d+ bytes\): nothing could ever be saved\. Raise --disk-cap \/ checkpoint\.diskCapBytes to at least ~\d+ bytes/);
    expect(events.some((e) => e.type === 'step')).toBe(false);
    expect(fs.existsSync(path.join(out, 'checkpoints'))).toBe(false);
  }, 60_000);
});

describe('--no-save-last with a best metric', () => {
  it('saves each new best as best-…, never a last-… folder', async () => {
    const out = path.join(tmp, 'nolast');
    const s = await train({ ...tiny, out, epochs: 3, checkpoint: { saveLast: false, monitor: 'train_loss', keepLast: 5 } });
    expect(s.reason).toBe('completed');
    const names = checkpointsOf(out);
    expect(names.filter((n) => n.startsWith('last-')), names.join(', ')).toEqual([]);
    expect(names.filter((n) => n.startsWith('best-')).length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
