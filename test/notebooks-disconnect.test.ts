// The disconnect drill, headless through the real notebooks: stage 2 runs until at least one
// checkpoint is backed up, then kernel and server are killed at a random moment and the local
// run folder is deleted; the setup/restore notebook and stage 2 run again and must continue from
// the backed-up step, and stage 3 must start from stage 2's best checkpoint.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from './support/cli-process.js';
import { listRemoteRuns } from '../src/backup/restore.js';
import { readRunMetadata } from '../src/checkpoint/metadata.js';
import { findJupyterServer, pidsMentioning, runNotebook } from '../src/runner/index.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { loadBook } from '../src/notebook/cells.js';
import { bestCheckpoint } from '../src/train/run.js';
import { runStage as runbookStage } from '../src/train/runbook.js';

const root = path.resolve(import.meta.dirname, '..');
const hasJupyter = findJupyterServer() !== null;
if (!hasJupyter) console.warn('SKIP disconnect test: no Jupyter server installed (run `make setup`)');

const RUN = `t-disconnect-${process.pid}`;
const runBase = path.join(root, 'runs', RUN);
const drive = mkdtempSync(path.join(os.tmpdir(), 'dt-drive-'));
const out = mkdtempSync(path.join(os.tmpdir(), 'dt-exec-'));
const nb = (n: string) => path.join(root, 'notebooks', n);
const common = { DRIVE: drive, RUN, DEVICE: 'cpu' };

async function run(notebook: string, params: Record<string, unknown>): Promise<string> {
  let text = '';
  const sink = { stream: (_: string, t: string) => void (text += t), display: (d: Record<string, unknown>) => void (text += `${String(d['text/plain'] ?? '')}\n`) };
  await runNotebook(nb(notebook), { params: { ...common, ...params }, out: path.join(out, notebook), sink, log: () => {} });
  return text;
}

afterAll(() => {
  rmSync(runBase, { recursive: true, force: true });
  rmSync(drive, { recursive: true, force: true });
});

describe.skipIf(!hasJupyter)('disconnect during stage 2 (headless notebooks)', () => {
  it('restores the backed-up step, continues stage 2 from it, and stage 3 starts from stage 2 best', async () => {
    // Stage 0 + 1 through the API (small and quick; the notebooks are exercised below): stage 2
    // starts from stage 1's best.
    const rb = loadBook(undefined, RUN);
    const tiny = { ...rb, stages: rb.stages.map((st) => ({ ...st, epochs: 1, data: { n: 256 } })) };
    for (const st of ['stage0-pretrain', 'stage1-head']) expect((await runbookStage(tiny, st)).reason).toBe('completed');

    // Stage 2 in its own process (the CLI), killed without warning after its first backup.
    // 2048 samples: 56 steps per epoch; checkpoints every 50 steps and at epoch ends. Backups
    // finish some steps after their checkpoint, so the stage needs room to run on after the first.
    const stage2Params = ['-p', `DRIVE=${drive}`, '-p', `RUN=${RUN}`, '-p', 'DEVICE=cpu', '-p', 'EPOCHS=3', '-p', 'DATA_N=2048'];
    const cli = spawnCli(['notebook', 'run', nb('02-stage2.ipynb'), ...stage2Params, '--out', path.join(out, 'killed.ipynb')]);
    const { child, exited } = cli;
    if (!(await cli.waitFor(/✓ Backed up step \d+/, 120_000))) {
      child.kill('SIGKILL');
      throw new Error(`stage 2 never reported a backup; its output ends:\n${cli.output().slice(-3000)}`);
    }
    const delay = Math.round(Math.random() * 300);
    await new Promise((r) => setTimeout(r, delay));
    const runtimeTag = `${path.join(root, '.jupyter-local', 'runtime')}/run-${child.pid}-`;
    const victims = pidsMentioning(runtimeTag); // the Jupyter server and the kernel
    expect(victims.length).toBeGreaterThanOrEqual(2);
    for (const pid of [...victims, child.pid!]) process.kill(pid, 'SIGKILL');
    await exited;
    expect(cli.output(), `stage 2 finished before the kill (after ${delay} ms); give it more epochs`).not.toContain('Finished 3 epochs');
    expect(pidsMentioning(runtimeTag)).toEqual([]);

    const remote = (await listRemoteRuns(new LocalDirStore(drive))).find((r) => r.run === `${RUN}-stage2-unfreeze`);
    expect(remote?.globalStep).toBeGreaterThan(0);
    const backedUp = remote!.globalStep!;
    const stage2Dir = path.join(runBase, 'stage2-unfreeze');
    rmSync(stage2Dir, { recursive: true, force: true });

    // The cell to re-run after a disconnect.
    const restored = await run('00-setup-and-restore.ipynb', {});
    expect(restored).toMatch(new RegExp(`stage2-unfreeze\\s+restored .*\\s${backedUp}\\s`));
    expect(restored).toContain('Current stage: stage2-unfreeze (in progress). Next: run notebooks/02-stage2.ipynb');

    // Stage 2 again: continues from the backed-up step.
    const again = await run('02-stage2.ipynb', { EPOCHS: 3, DATA_N: 2048 });
    expect(again).toMatch(new RegExp(`Resuming from epoch \\d+, step \\d+ \\(global step ${backedUp}\\)`));
    const steps = readFileSync(path.join(stage2Dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; globalStep: number });
    // the metrics log came back with the restore (from step 1), and the resumed run continues it at the next step
    expect(steps.find((r) => r.type === 'step')!.globalStep).toBe(1);
    expect(steps.find((r) => r.type === 'step' && r.globalStep > backedUp)!.globalStep).toBe(backedUp + 1);
    expect(steps.filter((r) => r.type === 'step' && r.globalStep === backedUp + 1).length).toBe(1);
    const meta = await readRunMetadata(stage2Dir);
    expect(Math.max(...meta!.checkpoints.map((c) => c.globalStep))).toBeGreaterThan(backedUp);
    expect(again).toContain('Finished 3 epochs');

    // Stage 3 starts from stage 2's best checkpoint.
    const best = await bestCheckpoint(path.relative(root, stage2Dir));
    expect(best).not.toBeNull();
    const s3 = await run('03-stage3.ipynb', { EPOCHS: 1, DATA_N: 256 });
    expect(s3).toContain(`weights from ${best}`);
    expect(existsSync(path.join(out, '03-stage3.ipynb'))).toBe(true);
    const executed = readFileSync(path.join(out, '03-stage3.ipynb'), 'utf8');
    expect(executed).toContain('image/svg+xml');
    expect(executed).toContain('metrics per epoch');
  }, 300_000); // four notebook runs: 192 s on this shared 2-core machine under load, over the 120 s default
});
