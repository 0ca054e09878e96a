// The headless runner against a real Jupyter server and the tslab kernel.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './support/cli-process.js';
import { findJupyterServer, NotebookCellError, pidsMentioning, runNotebook, type ServerHandle } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test', 'fixtures', 'runner-basic.ipynb');
const hasJupyter = findJupyterServer() !== null;
if (!hasJupyter) console.warn('SKIP runner tests: no Jupyter server installed (run `make setup`)');

const quiet = { stream: () => {}, display: () => {} };
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'dt-runner-'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const outputsText = (nb: any, i: number) =>
  JSON.stringify(nb.cells[i].outputs);

describe.skipIf(!hasJupyter)('runNotebook (real Jupyter server + tslab)', () => {
  it('runs all cells with -p overrides, imports src, and writes outputs', async () => {
    const out = path.join(tmp(), 'basic.ipynb');
    const logs: string[] = [];
    let server: ServerHandle | undefined;
    const res = await runNotebook(fixture, { params: { count: 5, greeting: 'hi' }, out, sink: quiet, log: (l) => logs.push(l), onServer: (s) => (server = s) });
    expect(res.out).toBe(out);
    const nb = JSON.parse(readFileSync(out, 'utf8'));
    expect(nb.cells[2].metadata.tags).toEqual(['injected-parameters']);
    expect(outputsText(nb, 3)).toContain('greeting=hi count=5 typeof=number');
    expect(outputsText(nb, 3)).toContain('numel=6'); // imported from ./src/tensor
    expect(outputsText(nb, 3)).toContain(`cwd=${root}`); // the launcher runs cells in the project root
    expect(outputsText(nb, 4)).toContain('<b>bold 5</b>');
    expect(outputsText(nb, 4)).toContain('progress 2'); // update_display_data replaced the first
    expect(outputsText(nb, 4)).not.toContain('progress 1');
    expect(outputsText(nb, 4)).toContain('after await'); // top-level await
    expect(outputsText(nb, 6)).toContain('last cell ran');
    expect(nb.cells.filter((c: any) => c.cell_type === 'code').map((c: any) => c.execution_count)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(nb.metadata.drivetrain.status).toBe('ok');
    expect(server).toBeDefined();
    expect(alive(server!.pid)).toBe(false);
    expect(pidsMentioning(server!.runtimeDir)).toEqual([]);
  });

  it('stops at the failing cell with its number and stderr, and leaves no processes', async () => {
    const out = path.join(tmp(), 'fail.ipynb');
    let server: ServerHandle | undefined;
    const err = await runNotebook(fixture, { params: { fail: true }, out, sink: quiet, log: () => {}, onServer: (s) => (server = s) }).catch((e) => e);
    expect(err).toBeInstanceOf(NotebookCellError);
    expect(err.cellNumber).toBe(5);
    expect(err.stderr).toContain('about to fail');
    expect(err.message).toMatch(/cell 5 failed:[\s\S]*planned failure: fail=true/);
    expect(err.message).not.toContain('node_modules/tslab');
    const nb = JSON.parse(readFileSync(out, 'utf8'));
    expect(nb.metadata.drivetrain.status).toBe('failed at cell 5');
    // A Jupyter `error` output (not stderr text) after the cell's own stderr, and its count.
    expect(nb.cells[5].outputs.map((o: any) => o.output_type)).toEqual(['stream', 'error']);
    expect(nb.cells[5].outputs[1]).toMatchObject({ ename: 'Error', evalue: 'planned failure: fail=true' });
    expect(nb.cells[5].execution_count).toBe(5);
    expect(nb.cells[6].outputs).toEqual([]); // the last cell never ran
    expect(alive(server!.pid)).toBe(false);
    expect(pidsMentioning(server!.runtimeDir)).toEqual([]);
  });

  it('shuts kernel and server down on Ctrl-C (SIGINT) through the CLI', async () => {
    const out = path.join(tmp(), 'sigint.ipynb');
    const cli = spawnCli(['notebook', 'run', fixture, '-p', 'sleepMs=60000', '--out', out]);
    const { child, exited } = cli;
    await cli.waitFor('sleeping 60000 ms', 30_000);
    expect(cli.output()).toContain('sleeping 60000 ms');
    const runtimeTag = `${path.join(root, '.jupyter-local', 'runtime')}/run-${child.pid}-`;
    expect(pidsMentioning(runtimeTag).length).toBeGreaterThanOrEqual(2); // server + kernel
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(pidsMentioning(runtimeTag)).toEqual([]);
    expect(JSON.parse(readFileSync(out, 'utf8')).metadata.drivetrain.status).toBe('interrupted (SIGINT)');
    expect(existsSync(out)).toBe(true);
  });
});
