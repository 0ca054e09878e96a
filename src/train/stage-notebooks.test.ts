import { describe, expect, it } from 'vitest';
import { notebookStageIndices, stageNotebookNumber } from './stage-notebooks.js';

describe('stage notebooks', () => {
  it('the last three stages are stages 1, 2 and 3; earlier ones run in 01 first', () => {
    expect([1, 2, 3].map((k) => notebookStageIndices(4, k))).toEqual([[0, 1], [2], [3]]); // runbooks/glyphs.json: pre-training, head, unfreeze, fine-tune
    expect([1, 2, 3].map((k) => notebookStageIndices(3, k))).toEqual([[0], [1], [2]]);
    expect([1, 2, 3].map((k) => notebookStageIndices(6, k))).toEqual([[0, 1, 2, 3], [4], [5]]);
    expect([1, 2, 3].map((k) => notebookStageIndices(2, k))).toEqual([[0], [1], []]);
    expect([0, 1, 2, 3].map((i) => stageNotebookNumber(4, i))).toEqual([1, 1, 2, 3]);
  });
});
