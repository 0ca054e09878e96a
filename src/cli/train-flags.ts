// Flags of `drivetrain train` → a train config input (flags override --config values).
import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { STANDARD_AUGMENT } from '../data/augment.js';
import { parsePrefixMap } from '../engine/interop.js';
import { ConfigError, type TrainConfigInput } from '../train/config.js';

export const num = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number, got "${v}"`);
  return n;
};
export const int = (flag: string) => (v: string): number => {
  const n = num(flag)(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a non-negative whole number, got "${v}"`);
  return n;
};

export interface TrainFlags {
  config?: string; epochs?: number; batch?: number; lr?: number; lrHead?: number; lrBackbone?: number;
  momentum?: number; weightDecay?: number; freezeBackbone?: boolean; freezeBn?: boolean; earlyStopMonitor?: string;
  earlyStopMinDelta?: number; earlyStopPatience?: number; out?: string; saveLast?: boolean;
  saveSteps?: number; saveIntervalS?: number; keepLast?: number; seed?: number; device?: string;
  resume?: string; gdriveBackup?: string; model?: string; optimizer?: string; maxSteps?: number;
  threads?: number; dataN?: number; dataset?: string; initFrom?: string; quiet?: boolean;
  data?: string; ann?: string; imgSize?: number; channels?: string; augment?: boolean; valFraction?: number; cacheDir?: string;
  modelOptions?: string; initMap?: string[]; initGroups?: string;
  diskCap?: number; permanentEvery?: number;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `500M`, `2GB`, `1.5GiB`, `123456` → bytes (decimal units as `formatBytes` prints them; KiB… binary). */
export const bytesArg = (flag: string) => (v: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`${flag} expects a size such as 500M, 2G or 1.5GiB (bytes without a unit), got "${v}"`);
  const n = Math.round(Number(m[1]) * unit);
  if (n < 1) throw new InvalidArgumentError(`${flag} must be at least 1 byte, got "${v}"`);
  return n;
};

function readJson(file: string, what: string): unknown {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new ConfigError(`${what} ${file} does not exist or cannot be read`); }
  try { return JSON.parse(text); } catch (e) { throw new ConfigError(`${what} ${file} is not valid JSON: ${(e as Error).message}`); }
}

function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new ConfigError(`${flag} expects a JSON object, e.g. '{"width": 16}': ${(e as Error).message}`); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${flag} expects a JSON object, e.g. '{"width": 16}'`);
  return v as Record<string, unknown>;
}

/** The train config from --config plus flags (flags win). Exported for tests. */
export function configFromFlags(f: TrainFlags): TrainConfigInput {
  const base = (f.config ? readJson(f.config, 'config file') : {}) as Record<string, unknown>;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new ConfigError(`config file ${f.config} must hold a JSON object`);
  const c: Record<string, unknown> = { ...base };
  const set = (k: string, v: unknown) => { if (v !== undefined) c[k] = v; };
  set('epochs', f.epochs); set('batchSize', f.batch); set('lr', f.lr); set('momentum', f.momentum);
  set('weightDecay', f.weightDecay); set('out', f.out); set('seed', f.seed); set('device', f.device);
  set('resume', f.resume); set('model', f.model); set('optimizer', f.optimizer); set('maxSteps', f.maxSteps);
  set('threads', f.threads); set('initFrom', f.initFrom);
  if (f.modelOptions !== undefined) c.modelOptions = parseJsonObject(f.modelOptions, '--model-options');
  if (f.initMap !== undefined) c.initMap = parsePrefixMap(f.initMap);
  if (f.initGroups !== undefined) c.initGroups = f.initGroups.split(',').map((g) => g.trim()).filter(Boolean);
  if (f.dataN !== undefined) c.data = { ...(c.data as object), n: f.dataN };
  if (f.dataset !== undefined) c.data = { ...(c.data as object), name: f.dataset };
  const data: Record<string, unknown> = {};
  if (f.data !== undefined) data.path = f.data;
  if (f.ann !== undefined) data.ann = f.ann;
  if (f.imgSize !== undefined) data.size = f.imgSize;
  if (f.channels !== undefined) data.channels = f.channels === 'auto' ? 'auto' : Number(f.channels);
  if (f.valFraction !== undefined) data.valFraction = f.valFraction;
  if (f.cacheDir !== undefined) data.cacheDir = f.cacheDir;
  if (f.augment) data.augment = { ...STANDARD_AUGMENT, ...((c.data as { augment?: object } | undefined)?.augment) };
  if (Object.keys(data).length) c.data = { ...(c.data as object), ...data };
  if (f.lrHead !== undefined || f.lrBackbone !== undefined) {
    const g = { ...(c.lrGroups as Record<string, number> | undefined) };
    if (f.lrHead !== undefined) g.head = f.lrHead;
    if (f.lrBackbone !== undefined) g.backbone = f.lrBackbone;
    c.lrGroups = g;
  }
  if (f.freezeBackbone) c.freeze = [...new Set([...((c.freeze as string[] | undefined) ?? []), 'backbone'])];
  if (f.freezeBn) c.freezeBn = true;
  if (f.earlyStopMonitor !== undefined || f.earlyStopMinDelta !== undefined || f.earlyStopPatience !== undefined) {
    const es = { ...(c.earlyStopping as Record<string, unknown> | undefined) };
    if (f.earlyStopMonitor !== undefined) es.monitor = f.earlyStopMonitor;
    if (f.earlyStopMinDelta !== undefined) es.minDelta = f.earlyStopMinDelta;
    if (f.earlyStopPatience !== undefined) es.patience = f.earlyStopPatience;
    if (es.patience === undefined) throw new ConfigError('early stopping needs --early-stop-patience N (epochs without improvement before stopping)');
    c.earlyStopping = es;
  }
  const ckFlags = { saveLast: f.saveLast, saveSteps: f.saveSteps, saveIntervalS: f.saveIntervalS, keepLast: f.keepLast, diskCapBytes: f.diskCap, permanentEvery: f.permanentEvery };
  if (Object.values(ckFlags).some((v) => v !== undefined)) {
    const ck = { ...(c.checkpoint as Record<string, unknown> | undefined) };
    for (const [k, v] of Object.entries(ckFlags)) if (v !== undefined) ck[k] = v;
    c.checkpoint = ck;
  }
  if (c.epochs === undefined) throw new ConfigError('missing --epochs N (or "epochs" in --config)');
  if (c.lr === undefined) {
    const typical = c.optimizer === 'adamw' ? '0.001' : '0.01';
    throw new ConfigError(`missing the learning rate: add --lr X (or "lr" in --config), e.g. --lr ${typical} (a usual start for ${c.optimizer === 'adamw' ? 'AdamW' : 'SGD'})`);
  }
  return c as TrainConfigInput;
}

