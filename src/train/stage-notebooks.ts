// Which stage notebook (01-stage1, 02-stage2, 03-stage3) runs which runbook stage, from the number
// of stages alone: the last three stages are stages 1, 2 and 3 (head on a frozen backbone,
// unfreeze, fine-tune); any before them (e.g. pre-training) run in 01-stage1 first. A runbook of
// one or two stages runs them in 01 (and 02).

/** The stage notebook (1–3) that runs stage `index` of a runbook with `count` stages. */
export function stageNotebookNumber(count: number, index: number): number {
  return count <= 3 ? index + 1 : Math.max(1, index - (count - 3) + 1);
}

/** Indices of the stages notebook `k` (1–3) runs, in order (empty when the runbook has too few). */
export function notebookStageIndices(count: number, k: number): number[] {
  return Array.from({ length: count }, (_, i) => i).filter((i) => stageNotebookNumber(count, i) === k);
}

/** The file of stage notebook `k`. */
export function stageNotebookFile(k: number): string {
  return `notebooks/0${k}-stage${k}.ipynb`;
}
