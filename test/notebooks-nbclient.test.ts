// The notebooks through Debian's nbclient (`jupyter nbconvert --execute`), as on a hosted Colab
// runtime: notebooks/colab-setup.ipynb runs on the Python kernel (ipykernel) and installs the
// drivetrain kernel into a fresh Jupyter data dir; then a stage notebook lying outside the project
// runs on the installed kernel, and a failing notebook shows Jupyter `error` outputs and counts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { injectParameters, readNotebook, writeNotebook, type Notebook } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const jupyter = '/usr/bin/jupyter';
const py = '/usr/bin/python3';
const has = (mod: string) => existsSync(py) && spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
const missing = [existsSync(jupyter) && has('nbclient') ? '' : 'jupyter-nbconvert python3-nbclient', has('ipykernel') ? '' : 'python3-ipykernel'].filter(Boolean).join(' ');
const skip = missing && !apt ? `Debian packages ${missing} are missing and apt-get is unavailable here` : '';
if (skip) console.warn(`SKIP nbclient tests: ${skip}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dt-nbclient-'));
const RUN = `t-nbclient-${process.pid}`;
// Only the Jupyter dirs of this test: the drivetrain kernel found there is the one colab-setup installed.
const env = { ...process.env, JUPYTER_DATA_DIR: path.join(tmp, 'data'), JUPYTER_CONFIG_DIR: path.join(tmp, 'config'), JUPYTER_RUNTIME_DIR: path.join(tmp, 'runtime'), PYDEVD_DISABLE_FILE_VALIDATION: '1' };
delete (env as Record<string, string | undefined>).JUPYTER_PATH;

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(path.join(root, 'runs', RUN), { recursive: true, force: true });
});

/** `jupyter nbconvert --execute` of `file` into tmp/<out>; returns its exit status, output and the executed notebook. */
function nbconvert(file: string, out: string, extra: string[] = [], withEnv: NodeJS.ProcessEnv = env): { status: number | null; output: string; nb: Notebook | null } {
  const r = spawnSync(jupyter, ['nbconvert', '--to', 'notebook', '--execute', file, '--output-dir', tmp, '--output', out, '--ExecutePreprocessor.timeout=600', ...extra], { env: withEnv, encoding: 'utf8', cwd: path.dirname(file), timeout: 900_000 });
  const done = path.join(tmp, out);
  return { status: r.status, output: `${r.stdout}${r.stderr}`, nb: existsSync(done) ? (JSON.parse(readFileSync(done, 'utf8')) as Notebook) : null };
}

const codeCells = (nb: Notebook) => nb.cells.filter((c) => c.cell_type === 'code');
const outputsOf = (nb: Notebook, type: string) => codeCells(nb).flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === type));

describe.skipIf(!!skip)('notebooks through nbclient (jupyter nbconvert --execute)', () => {
  it('colab-setup.ipynb installs the kernel; 01-stage1 then runs on it from outside the project', () => {
    if (missing) throw new Error(`Debian packages ${missing} are missing: run \`make test\` (or \`bash scripts/setup-system.sh --test\` as root)`);
    // The setup runs `make setup`, which would run `npm ci` here if node_modules were older than the lock.
    const stamp = path.join(root, 'node_modules', '.install-stamp');
    const lock = Math.max(...['package.json', 'package-lock.json'].map((f) => statSync(path.join(root, f)).mtimeMs));
    if (!existsSync(stamp) || statSync(stamp).mtimeMs < lock) throw new Error('node_modules is older than package-lock.json: run `make setup` first');

    const setup = nbconvert(path.join(root, 'notebooks', 'colab-setup.ipynb'), 'colab-setup.ipynb');
    expect(setup.status, setup.output.slice(-3000)).toBe(0);
    const printed = JSON.stringify(setup.nb);
    expect(printed).toContain('kernel \\"drivetrain\\" (TypeScript (drivetrain)) installed in');
    expect(printed).toContain('reload this page');
    const list = spawnSync(jupyter, ['kernelspec', 'list', '--json'], { env, encoding: 'utf8' });
    const spec = (JSON.parse(list.stdout) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[]; env?: Record<string, string> } }> }).kernelspecs.drivetrain!;
    expect(spec.resource_dir.startsWith(path.join(tmp, 'data'))).toBe(true);
    expect(spec.spec.argv[1]).toBe(path.join(root, 'kernel-spec', 'tslab-kernel.cjs'));
    expect(spec.spec.env).toEqual({ DRIVETRAIN_KERNEL_CWD: 'project' });

    // The stage notebook as a user would open it elsewhere (Drive, an upload), with small settings.
    const params = { RUN, DEVICE: 'cpu', DATA_N: 256, PRETRAIN_EPOCHS: 1, EPOCHS: 1, DRIVE: path.join(tmp, 'drive') };
    const away = path.join(tmp, 'elsewhere');
    mkdirSync(away);
    writeNotebook(path.join(away, '01-stage1.ipynb'), injectParameters(readNotebook(path.join(root, 'notebooks', '01-stage1.ipynb')), params, true).notebook);
    const stage = nbconvert(path.join(away, '01-stage1.ipynb'), 'stage1-executed.ipynb');
    expect(stage.status, stage.output.slice(-3000)).toBe(0);
    const nb = stage.nb!;
    expect(codeCells(nb).map((c) => c.execution_count)).toEqual(codeCells(nb).map((_, i) => i + 1));
    expect(outputsOf(nb, 'error')).toEqual([]);
    expect(outputsOf(nb, 'display_data').some((o) => 'image/svg+xml' in (o.data as object))).toBe(true);
    // The training cell: one live block per stage call (its last state), no log lines; the detail is in the run's log.
    const train = codeCells(nb).find((c) => [c.source].flat().join('').includes('runStage(STAGE,'))!;
    expect(train.outputs!.map((o) => o.output_type)).toEqual(['display_data', 'display_data']);
    const block = [(train.outputs![1]!.data as Record<string, string | string[]>)['text/plain']].flat().join('');
    expect(block.match(/^Epoch \d+\/1: train_loss=/gm)).toHaveLength(1);
    expect(block).toMatch(/^Finished 1 epochs \(global step \d+\)\..* Backed up to /m);
    expect(readFileSync(path.join(root, 'runs', RUN, 'stage1-head', 'train.log'), 'utf8')).toMatch(/Saved last \(epoch 1\)[\s\S]*✓ Backed up step/);
    expect((nb.metadata.language_info as { name: string; version: string }).name).toBe('typescript');
    expect(existsSync(path.join(root, 'runs', RUN, 'stage1-head'))).toBe(true); // cells ran in the project root
  }, 600_000);

  it('a failing cell is a Jupyter error: nbconvert names it, --allow-errors keeps ename/evalue/traceback and counts', () => {
    if (missing) throw new Error(`Debian packages ${missing} are missing: run \`make test\` (or \`bash scripts/setup-system.sh --test\` as root)`);
    const file = path.join(tmp, 'failing.ipynb');
    const cells = ['40 + 2', "throw new Error('planned failure')", "console.log('after the error')"];
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'drivetrain', display_name: 'TypeScript (drivetrain)', language: 'typescript' } },
      cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
    };
    writeFileSync(file, JSON.stringify(nb));
    const projectKernel = { ...env, JUPYTER_PATH: path.join(root, 'kernel-spec') }; // the spec in the checkout
    const failed = nbconvert(file, 'failing-strict.ipynb', [], projectKernel);
    expect(failed.status).not.toBe(0);
    expect(failed.output).toMatch(/CellExecutionError[\s\S]*Error: planned failure/); // was "<Error>: " with nothing after

    const kept = nbconvert(file, 'failing-allowed.ipynb', ['--allow-errors'], projectKernel);
    expect(kept.status, kept.output.slice(-2000)).toBe(0);
    const [first, second, third] = codeCells(kept.nb!);
    expect(first!.outputs).toEqual([{ output_type: 'execute_result', execution_count: 1, data: { 'text/plain': ['42'] }, metadata: {} }]); // nbformat stores text as lines
    expect(second!.outputs).toHaveLength(1);
    expect(second!.outputs![0]).toMatchObject({ output_type: 'error', ename: 'Error', evalue: 'planned failure' });
    expect((second!.outputs![0]!.traceback as string[])[0]).toContain('planned failure');
    expect([first!.execution_count, second!.execution_count, third!.execution_count]).toEqual([1, 2, 3]);
  }, 300_000);
});
