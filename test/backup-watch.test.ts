// Mirroring another trainer's folder (PyTorch-style last.pth / best.pth) and bringing it back.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, promises as fsp, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { restore } from '../src/backup/restore.js';
import { watchFolder } from '../src/backup/watch.js';
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
  expect(b.stdout).toMatch(/✓ Backed up snap-000000001 \(100 kB new, 0 B reused\)/);
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
