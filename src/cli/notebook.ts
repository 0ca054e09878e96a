// `drivetrain notebook run <nb> [-p key=value …] [--out PATH]` and `drivetrain kernel install|check`.
import path from 'node:path';
import type { Command } from 'commander';
import {
  checkTslabCompat,
  clearOutputs,
  readNotebook,
  writeNotebook,
  formatCompat,
  installKernel,
  INTERRUPT_GRACE_MS,
  NotebookCellError,
  parseParam,
  PICK_KERNEL_HELP,
  startNotebook,
  tslabConvert,
  type NotebookRun,
  type RunNotebookResult,
} from '../runner/index.js';
import { packageRoot } from '../paths.js';

/** How long after Ctrl-C (SIGINT) / SIGTERM the run may take to stop and save before it is killed. */
const HARD_STOP_MS = { SIGINT: INTERRUPT_GRACE_MS + 8000, SIGTERM: 8000 } as const;

/**
 * Ctrl-C interrupts the running cell (a training cell saves and returns) and then ends the run;
 * SIGTERM ends it at once. Either way the kernel and server are shut down; if that hangs, they
 * are killed and the process exits (130 after SIGINT, 143 after SIGTERM).
 */
function endOnSignals(run: NotebookRun): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (timer) return;
    if (sig === 'SIGINT') run.interrupt(sig);
    else run.stop(sig);
    timer = setTimeout(() => {
      run.kill();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }, HARD_STOP_MS[sig]);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** @jupyterlab/services logs every WebSocket (re)connect with console.debug; this command's terminal shows none. */
function quietServicesDebug(): () => void {
  const debug = console.debug;
  console.debug = () => {};
  return () => {
    console.debug = debug;
  };
}

function collectParam(value: string, previous: Record<string, unknown>): Record<string, unknown> {
  const [k, v] = parseParam(value);
  return { ...previous, [k]: v };
}

/** `notebook run`: exit 1 when a cell fails, 130 after Ctrl-C, 143 after SIGTERM. */
async function runCommand(file: string, opts: { param: Record<string, unknown>; out?: string; strictParams?: boolean }): Promise<void> {
  const restoreDebug = quietServicesDebug();
  try {
    const run = startNotebook(file, { params: opts.param, out: opts.out, strictParams: opts.strictParams });
    const offSignals = endOnSignals(run);
    let r: RunNotebookResult;
    try {
      r = await run.done;
    } finally {
      offSignals();
    }
    if (r.status !== 'ok') process.exit(r.status === 'interrupted' ? 130 : 143);
    process.stderr.write(`[drivetrain] ${r.executedCells} cells ran in ${r.seconds.toFixed(1)} s; executed notebook: ${r.out}\n`);
  } catch (err) {
    if (!(err instanceof NotebookCellError)) throw err;
    process.stderr.write(`\n[drivetrain] ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    restoreDebug();
  }
}

export function register(program: Command): void {
  const nb = program.command('notebook').description('Run notebooks headless on a local Jupyter server');
  nb.command('run')
    .description('Execute a notebook cell by cell with the drivetrain kernel, streaming its output')
    .argument('<notebook>', 'path to the .ipynb file')
    .option('-p, --param <key=value>', 'override a variable of the cell tagged "parameters" (JSON value, else string); repeatable', collectParam, {})
    .option('--strict-params', 'fail when a -p name is not declared in the parameters cell (default: ignore it with a note)')
    .option('-o, --out <path>', 'where to write the executed notebook (default: <notebook dir>/executed/<name>.ipynb)')
    .action(runCommand);

  nb.command('current')
    .description('Print the notebook of the first unfinished stage (what `make resume` re-runs)')
    .option('--runbook <file>', 'runbook JSON', 'runbooks/glyphs.json')
    .option('--run <name>', 'run name (default: the runbook\'s output folder)')
    .action(async (opts: { runbook: string; run?: string }) => {
      // Loaded here: the helpers pull in the trainer (onnxruntime), which `notebook run` does not need.
      const { currentStage } = await import('../notebook/index.js');
      const c = await currentStage({ runbook: opts.runbook, run: opts.run || undefined });
      process.stderr.write(`[drivetrain] current stage: ${c.name}${c.allDone ? ' (all stages finished)' : c.started ? ' (in progress)' : ''}\n`);
      console.log(c.notebook);
    });
  nb.command('clear')
    .description('Clear outputs and execution counts in place (before committing a notebook)')
    .argument('<notebooks...>', '.ipynb files')
    .action((files: string[]) => {
      for (const f of files) writeNotebook(f, clearOutputs(readNotebook(f)));
    });

  const kernel = program.command('kernel').description('The "TypeScript (drivetrain)" Jupyter kernel');
  kernel
    .command('install')
    .description('Install the kernel spec for this user (JupyterLab, Notebook and VS Code find it)')
    .option('--prefix <dir>', 'install under <dir>/share/jupyter/kernels instead of the user dir')
    .action((opts: { prefix?: string }) => {
      const r = installKernel(packageRoot(), opts);
      console.log(`Installed kernel "drivetrain" in ${r.dir} (${r.via}).`);
      if (r.listed === false) console.log('Warning: `jupyter kernelspec list` does not show it; check JUPYTER_PATH / JUPYTER_DATA_DIR.');
      else if (r.listed) console.log('`jupyter kernelspec list` shows it.');
      console.log(PICK_KERNEL_HELP);
    });
  kernel
    .command('check')
    .description('Check what notebook cells import: dist/ (built if stale, loaded by tslab and Node) and src/ (type-checked as tslab does, TypeScript 5.0)')
    .action(async () => {
      const root = packageRoot();
      // What the notebooks' import cells load: the built package.
      const { checkNotebookImport, NOTEBOOK_IMPORT } = await import('../kernel/check.js');
      const built = checkNotebookImport(root, (m) => console.error(m));
      if (built.length) {
        console.error(`the notebooks' import of ${NOTEBOOK_IMPORT} fails:\n${formatCompat(built)}`);
        process.exitCode = 1;
        return;
      }
      console.log(`${NOTEBOOK_IMPORT} (what the notebooks import) is up to date and loads in tslab cells.`);
      const r = checkTslabCompat(root, [path.join(root, 'src', 'index.ts'), path.join(root, 'src', 'notebook', 'index.ts')]);
      // Then tslab's own converter, which has transforms of its own (only meaningful once types check).
      if (r.diagnostics.length === 0) r.diagnostics.push(...tslabConvert(root, 'src/notebook/index'));
      if (r.diagnostics.length === 0) {
        console.log(`src/index.ts and src/notebook/index.ts compile under tslab (TypeScript ${r.typescript}).`);
        return;
      }
      console.error(`src code that notebook cells cannot import (tslab uses TypeScript ${r.typescript}):\n${formatCompat(r.diagnostics)}`);
      process.exitCode = 1;
    });
}
