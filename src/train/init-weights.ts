// `initFrom`: weights (only) from a drivetrain run or checkpoint, or from a .safetensors / .onnx file
// with drivetrain or PyTorch names, renamed by `initMap` and limited to `initGroups`. Shape
// mismatches always fail (as in PyTorch's load_state_dict); a drivetrain checkpoint of the same
// model must match completely unless initGroups picks groups; an outside file may leave model
// weights at their initial values (e.g. the head), which the message lists.
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../checkpoint/dir.js';
import { MANIFEST_FILE } from '../checkpoint/manifest.js';
import { planWeights, pthMessage, readWeights, type PrefixMap, type WeightTarget } from '../engine/interop.js';
import type { TensorMap } from '../tensor.js';
import { bestOrNewest } from './run-model.js';

export interface InitSpec {
  initFrom: string;
  initGroups?: string[] | null;
  initMap?: PrefixMap | null;
}

const cut = (xs: string[], n = 8) => `${xs.slice(0, n).join(', ')}${xs.length > n ? `, … (${xs.length})` : ''}`;

/** The tensors `from` names and whether they are a drivetrain checkpoint's. */
export async function initSource(from: string): Promise<{ tensors: TensorMap; checkpoint: string | null }> {
  if (/\.(pth|pt|bin|ckpt|tar)$/i.test(from)) throw new Error(`initFrom: ${pthMessage(from)}`);
  if (/\.(safetensors|onnx)$/i.test(from)) {
    if (!fs.existsSync(from)) throw new Error(`initFrom: ${from} does not exist (paths are relative to the working directory, ${process.cwd()})`);
    return { tensors: await readWeights(from), checkpoint: null };
  }
  if (!fs.existsSync(from)) throw new Error(`initFrom: ${from} does not exist; give a run folder, a checkpoint folder or a .safetensors file`);
  const dir = fs.existsSync(path.join(from, MANIFEST_FILE)) ? from : await bestOrNewest(from);
  return { tensors: (await loadCheckpoint(dir)).tensors, checkpoint: dir };
}

/** Loads the weights into `target`; returns the log line. Throws (loading nothing) on mismatches. */
export async function initWeights(target: WeightTarget, spec: InitSpec): Promise<string> {
  const { tensors, checkpoint } = await initSource(spec.initFrom);
  const groups = spec.initGroups ?? undefined;
  const { report: r, take } = planWeights(target.plan.decls, tensors, { map: spec.initMap ?? undefined, groups });
  const where = `initFrom ${spec.initFrom}`;
  const hint = r.prefixHint ? ` (${r.prefixHint})` : '';
  if (r.mismatched.length) {
    throw new Error(`${where}: ${r.mismatched.length} tensor(s) have another shape than the model's: ${cut(r.mismatched.map((m) => `${m.name} ${m.source} vs ${m.engine}`), 4)}. Drop them with initMap (e.g. {"fc": null}) or change the model; nothing was loaded`);
  }
  if (!take.length) {
    const model = target.plan.decls.filter((d) => d.role === 'param').slice(0, 3).map((d) => d.name.replace(/^param\./, ''));
    throw new Error(`${where}: no tensor matches the model${groups ? ` in groups ${groups.join(', ')}` : ''} (the file has ${cut([...tensors.keys()], 3)}; the model has ${model.join(', ')}, …)${hint}`);
  }
  if (groups && r.missing.length) {
    throw new Error(`${where}: no value for ${r.missing.length} weight(s) of ${groups.join(' + ')}: ${cut(r.missing)}${hint}; nothing was loaded`);
  }
  if (checkpoint && !groups && (r.missing.length || r.unexpected.length)) {
    throw new Error(`${where}: the checkpoint does not fit the model (${r.missing.length} missing: ${cut(r.missing, 4)}; ${r.unexpected.length} unexpected: ${cut(r.unexpected, 4)}); set initGroups to load some groups only${hint}`);
  }
  await target.setState(take, { weightsOnly: true, strict: false });
  const what = groups ? groups.join(' + ') : 'all';
  const params = target.plan.decls.filter((d) => d.role === 'param' || d.role === 'buffer').length;
  const extra = [
    `${r.matched.length} of ${params} model tensors loaded`,
    r.missing.length ? `kept their initial values: ${cut(r.missing, 4)}` : '',
    r.unexpected.length ? `not in the model: ${cut(r.unexpected, 4)}${hint}` : '',
  ].filter(Boolean).join('; ');
  return `Initialised ${what} weights from ${spec.initFrom} (fresh optimizer; ${extra})`;
}
