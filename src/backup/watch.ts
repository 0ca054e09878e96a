// `drivetrain backup --watch DIR`: mirror a folder written by another program (e.g. a PyTorch
// script's last.pth / best.pth). A file is taken once its size and mtime have been stable for
// `stableMs` and no process has it open for writing, or, when it keeps changing (rewritten every
// few seconds), after `maxWaitMs` in the newest version that is complete. It is copied aside first
// (the writer may rewrite it in place) and checked for completeness by its format (file-check.ts):
// a half-written `.pth` is never published; the previous version stays, with a warning. Then it is
// published like a checkpoint: blobs, manifest, latest.json last.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Store } from '../storage/store.js';
import { formatBytes } from '../storage/store.js';
import type { BackupEvent } from './backup.js';
import { checkFile, type TrainerInfo } from './file-check.js';
import { RunPublisher, readStoreManifest } from './publish.js';
import { DEFAULT_CHUNK_BYTES, type PlannedFile, planFiles } from './segments.js';

export interface WatchOptions {
  dir: string;
  store: Store;
  /** Name on the store (default: the folder's name). */
  run?: string;
  /** Poll interval (default 2 s). */
  intervalMs?: number;
  /** How long size and mtime must stay unchanged (default 5 s). */
  stableMs?: number;
  /** A file that keeps changing is taken anyway after this long, in its newest complete version (default max(30 s, 6 × stableMs)). */
  maxWaitMs?: number;
  /** Snapshots kept on the store (default 3). */
  keepLast?: number;
  chunkBytes?: number;
  /** Which files to mirror (relative `/` paths); default: all not starting with a dot. */
  include?: (rel: string) => boolean;
  /** Poll in the background (default true); false: call scanOnce() yourself. */
  poll?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

/** A file in a new snapshot, with the trainer's epoch/step when the file says. */
export interface ChangedFile extends TrainerInfo { path: string; size: number }

export type WatchDone = Extract<BackupEvent, { type: 'done' }> & { files: ChangedFile[] };
export type WatchEvent =
  | Exclude<BackupEvent, { type: 'done' }>
  | WatchDone
  /** a file is not taken yet, and why (said once per change that keeps it waiting) */
  | { type: 'waiting'; path: string; reason: string }
  /** a file is stable but incomplete by its format: the previous version (if any) is kept */
  | { type: 'incomplete'; path: string; reason: string; kept: string | null };

export interface FolderWatcher {
  /** One poll: uploads a new snapshot when files changed; returns its 'done' event or null. */
  scanOnce(): Promise<WatchDone | null>;
  onEvent(listener: (e: WatchEvent) => void): () => void;
  /** Stop polling (after the scan in progress; a pause between polls ends at once). */
  stop(): Promise<void>;
}

interface Seen {
  size: number;
  mtimeMs: number;
  /** when this size+mtime was first seen */
  since: number;
  /** when the file first differed from what is on the store (null: up to date) */
  pendingSince: number | null;
  changes: number;
  /** the waiting/incomplete notice already given for this pending period / version */
  told: string | null;
}

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fsp.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => [])) {
    if (d.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await walk(root, r)));
    else if (d.isFile()) out.push(r);
  }
  return out;
}

/** Absolute paths (under `under`, default anywhere) some process has open for writing (Linux /proc; empty set elsewhere). */
export async function openForWriting(under = '/'): Promise<Set<string>> {
  const out = new Set<string>();
  const pids = (await fsp.readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  const one = async (pid: string) => {
    const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    await Promise.all(fds.map(async (fd) => {
      const target = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!target.startsWith(under)) return;
      const info = await fsp.readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const flags = /flags:\s*([0-7]+)/.exec(info);
      if (flags && (parseInt(flags[1], 8) & 3) !== 0) out.add(target);
    }));
  };
  for (let i = 0; i < pids.length; i += 8) await Promise.all(pids.slice(i, i + 8).map(one));
  return out;
}

const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export function watchFolder(o: WatchOptions): FolderWatcher {
  const dir = path.resolve(o.dir);
  const run = o.run ?? path.basename(dir);
  const now = o.now ?? Date.now;
  const stableMs = o.stableMs ?? 5000;
  const maxWaitMs = o.maxWaitMs ?? Math.max(30_000, 6 * stableMs);
  const publisher = new RunPublisher(o.store, run, { lastN: o.keepLast ?? 3, recoveryN: 1 }, 4);
  const seen = new Map<string, Seen>();
  const listeners = new Set<(e: WatchEvent) => void>();
  const emit = (e: WatchEvent) => { for (const l of listeners) { try { l(e); } catch { /* ignore */ } } };
  let last: Map<string, PlannedFile> | null = null; // what the newest snapshot holds, by path
  const info = new Map<string, TrainerInfo>(); // trainer epoch/step of the versions in `last`
  const uploaded = new Map<string, { size: number; mtimeMs: number }>();
  let stopped = false;
  let busy: Promise<WatchDone | null> | null = null;
  let wake: (() => void) | null = null; // ends the pause between polls early (stop)

  async function previous(): Promise<Map<string, PlannedFile>> {
    if (last) return last;
    await publisher.init();
    last = new Map();
    const latest = publisher.latest;
    if (latest) {
      const m = await readStoreManifest(o.store, run, latest.name);
      for (const f of m.files) {
        let off = 0;
        last.set(f.path, { path: f.path, abs: path.join(dir, f.path), size: f.size, sha256: f.sha256, segments: f.segments.map((s) => ({ offset: (off += s.size) - s.size, size: s.size, sha256: s.sha256, of: s.of })) });
      }
    }
    return last;
  }

  /** Which changed files to try now: stable and closed, or pending past maxWaitMs (forced). */
  async function candidates(files: string[], t: number): Promise<{ rel: string; forced: boolean }[]> {
    const writing = await openForWriting(dir + path.sep);
    const out: { rel: string; forced: boolean }[] = [];
    for (const rel of files) {
      const st = await fsp.stat(path.join(dir, rel)).catch(() => null);
      if (!st) continue;
      const u = uploaded.get(rel);
      const current = !!u && u.size === st.size && u.mtimeMs === st.mtimeMs;
      let s = seen.get(rel);
      const changedNow = !s || s.size !== st.size || s.mtimeMs !== st.mtimeMs;
      if (changedNow) {
        const pendingSince = current ? null : (s?.pendingSince ?? t);
        s = { size: st.size, mtimeMs: st.mtimeMs, since: t, pendingSince, changes: (s && pendingSince !== null ? s.changes : 0) + (s ? 1 : 0), told: s?.told ?? null };
        seen.set(rel, s);
      }
      if (!s) continue;
      if (current || s.told === `bad@${s.size}:${s.mtimeMs}`) continue; // up to date, or known incomplete
      const open = writing.has(path.join(dir, rel));
      // a version seen for the first time is looked at again before it is taken
      const stable = !changedNow && t - s.since >= stableMs && !open;
      const forced = s.pendingSince !== null && t - s.pendingSince >= maxWaitMs;
      if (stable || forced) { out.push({ rel, forced: !stable }); continue; }
      if (s.told === `wait@${s.pendingSince}`) continue;
      const waited = t - (s.pendingSince ?? t);
      if (!open && s.changes < 2) continue; // an ordinary change: it will settle within stableMs
      s.told = `wait@${s.pendingSince}`;
      const why = open ? 'it is open for writing by another process' : `it changed ${s.changes} times in ${secs(waited)} (about every ${secs(waited / Math.max(1, s.changes))}), never unchanged for the ${secs(stableMs)} --stable asks`;
      emit({ type: 'waiting', path: rel, reason: `${why}; its newest complete version is backed up at the latest ${secs(maxWaitMs)} after it first changed` });
    }
    return out;
  }

  async function scan(): Promise<WatchDone | null> {
    const prev = await previous();
    const t = now();
    const files = (await walk(dir)).filter((r) => (o.include ? o.include(r) : true));
    const ready = await candidates(files, t);
    if (ready.length === 0) return null;
    // Copy aside, and keep only copies whose source did not change during the copy and that are complete.
    const stage = await fsp.mkdtemp(path.join(tmpdir(), 'drivetrain-watch-'));
    try {
      const copied: string[] = [];
      const got = new Map<string, { size: number; mtimeMs: number; info: TrainerInfo }>();
      for (const { rel, forced } of ready) {
        const src = path.join(dir, rel);
        const before = await fsp.stat(src).catch(() => null);
        const dst = path.join(stage, ...rel.split('/'));
        await fsp.mkdir(path.dirname(dst), { recursive: true });
        const ok = before && (await fsp.copyFile(src, dst).then(() => true, () => false));
        const after = await fsp.stat(src).catch(() => null);
        if (!ok || !before || !after || after.size !== before.size || after.mtimeMs !== before.mtimeMs) continue;
        if (forced && (await openForWriting(dir + path.sep)).has(src)) continue; // being rewritten right now: next scan
        const c = await checkFile(dst, rel);
        if (!c.complete) {
          const s = seen.get(rel)!;
          if (!forced && s.told !== `bad@${before.size}:${before.mtimeMs}`) {
            s.told = `bad@${before.size}:${before.mtimeMs}`;
            emit({ type: 'incomplete', path: rel, reason: c.reason ?? 'incomplete', kept: prev.has(rel) ? publisher.latest?.name ?? null : null });
          }
          continue;
        }
        copied.push(rel);
        got.set(rel, { size: before.size, mtimeMs: before.mtimeMs, info: c.info });
      }
      if (copied.length === 0) return null;
      const planned = await planFiles(stage, copied, o.chunkBytes ?? DEFAULT_CHUNK_BYTES);
      const next = new Map(prev);
      for (const p of planned) next.set(p.path, p);
      for (const k of [...next.keys()]) if (!files.includes(k)) next.delete(k); // deleted locally
      const seq = (publisher.latest?.globalStep ?? 0) + 1;
      const name = `snap-${String(seq).padStart(9, '0')}`;
      const t0 = Date.now();
      // globalStep orders the snapshots (restore picks the newest); kind `snapshot` says it is not a trainer step
      const r = await publisher.publish({
        name, type: 'folder', relDir: '', kind: 'snapshot', epoch: 0, stepInEpoch: 0, globalStep: seq, metrics: {}, created: new Date().toISOString(),
      }, [...next.values()].sort((a, b) => a.path.localeCompare(b.path)), (p) => emit({ type: 'progress', name, globalStep: seq, ...p }));
      last = next;
      for (const [rel, g] of got) {
        uploaded.set(rel, { size: g.size, mtimeMs: g.mtimeMs });
        info.set(rel, g.info);
        const s = seen.get(rel)!;
        const current = s.size === g.size && s.mtimeMs === g.mtimeMs;
        seen.set(rel, { ...s, pendingSince: current ? null : t, changes: 0, told: null });
      }
      const changed: ChangedFile[] = copied.map((rel) => ({ path: rel, size: got.get(rel)!.size, ...got.get(rel)!.info }));
      const ev: WatchDone = { type: 'done', name, globalStep: seq, newBytes: r.newBytes, reusedBytes: r.reusedBytes, seconds: (Date.now() - t0) / 1000, deleted: r.deleted, files: changed };
      emit(ev);
      return ev;
    } finally {
      await fsp.rm(stage, { recursive: true, force: true });
    }
  }

  const scanOnce = (): Promise<WatchDone | null> => {
    busy ??= scan().finally(() => { busy = null; });
    return busy;
  };

  const loop = (async () => {
    while (!stopped && o.poll !== false) {
      try {
        await scanOnce();
      } catch (e) {
        emit({ type: 'error', name: run, globalStep: 0, error: (e as Error).message, attempt: 1, willRetry: true });
      }
      if (!stopped) await new Promise<void>((r) => { const t = setTimeout(r, o.intervalMs ?? 2000); wake = () => { clearTimeout(t); r(); }; });
    }
  })();

  return {
    scanOnce,
    onEvent(l) { listeners.add(l); return () => listeners.delete(l); },
    async stop() { stopped = true; wake?.(); await loop; if (busy) await busy.catch(() => null); },
  };
}

/** `last.pth (epoch 4, step 160)` */
export function describeFile(f: ChangedFile): string {
  const parts = [f.epoch !== undefined ? `epoch ${f.epoch}` : '', f.step !== undefined ? `step ${f.step}` : ''].filter(Boolean);
  return parts.length ? `${f.path} (${parts.join(', ')})` : f.path;
}

/** `✓ Backed up last.pth (epoch 4, step 160), best.pth as snap-000000007 (1.2 MB new, 3 MB reused)` */
export const describeSnapshot = (e: { name: string; newBytes: number; reusedBytes: number; files?: ChangedFile[]; deleted?: string[] }) => {
  const what = e.files?.length ? e.files.map(describeFile).join(', ') : 'the folder';
  return `✓ Backed up ${what} as ${e.name} (${formatBytes(e.newBytes)} new, ${formatBytes(e.reusedBytes)} reused)`;
};

/** One line per watcher event worth printing; null for quiet ones. */
export function formatWatchEvent(e: WatchEvent): string | null {
  switch (e.type) {
    case 'done': return describeSnapshot(e);
    case 'waiting': return `… ${e.path} not backed up yet: ${e.reason}`;
    case 'incomplete': return `⚠ ${e.path} is incomplete (${e.reason}); ${e.kept ? `keeping the previous version from ${e.kept}` : 'no complete version of it is backed up yet'} until a complete one is written`;
    case 'error': return `✗ BACKUP FAILED (${e.error})${e.willRetry ? ' — will retry at the next scan' : ''}`;
    default: return null;
  }
}
