// How much disk a checkpoint takes, and the errors that say a save cannot fit or was not written
// (disk cap below one checkpoint, a full disk), each with its cause and fix.
import { CheckpointError } from './errors.js';

const DTYPE_BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int16: 2, int32: 4, int64: 8, bool: 1 };

/** Bytes one checkpoint takes on disk: tensor bytes + safetensors header + state.json + manifest.json. */
export function checkpointEstimate(tensorBytes: number, tensors: number, stateChars: number): number {
  return tensorBytes + tensors * 160 + stateChars * 2 + 8192;
}

/** checkpointEstimate from state declarations (dtype, shape), before any tensor exists. */
export function estimateFromDecls(decls: readonly { dtype: string; shape: readonly number[] }[]): number {
  const bytes = decls.reduce((a, t) => a + (DTYPE_BYTES[t.dtype] ?? 8) * t.shape.reduce((x, y) => x * y, 1), 0);
  return checkpointEstimate(bytes, decls.length, 4096);
}

export function capTooSmall(cap: number, need: number, lastN: number): CheckpointError {
  const room = need * (lastN + 2);
  return new CheckpointError('DISK_CAP', `the run's disk cap (diskCapBytes ${cap} bytes) is below the size of one checkpoint (~${need} bytes): nothing could ever be saved. Raise --disk-cap / checkpoint.diskCapBytes to at least ~${room} bytes (${lastN} rotating + newest + best), or drop it. Nothing was written.`, { detail: `need ${need}, cap ${cap}` });
}

/** A failed background write of the checkpoint at `step`; `newest` is the newest durable one. */
export function writeFailedError(runDir: string, step: number, newest: { name: string; globalStep: number } | null, hasCap: boolean, e: unknown): CheckpointError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const file = (e as NodeJS.ErrnoException).path;
  const intact = `Earlier checkpoints are intact${newest ? ` (the newest: ${newest.name}, step ${newest.globalStep})` : ''}.`;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const cap = hasCap ? '' : ', or set a disk cap (--disk-cap / checkpoint.diskCapBytes) so old checkpoints are deleted before the disk fills';
    return new CheckpointError('WRITE_FAILED', `the disk holding ${runDir} is full (${code}): the checkpoint at step ${step} was not written and its partial files were removed. ${intact} Training stops at the next save. Free space (drivetrain clean-checkpoints --keep-last 1, a smaller --keep-last${cap}), then run the same command again to resume${newest ? ` from step ${newest.globalStep}` : ''}.`, { cause: e, file });
  }
  return new CheckpointError('WRITE_FAILED', `checkpoint at step ${step} was not written: ${(e as Error).message}. ${intact}`, { cause: e, file });
}
