// Checks before the first step, so that a setting which cannot work fails at once instead of after
// an epoch (or silently): every monitored metric — checkpoint.monitor, earlyStopping.monitor and
// a plateau schedule's monitor — must be one the run produces. Spellings of the same metric
// (val_accuracy / val_acc, train_acc / acc, loss / train_loss) are accepted and replaced by the
// name the run produces; anything else is an error that lists the metrics there are. A resumed
// checkpoint must have been trained on the same class list as the data now.
import type { TrainState } from '../checkpoint/state.js';
import type { Dataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/norm.js';
import { ConfigError, type TrainConfig } from './config.js';
import type { LoopEngine } from './ports.js';

/**
 * The checks before the first step: `cfg` with its monitors resolved against the metrics that
 * `engine` and the validation set `val` produce (unchanged when the engine does not name them).
 */
export function preflight(cfg: TrainConfig, engine: Pick<LoopEngine, 'metricNames'>, val: Dataset | undefined, log?: (m: string) => void): TrainConfig {
  if (!engine.metricNames) return cfg;
  return checkMonitors(cfg, epochMetricNames(engine.metricNames, cfg.validate && !!val && val.length > 0), log);
}

/** Epoch metric names of a run: the step metrics (`loss` as `train_loss`) and, with validation, `val_` + the eval metrics. */
export function epochMetricNames(names: { train: string[]; eval: string[] }, validates: boolean): string[] {
  const train = names.train.map((k) => (k === 'loss' ? 'train_loss' : k));
  return validates ? [...train, ...names.eval.map((k) => `val_${k}`)] : train;
}

/** Other spellings of metric `m`: accuracy ↔ acc, with or without `train_` for training metrics. */
function spellings(m: string): string[] {
  const [, prefix, base] = /^(val_|train_|)(.*)$/.exec(m)!;
  const bases = [base, base.replace(/accuracy$/, 'acc'), base.replace(/(^|_)acc$/, '$1accuracy')];
  const prefixes = prefix === 'val_' ? ['val_'] : ['', 'train_'];
  const out = new Set<string>();
  for (const p of prefixes) for (const b of bases) out.add(p + b);
  out.delete(m);
  return [...out];
}

/** The name the run produces for monitor `m` of config key `key`; a ConfigError when there is none. */
export function resolveMonitor(key: string, m: string, produced: readonly string[]): string {
  if (produced.includes(m)) return m;
  const same = spellings(m).filter((s) => produced.includes(s));
  if (same.length === 1) return same[0];
  const noVal = m.startsWith('val_') && !produced.some((p) => p.startsWith('val_'))
    ? ' There is no validation in this run (data.valFraction 0, validate false or an empty validation set).' : '';
  const flag = key === 'earlyStopping.monitor' ? ' (--early-stop-monitor)' : '';
  throw new ConfigError(`${key}: "${m}" is not a metric this run produces.${noVal} It produces: ${produced.join(', ')}. Set ${key}${flag} to one of them.`);
}

/**
 * `cfg` with every monitor set to the name the run produces (the same object when nothing
 * changed); `log` hears about each rename. The default checkpoint.monitor (val_loss) in a run
 * without validation keeps no best checkpoint, and says so.
 */
export function checkMonitors(cfg: TrainConfig, produced: readonly string[], log: (m: string) => void = () => {}): TrainConfig {
  let out = cfg;
  const use = (key: string, m: string): string => {
    const name = resolveMonitor(key, m, produced);
    if (name !== m) log(`${key} "${m}" is "${name}" in this run; using "${name}"`);
    return name;
  };
  const ck = cfg.checkpoint;
  if (ck.monitor === 'val_loss' && !produced.includes('val_loss')) {
    log('No validation in this run: no best checkpoint is kept (checkpoint.monitor val_loss); set checkpoint.monitor to train_loss to keep the best by it');
    out = { ...out, checkpoint: { ...ck, monitor: null } };
  } else if (ck.monitor !== null) {
    const m = use('checkpoint.monitor', ck.monitor);
    if (m !== ck.monitor) out = { ...out, checkpoint: { ...ck, monitor: m } };
  }
  const es = cfg.earlyStopping;
  if (es) {
    const m = use('earlyStopping.monitor', es.monitor);
    if (m !== es.monitor) out = { ...out, earlyStopping: { ...es, monitor: m } };
  }
  const sc = cfg.schedule;
  if (sc.type === 'plateau') {
    const m = use('schedule.monitor', sc.monitor);
    if (m !== sc.monitor) out = { ...out, schedule: { ...sc, monitor: m } };
  }
  return out;
}

/** A resumed checkpoint trained on another class list (its labels mean other things): a ConfigError naming both lists and the fix. */
export function checkResumeClasses(dir: string, state: TrainState, classNames: readonly string[]): void {
  const saved = (state.extra.model as { classNames?: unknown } | undefined)?.classNames;
  if (!Array.isArray(saved) || (saved.length === classNames.length && saved.every((c, i) => c === classNames[i]))) return;
  const list = (c: readonly unknown[]) => `[${c.map(String).join(', ')}] (${c.length})`;
  throw new ConfigError(
    `cannot resume ${dir}: it was trained on the classes ${list(saved)}, but the data now has ${list(classNames)}; ` +
    'labels would change meaning. Train into a new run folder (--out DIR; runbooks --run NAME, notebooks RUN) or start over (resume: \'none\'), or give the old class list (data.classes) to keep training this run.',
  );
}

/** What freezeBn does in this run, for the log (null without freezeBn): the BatchNorm layers it holds, or why none. */
export function heldBatchNormNote(cfg: TrainConfig, model: Module<any, any>): string | null {
  if (!cfg.freezeBn) return null;
  if (!cfg.freeze.length) return 'freezeBn: no parameter group is frozen (freeze is empty), so every BatchNorm layer updates its statistics';
  const all: Module<any, any>[] = [];
  const walk = (m: Module<any, any>) => { all.push(m); for (const [, c] of m.namedChildren()) walk(c as Module<any, any>); };
  walk(model);
  const held = all.filter((m) => m instanceof BatchNorm2d && cfg.freeze.some((g) => m.path === g || m.path.startsWith(`${g}.`)));
  const groups = cfg.freeze.join(', ');
  return held.length ? `freezeBn: the running statistics of ${held.length} BatchNorm layer${held.length > 1 ? 's' : ''} in ${groups} are held (used, not updated)` : `freezeBn: the frozen groups (${groups}) have no BatchNorm layer`;
}
