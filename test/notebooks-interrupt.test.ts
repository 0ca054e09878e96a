// Jupyter's Interrupt (SIGINT to the kernel) during a training cell: the training must stop after
// its step and save, not go on in the background; the kernel keeps the cell running until then.
// Ctrl-C of the headless runner interrupts the kernel the same way and waits for that save.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from './support/cli-process.js';
import { readRunMetadata } from '../src/checkpoint/metadata.js';
import { findJupyterServer, KernelClient, OutputCollector, pidsMentioning, startJupyterServer } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const hasJupyter = findJupyterServer() !== null;
if (!hasJupyter) console.warn('SKIP interrupt test: no Jupyter server installed (run `make setup`)');

const runDir = mkdtempSync(path.join(os.tmpdir(), 'dt-interrupt-'));
const RUN = `t-interrupt-${process.pid}`;
afterAll(() => {
  rmSync(runDir, { recursive: true, force: true });
  rmSync(path.join(root, 'runs', RUN), { recursive: true, force: true });
});

describe.skipIf(!hasJupyter)('Interrupt during a notebook training cell', () => {
  it('stops the training after its step with a checkpoint (reason interrupted)', async () => {
    const server = await startJupyterServer({ rootDir: path.join(root, 'notebooks'), log: () => {} });
    let text = '';
    const sink = { stream: (_: string, t: string) => void (text += t), display: (d: Record<string, unknown>) => void (text += `${String(d['text/plain'] ?? '')}\n`) };
    try {
      const client = await KernelClient.start({ ...server, notebookPath: 'interrupt-test.ipynb', kernelName: 'drivetrain' });
      // Far more epochs than the test waits for: without the stop it would still be training.
      const cfg = { epochs: 1000, lr: 0.01, device: 'cpu', data: { n: 256 }, out: runDir };
      // The promise lives on globalThis: an interrupted cell's declarations are dropped.
      const first = client.execute(
        [
          `import { train } from './dist/notebook/index.js';`, // the built package, as the notebooks import it
          `const g = globalThis as any;`,
          `g.p = train(${JSON.stringify(cfg)}, { backup: false, train: { onEvent: (e) => { if (e.type === 'step' && e.globalStep === 2) console.log('step two'); } } });`,
          `g.p.catch(() => {});`,
          `const done = await g.p;`,
          `console.log('after the training call');`, // not reached: the interrupted call ends the cell
        ].join('\n'),
        new OutputCollector(),
        sink,
      );
      for (let i = 0; i < 1200 && !text.includes('step two'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(text).toContain('step two');
      await client.kernel.interrupt();
      const collector = new OutputCollector();
      const firstDone = await first;
      expect(firstDone.status).toBe('error'); // KeyboardInterrupt, after the save: Run All stops there
      expect(firstDone.errorText).toMatch(/^KeyboardInterrupt/); // in the reply only: no red error output
      const second = await client.execute(
        `const s = await Promise.race([(globalThis as any).p.catch((e: any) => ({ reason: e.name + ':' + e.summary?.reason })), new Promise((r) => setTimeout(() => r({ reason: 'still training after 30 s' }), 30000))]);\nconsole.log('reason=' + (s as { reason: string }).reason);`,
        collector,
        sink,
      );
      expect(second.status).toBe('ok'); // the kernel survived the interrupt
      expect(text).toContain('Interrupt received: finishing this step, then saving…');
      expect(text).toMatch(/Interrupted at epoch 1\/1000, step \d+\/\d+ \(global step \d+\)\. Saved checkpoint signal-\d+\. Backups are off \(run the mount cell to back up\)\. Run the notebook again to continue from there\./); // a server of the headless runner: its wording
      expect(text).not.toContain('after the training call');
      expect(text).toContain('reason=KeyboardInterrupt:interrupted'); // TrainingInterrupted with the run's summary
      expect(readdirSync(path.join(runDir, 'checkpoints')).length).toBeGreaterThan(0); // saved at the stop
      await client.shutdown();
    } finally {
      await server.stop();
    }
    expect(pidsMentioning(server.runtimeDir)).toEqual([]);
  }, 180_000);

  it('Ctrl-C of `drivetrain notebook run` saves the training where it stopped before shutting down', async () => {
    const params = ['-p', `RUN=${RUN}`, '-p', 'DEVICE=cpu', '-p', 'DATA_N=8192', '-p', 'PRETRAIN_EPOCHS=1', '-p', 'EPOCHS=50', '-p', `DRIVE=${runDir}`];
    const cli = spawnCli(['notebook', 'run', path.join(root, 'notebooks', '01-stage1.ipynb'), ...params, '--out', path.join(runDir, 'nb.ipynb')]);
    await cli.waitFor('[stage1-head] Epoch', 180_000);
    expect(cli.output()).toContain('[stage1-head] Epoch');
    // Some steps into stage 1, well before it can end: its early stopping (patience 5) needs at
    // least 6 epochs of 224 steps. The live block's backup row, as the terminal prints it.
    await cli.waitFor(/\[stage1-head\] Epoch[\s\S]*backup: ✓ Backed up step/, 60_000);
    expect(cli.output(), 'stage 1 ended before the interrupt').not.toMatch(/Stopped early|Finished \d+ epochs \(global step \d+\)\. Best train_loss/);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    const text = cli.output();
    expect(text).toContain('Interrupt received: finishing this step, then saving and backing up…');
    expect(text).toMatch(/Interrupted at epoch \d+\/50, step \d+\/224 \(global step \d+\)\. Saved checkpoint signal-\d+\. Backed up to .*\. Run the notebook again to continue from there\./);
    // Nothing trained is lost: the newest checkpoint is the last logged step.
    const stage = path.join(root, 'runs', RUN, 'stage1-head');
    const steps = readFileSync(path.join(stage, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { globalStep: number }).globalStep);
    const meta = await readRunMetadata(stage);
    const newest = Math.max(...meta!.checkpoints.map((c) => c.globalStep));
    expect(newest).toBe(Math.max(...steps));
    expect(pidsMentioning(`${path.join(root, '.jupyter-local', 'runtime')}/run-${cli.child.pid}-`)).toEqual([]);
  }, 240_000);
});
