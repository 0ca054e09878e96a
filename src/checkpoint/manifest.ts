// manifest.json, written LAST into a checkpoint: its presence and hashes make the checkpoint
// valid. Per-tensor byte ranges and hashes let the backup store tensors as content-addressed
// blobs (header range + tensor ranges reassemble tensors.safetensors byte for byte).
import { z } from 'zod';
import { CheckpointError } from './errors.js';

export const MANIFEST_FORMAT = 'drivetrain-checkpoint';
export const MANIFEST_VERSION = 1;
export const TENSORS_FILE = 'tensors.safetensors';
export const STATE_FILE = 'state.json';
export const MANIFEST_FILE = 'manifest.json';

/** `best`: an epoch end saved only because it improved the monitored metric (every-epoch `last` saves off). */
export const CHECKPOINT_KINDS = ['last', 'recovery', 'timed', 'permanent', 'manual', 'signal', 'best'] as const;
export type CheckpointKind = (typeof CHECKPOINT_KINDS)[number];

const sha = z.string().regex(/^[0-9a-f]{64}$/);
const range = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  created: z.string(),
  kind: z.enum(CHECKPOINT_KINDS),
  name: z.string(),
  epoch: z.number().int().nonnegative(),
  stepInEpoch: z.number().int().nonnegative(),
  globalStep: z.number().int().nonnegative(),
  metrics: z.record(z.string(), z.number()).default({}),
  /** every file of the checkpoint except manifest.json */
  files: z.record(z.string(), z.object({ size: z.number().int().nonnegative(), sha256: sha })),
  /** tensors.safetensors bytes [0, header[1]): length prefix + JSON header */
  header: z.object({ range, sha256: sha }),
  /** per tensor: safetensors dtype code, shape, absolute byte range [begin, end) in tensors.safetensors */
  tensors: z.record(z.string(), z.object({ dtype: z.string(), shape: z.array(z.number().int().nonnegative()), range, sha256: sha })),
});

export type Manifest = z.output<typeof ManifestSchema>;

export function parseManifest(value: unknown, file: string): Manifest {
  const r = ManifestSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CheckpointError('BAD_SCHEMA', `${file}: not a valid manifest (${issues})`, { file, detail: issues });
  }
  return r.data;
}
