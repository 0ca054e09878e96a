// RunPublisher when a blob upload fails: no upload starts after the failure, and publish()
// rejects only once the uploads already in flight have finished (nothing writes behind it); a
// full store says how full; temp files of killed writers do not outlive the next publish; the
// metrics log is uploaded incrementally.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LOG_FILE, restoreLog } from '../src/backup/log-backup.js';
import { RunPublisher } from '../src/backup/publish.js';
import { planFiles } from '../src/backup/segments.js';
import { LocalDirStore, tempNameFor } from '../src/storage/local-store.js';
import type { StoreWriteResult, WriteData } from '../src/storage/store.js';

const work = await mkdtemp(path.join(tmpdir(), 'dt-publish-'));
afterAll(() => rm(work, { recursive: true, force: true }));

class FailingStore extends LocalDirStore {
  log: string[] = [];
  private n = 0;
  override async write(p: string, data: WriteData): Promise<StoreWriteResult> {
    const i = this.n++;
    this.log.push(`start ${i}`);
    await new Promise((r) => setTimeout(r, i === 0 ? 5 : 60));
    if (i === 0) { this.log.push(`fail ${i}`); throw new Error('blob upload failed'); }
    const r = await super.write(p, data);
    this.log.push(`end ${i}`);
    return r;
  }
}

it('stops uploading after a failed blob and settles after the uploads in flight', async () => {
  const src = path.join(work, 'src');
  const rels = ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin', 'f.bin'];
  await mkdir(src, { recursive: true });
  for (const [i, r] of rels.entries()) await writeFile(path.join(src, r), Buffer.alloc(100, i + 1));
  const files = await planFiles(src, rels);
  const store = new FailingStore(path.join(work, 'store'));
  const pub = new RunPublisher(store, 'run', undefined, 3);
  await expect(pub.publish({ name: 'snap-1', type: 'folder', relDir: '', kind: 'last', epoch: 0, stepInEpoch: 0, globalStep: 1, metrics: {}, created: new Date().toISOString() }, files)).rejects.toThrow('blob upload failed');
  const settled = [...store.log];
  await new Promise((r) => setTimeout(r, 150));
  expect(store.log).toEqual(settled); // nothing ran on after publish() rejected
  expect(settled.filter((l) => l.startsWith('start'))).toEqual(['start 0', 'start 1', 'start 2']); // none started after the failure
  expect(settled.filter((l) => l.startsWith('end')).sort()).toEqual(['end 1', 'end 2']); // those in flight finished first
});

const info = (name: string, step: number) => ({ name, type: 'folder' as const, relDir: '', kind: 'snapshot', epoch: 0, stepInEpoch: 0, globalStep: step, metrics: {}, created: new Date().toISOString() });

it('a temp blob left by a killed writer on this host is gone after the next publish, a live one stays', async () => {
  const src = path.join(work, 'src-tmp');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'a.bin'), Buffer.alloc(1000, 7));
  const store = new LocalDirStore(path.join(work, 'store-tmp'));
  const pub = new RunPublisher(store, 'run');
  await pub.publish(info('snap-1', 1), await planFiles(src, ['a.bin']));
  // a writer killed mid-upload a second ago: its pid is gone, its temp file is fresh
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  const blobs = path.join(store.root, 'run', 'blobs');
  const orphan = path.join(blobs, path.basename(tempNameFor(path.join(blobs, 'f'.repeat(64)))).replace(`.${process.pid}-`, `.${dead}-`));
  const live = tempNameFor(path.join(blobs, 'e'.repeat(64))); // this process: may be a write in flight
  await writeFile(orphan, 'half a blob');
  await writeFile(live, 'in flight');
  expect((await stat(orphan)).mtimeMs).toBeGreaterThan(Date.now() - 60_000); // younger than the 60 s age rule
  await writeFile(path.join(src, 'a.bin'), Buffer.alloc(1000, 8));
  await pub.publish(info('snap-2', 2), await planFiles(src, ['a.bin']));
  const left = (await readdir(blobs)).filter((n) => n.startsWith('.tmp-'));
  expect(left).toEqual([path.basename(live)]);
});

class FullStore extends LocalDirStore {
  override async write(p: string, data: WriteData): Promise<StoreWriteResult> {
    if (p.includes('/blobs/')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.write(p, data);
  }
  override async freeSpace(): Promise<number | null> { return 12_000; }
}

it('a full store: the error says how much is free and what the checkpoint still needs', async () => {
  const src = path.join(work, 'src-full');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'a.bin'), Buffer.alloc(50_000, 1));
  const pub = new RunPublisher(new FullStore(path.join(work, 'store-full')), 'run');
  await expect(pub.publish(info('snap-1', 1), await planFiles(src, ['a.bin']))).rejects.toThrow(/store-full is full \(ENOSPC: no space left on device, write\): 12.0 kB free, this checkpoint still needs 50.0 kB\. Free space there .*or keep fewer checkpoints \(--keep-last\)/);
});

it('the metrics log goes up incrementally (what was appended, a 64 KiB chunk per 64 KiB), survives garbage collection and restores', async () => {
  const run = path.join(work, 'log-run');
  await mkdir(run, { recursive: true });
  const line = (i: number) => `${JSON.stringify({ type: 'step', epoch: Math.floor(i / 100), globalStep: i, time: '2026-12-01T00:00:00.000Z', loss: 1 / (i + 1) })}\n`;
  let text = '';
  for (let i = 1; i <= 4000; i++) text += line(i);
  const log = path.join(run, LOG_FILE);
  await writeFile(log, text + '{"type":"step","epo'); // a line still being written is not backed up
  const store = new LocalDirStore(path.join(work, 'store-log'));
  const pub = new RunPublisher(store, 'run', { lastN: 1, recoveryN: 1 });
  const first = await pub.publishLog(log);
  expect(first.newBytes).toBe(Buffer.byteLength(text));
  // appends: what was appended goes up, plus a whole 64 KiB chunk when a chunk boundary is crossed
  for (let k = 0; k < 30; k++) {
    const before = Buffer.byteLength(text);
    for (let i = 0; i < 10; i++) text += line(4001 + k * 10 + i);
    await writeFile(log, text);
    const after = Buffer.byteLength(text);
    const again = await pub.publishLog(log);
    const crossed = Math.floor(before / 65536) !== Math.floor(after / 65536);
    expect(again.newBytes, `append ${k}`).toBe(crossed ? 65536 + (after % 65536) : after - before);
    expect(again.newBytes + again.reusedBytes).toBe(after);
  }
  expect((await pub.publishLog(log)).newBytes).toBe(0); // unchanged: nothing written
  // checkpoints published after it (and the garbage collection of retired ones) keep its pieces
  const src = path.join(work, 'log-src');
  await mkdir(src, { recursive: true });
  for (let k = 1; k <= 4; k++) {
    await writeFile(path.join(src, 'a.bin'), Buffer.alloc(100, k));
    await pub.publish(info(`snap-${k}`, k), await planFiles(src, ['a.bin']));
  }
  const into = path.join(work, 'log-restored');
  expect(await restoreLog(store, 'run', into)).toBe(Buffer.byteLength(text));
  expect(await readFile(path.join(into, LOG_FILE), 'utf8')).toBe(text);
  expect(await restoreLog(store, 'run', into)).toBe(0); // a local log as long as the backup wins
});
