// Cells decide what a user error is by its class, never by the wording of its message.
import { describe, expect, it } from 'vitest';
import { DeviceError, UserError } from '../errors.js';
import { ConfigError, StageOrderError } from '../train/config.js';
import { cellError, DrivetrainError } from './errors.js';

describe('cellError', () => {
  it('shows user errors without a stack, whatever their wording', () => {
    for (const e of [new ConfigError('invalid runbook x'), new DeviceError('WebGPU is not available: …'), new UserError('"drive:x" needs Drive credentials'), new UserError('anything at all')]) {
      const shown = cellError(e, 'training');
      expect(shown).toBeInstanceOf(DrivetrainError);
      expect([shown.message, shown.stack]).toEqual([e.message, `DrivetrainError: ${e.message}`]);
    }
  });

  it('names the notebook to run first for a stage run out of order', () => {
    const e = cellError(new StageOrderError('stage 2 (all) starts from the best checkpoint of stage 1 (head), which has none yet in runs/x/head: run stage 1 first (drivetrain runbook <file> --stage 1)', 1), 'training');
    expect(e.message).toBe('stage 2 (all) starts from the best checkpoint of stage 1 (head), which has none yet in runs/x/head: run notebooks/01-stage1.ipynb first.');
    expect(cellError(new StageOrderError('stage 3 needs stage 2', 2), 'training').message).toBe('stage 3 needs stage 2. In notebooks: run notebooks/02-stage2.ipynb first.');
  });

  it('keeps the stack of anything else, even when its message reads like a user error', () => {
    const bug = new Error('no shape inference for op Foo; pass the output info explicitly');
    const stack = bug.stack;
    const shown = cellError(bug, 'training');
    expect(shown).toBe(bug);
    expect(shown.message).toBe('training failed: no shape inference for op Foo; pass the output info explicitly');
    expect(shown.stack).toBe(stack);
    expect(cellError('thrown text', 'mount').message).toBe('mount failed: thrown text');
  });
});

describe('stage options from the parameters cell', () => {
  it('a bad DEVICE, EPOCHS or DATA_N is named as the parameter, before anything loads', async () => {
    const { runStage } = await import('./cells.js');
    await expect(runStage('stage1-head', { device: 'tpu' })).rejects.toThrow(/^device \(the DEVICE parameter\) = "tpu": use 'cpu', 'webgpu' or 'auto'/);
    await expect(runStage('stage1-head', { epochs: -3 })).rejects.toThrow(/EPOCHS \/ PRETRAIN_EPOCHS parameter\) = -3: use a whole number ≥ 0/);
    await expect(runStage('stage1-head', { dataN: 1.5 })).rejects.toThrow(/DATA_N parameter\) = 1\.5/);
    await expect(runStage('stage1-head', { device: 'tpu' })).rejects.toBeInstanceOf(DrivetrainError);
  });
});
