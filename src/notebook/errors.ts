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

/** What a cell throws for `e`, decided by its class. */
export function cellError(e: unknown, what: string): Error {
  if (e instanceof StageOrderError) return userError(`${e.message}. In notebooks: run ${stageNotebook(e.needsStage, e.stageCount)} first.`);
  if (isUserError(e)) return userError(e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = `${what} failed: ${err.message}`;
  return err;
}
