// metadata.json per run: human-readable index of the run's checkpoints and the best one.
// It is a convenience: resume selection scans manifests and never trusts this file.
import * as path from 'node:path';
import { z } from 'zod';
import { CheckpointError } from './errors.js';
import { nodeFs, replaceFileAtomic, type CkptFs } from './fsio.js';
import { CHECKPOINT_KINDS } from './manifest.js';

export const METADATA_FILE = 'metadata.json';
export const CHECKPOINTS_DIR = 'checkpoints';

export const CheckpointRecordSchema = z.object({
  name: z.string(),
  kind: z.enum(CHECKPOINT_KINDS),
  epoch: z.number().int(),
  stepInEpoch: z.number().int(),
  globalStep: z.number().int(),
  metrics: z.record(z.string(), z.number()),
  /** relative to the run directory, e.g. checkpoints/last-000001200 */
  path: z.string(),
  /** creation time (ISO) */
  created: z.string(),
  bytes: z.number().int().nonnegative(),
});

export const RunMetadataSchema = z.object({
  run: z.string(),
  experiment: z.string().nullable().default(null),
  created: z.string(),
  updated: z.string(),
  checkpoints: z.array(CheckpointRecordSchema),
  best: z.object({ name: z.string(), metric: z.string(), mode: z.enum(['min', 'max']), minDelta: z.number().nonnegative().default(0), value: z.number(), epoch: z.number().int(), globalStep: z.number().int() }).nullable(),
});

export type CheckpointRecord = z.output<typeof CheckpointRecordSchema>;
export type RunMetadata = z.output<typeof RunMetadataSchema>;

export async function readRunMetadata(runDir: string, fs: CkptFs = nodeFs): Promise<RunMetadata | null> {
  const file = path.join(runDir, METADATA_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let r;
  try {
    r = RunMetadataSchema.safeParse(JSON.parse(text));
  } catch {
    throw new CheckpointError('BAD_SCHEMA', `${file}: not valid JSON`, { file });
  }
  if (!r.success) throw new CheckpointError('BAD_SCHEMA', `${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { file });
  return r.data;
}

export async function writeRunMetadata(runDir: string, m: RunMetadata, fs: CkptFs = nodeFs): Promise<void> {
  await replaceFileAtomic(fs, path.join(runDir, METADATA_FILE), JSON.stringify(m, null, 1));
}
