// Mirroring another trainer's folder (PyTorch-style last.pth / best.pth) and bringing it back.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, promises as fsp, readFileSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { restore } from '../src/backup/restore.js';
import { describeSnapshot, formatWatchEvent, watchFolder, type WatchEvent } from '../src/backup/watch.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { startFakeDrive } from './support/fake-drive-store.js';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const run = promisify(execFile);

it('uploads stable files only, reuses unchanged ones, skips files open for writing, restores bitwise', async () => {
  const dir = tmp('dt-watch-');
  const store = new LocalDirStore(tmp('dt-watch-store-'));
  const last1 = randomBytes(300_000);
  const best = randomBytes(200_000);
  writeFileSync(path.join(dir, 'last.pth'), last1);
  writeFileSync(path.join(dir, 'best.pth'), best);
  const fd = openSync(path.join(dir, 'writing.pth'), 'w'); // a file still being written
  writeSync(fd, Buffer.from('partial'));
  const w = watchFolder({ dir, store, run: 'torch', stableMs: 0, poll: false, chunkBytes: 64 * 1024 });
  expect(await w.scanOnce()).toBeNull(); // first sight: not yet known to be stable
  const e1 = await w.scanOnce();
  expect(e1?.type === 'done' && e1.newBytes).toBe(500_000);
  expect(await w.scanOnce()).toBeNull(); // nothing changed

  const last2 = Buffer.from(last1);
  last2.fill(1, 0, 1000); // the first 64 KiB chunk changes
  writeFileSync(path.join(dir, 'last.pth'), last2);
  expect(await w.scanOnce()).toBeNull(); // changed: wait until stable
  const e2 = await w.scanOnce();
  expect(e2?.type === 'done' && [e2.newBytes, e2.reusedBytes]).toEqual([64 * 1024, 500_000 - 64 * 1024]);
  await w.stop();
  closeSync(fd);

  const into = tmp('dt-watch-into-');
  const r = await restore({ from: store, run: 'torch', into, log: () => {} });
  expect(r.name).toBe('snap-000000002');
  expect((await fsp.readdir(into)).sort()).toEqual(['best.pth', 'last.pth']);
  expect(readFileSync(path.join(into, 'last.pth')).equals(last2)).toBe(true);
  expect(readFileSync(path.join(into, 'best.pth')).equals(best)).toBe(true);
});

it('CLI: backup --watch … --once, then restore --from … --into …', async () => {
  const dir = tmp('dt-cli-watch-');
  const storeDir = tmp('dt-cli-store-');
  const data = randomBytes(100_000);
  writeFileSync(path.join(dir, 'last.pth'), data);
  const bin = path.join(__dirname, '..', 'bin', 'drivetrain.js');
  const b = await run(process.execPath, [bin, 'backup', '--watch', dir, '--to', storeDir, '--run', 'cli', '--once', '--stable', '0.2']);
  expect(b.stdout).toMatch(/✓ Backed up last\.pth as snap-000000001 \(100 kB new, 0 B reused\) → /);
  const into = tmp('dt-cli-into-');
  const r = await run(process.execPath, [bin, 'restore', '--from', storeDir, '--into', into]);
  expect(r.stdout).toMatch(/Restored snap-000000001/);
  expect(readFileSync(path.join(into, 'last.pth')).equals(data)).toBe(true);
  const l = await run(process.execPath, [bin, 'restore', '--from', storeDir, '--list']);
  expect(l.stdout).toMatch(/^cli\tlatest snap-000000001/);
});

it('CLI with drive:folder targets talks to the Drive API (fake server via env credentials)', async () => {
  const fake = await startFakeDrive();
  try {
    const env = { ...process.env, DRIVETRAIN_DRIVE_ACCESS_TOKEN: fake.token, DRIVETRAIN_DRIVE_ROOT_URL: fake.url };
    const dir = tmp('dt-cli-watch-');
    const data = randomBytes(600_000);
    writeFileSync(path.join(dir, 'best.pth'), data);
    const bin = path.join(__dirname, '..', 'bin', 'drivetrain.js');
    await run(process.execPath, [bin, 'backup', '--watch', dir, '--to', 'drive:backups/colab', '--run', 'pt', '--once', '--stable', '0.2'], { env });
    expect(fake.folderByPath('backups/colab/pt/blobs')).not.toBeNull();
    const into = tmp('dt-cli-into-');
    await run(process.execPath, [bin, 'restore', '--from', 'drive:backups/colab', '--run', 'pt', '--into', into], { env });
    expect(readFileSync(path.join(into, 'best.pth')).equals(data)).toBe(true);
    const noCreds = await run(process.execPath, [bin, 'restore', '--from', 'drive:x', '--list'], { env: { ...process.env, DRIVETRAIN_DRIVE_ACCESS_TOKEN: '' } }).catch((e: { stderr: string }) => e);
    expect((noCreds as { stderr: string }).stderr).toMatch(/needs Drive credentials/);
  } finally {
    await fake.stop();
  }
});

it('stop() ends the pause between polls instead of waiting it out', async () => {
  const dir = tmp('dt-watch-stop-');
  const w = watchFolder({ dir, store: new LocalDirStore(tmp('dt-watch-stop-store-')), run: 'idle', intervalMs: 600_000 });
  await new Promise((r) => setTimeout(r, 100)); // the first (empty) poll is done; the loop is pausing
  await expect(w.stop()).resolves.toBeUndefined(); // a ten-minute pause is still to go: only an early wake finishes within the timeout
}, 5_000);

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name));

it('a .pth or .safetensors cut short (the trainer died mid-write) is not published: the previous version stays, with a warning', async () => {
  const dir = tmp('dt-watch-cut-');
  const store = new LocalDirStore(tmp('dt-watch-cut-store-'));
  const v3 = fixture('torch-epoch3.pth'), v4 = fixture('torch-epoch4.pth'); // torch.save({'epoch': 3, 'global_step': 120, …})
  const header = Buffer.from('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}');
  const len = Buffer.alloc(8);
  len.writeUInt32LE(header.length, 0);
  const st = Buffer.concat([len, header, Buffer.alloc(8)]); // 8 of its 16 data bytes
  writeFileSync(path.join(dir, 'last.pth'), v3);
  const events: WatchEvent[] = [];
  const w = watchFolder({ dir, store, run: 'cut', stableMs: 0, poll: false });
  w.onEvent((e) => events.push(e));
  await w.scanOnce();
  const e1 = await w.scanOnce();
  expect(e1?.files).toEqual([{ path: 'last.pth', size: v3.length, epoch: 3, step: 120 }]);
  expect(describeSnapshot(e1!)).toMatch(/^✓ Backed up last\.pth \(epoch 3, step 120\) as snap-000000001 \(/);

  writeFileSync(path.join(dir, 'last.pth'), v4.subarray(0, Math.floor(v4.length / 2))); // half of the next save, then the trainer died
  writeFileSync(path.join(dir, 'model.safetensors'), st); // header cut short
  await w.scanOnce();
  expect(await w.scanOnce()).toBeNull(); // stable now, but incomplete: nothing new is published
  expect(await w.scanOnce()).toBeNull(); // and it is said once, not at every scan
  const bad = events.filter((e) => e.type === 'incomplete');
  expect(bad.map((e) => formatWatchEvent(e))).toEqual([
    expect.stringMatching(/^⚠ last\.pth is incomplete \(the zip has no end-of-central-directory record .*\); keeping the previous version from snap-000000001 until a complete one is written$/),
    expect.stringMatching(/^⚠ model\.safetensors is incomplete \(the header declares 16 bytes of tensor data, the file holds 8 \(cut short\)\); no complete version of it is backed up yet/),
  ]);
  const into = tmp('dt-watch-cut-into-');
  await restore({ from: store, run: 'cut', into, log: () => {} });
  expect(readFileSync(path.join(into, 'last.pth')).equals(v3)).toBe(true); // a file torch.load can open

  writeFileSync(path.join(dir, 'last.pth'), v4); // the next complete save goes through
  await w.scanOnce();
  const e2 = await w.scanOnce();
  expect(e2?.files).toEqual([{ path: 'last.pth', size: v4.length, epoch: 4, step: 160 }]);
  await w.stop();
});

it('--stable 5 with a file rewritten every 2 s: says why it waits, then backs up the newest complete version after the bounded wait', async () => {
  const dir = tmp('dt-watch-busy-');
  const store = new LocalDirStore(tmp('dt-watch-busy-store-'));
  const file = path.join(dir, 'last.pth');
  let clock = 1_000_000_000;
  const versions = [fixture('torch-epoch3.pth'), fixture('torch-epoch4.pth')];
  const rewrite = (k: number) => { writeFileSync(file, versions[k % 2]); utimesSync(file, clock / 1000, clock / 1000); };
  const events: WatchEvent[] = [];
  const w = watchFolder({ dir, store, run: 'busy', stableMs: 5000, poll: false, now: () => clock });
  w.onEvent((e) => events.push(e));
  let done = null;
  for (let k = 0; k < 20 && !done; k++) {
    rewrite(k);
    done = await w.scanOnce();
    if (!done) clock += 2000;
  }
  const waiting = events.filter((e) => e.type === 'waiting');
  expect(waiting).toHaveLength(1); // said once
  expect(formatWatchEvent(waiting[0])).toMatch(/^… last\.pth not backed up yet: it changed 2 times in 4 s \(about every 2 s\), never unchanged for the 5 s --stable asks; its newest complete version is backed up at the latest 30 s after it first changed$/);
  expect(done?.name).toBe('snap-000000001');
  expect(clock - 1_000_000_000).toBe(30_000); // the default bound: max(30 s, 6 × --stable)
  expect(done?.files).toEqual([{ path: 'last.pth', size: versions[1].length, epoch: 4, step: 160 }]); // the version written at 30 s
  await w.stop();
});
