// How cells show errors. tslab prints only stderr text, so a UserError (config, runbook, device,
// storage: src/errors.ts) is shown without its stack, and a stage run out of order names the
// notebook to run first; anything else keeps its stack, prefixed with what failed.
import { isUserError, UserError } from '../errors.js';
import { StageOrderError } from '../train/config.js';
import { stageNotebookFile, stageNotebookNumber } from '../train/stage-notebooks.js';

/** A user error as a cell shows it. */
export class DrivetrainError extends UserError {}

export function userError(message: string): Error {
  const e = new DrivetrainError(message);
  e.stack = `DrivetrainError: ${message}`;
  return e;
}

/** The notebook that runs stage `index` of a runbook of `count` stages (default: the 4 of runbooks/glyphs.json; see stage-notebooks.ts). */
export function stageNotebook(index: number, count = 4): string {
  return stageNotebookFile(stageNotebookNumber(count, index));
}

/**
 * What a training cell throws after it stopped at Jupyter's Interrupt and saved: the drivetrain
 * kernel shows no error for it (the `interruptHandled` flag; the cell's live block holds the
 * message) and Run All stops there. `summary`: what the run returned.
 */
export class TrainingInterrupted extends Error {
  readonly interruptHandled = true;
  constructor(message: string, readonly summary: unknown) {
    super(message);
    this.name = 'KeyboardInterrupt';
  }
}

/** What a cell throws for `e`, decided by its class. */
export function cellError(e: unknown, what: string): Error {
  if (e instanceof StageOrderError) {
    // The runbook's advice is the CLI's; a notebook user runs the earlier stage's notebook.
    const cli = /:? run stage \d+ first \(drivetrain [^)]*\)\.?$/;
    const notebook = `run ${stageNotebook(e.needsStage, e.stageCount)} first.`;
    return userError(cli.test(e.message) ? `${e.message.replace(cli, '')}: ${notebook}` : `${e.message}. In notebooks: ${notebook}`);
  }
  if (isUserError(e)) return userError(e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = `${what} failed: ${err.message}`;
  return err;
}
