import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalDirStore } from '../src/storage/local-store.js';
import { checkQuota } from '../src/storage/mount.js';
import { storeContract } from './support/store-contract.js';

describe('LocalDirStore', () => {
  storeContract(async () => new LocalDirStore(mkdtempSync(path.join(tmpdir(), 'dt-local-'))));

  it('leaves no partial file when the source stream fails', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'dt-local-'));
    const store = new LocalDirStore(root);
    await store.write('f.bin', Buffer.from('old'));
    const failing = new Readable({ read() { this.push(Buffer.alloc(1000)); this.destroy(new Error('disk gone')); } });
    await expect(store.write('f.bin', failing)).rejects.toThrow('disk gone');
    expect(readdirSync(root)).toEqual(['f.bin']);
    expect((await store.stat('f.bin'))?.size).toBe(3);
  });

  it('copies a file range off the event loop and refuses bytes whose sha256 is not the expected one', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'dt-local-'));
    const store = new LocalDirStore(path.join(root, 'store'));
    const src = path.join(root, 'src.bin');
    const data = randomBytes(100_000);
    writeFileSync(src, data);
    const range = (sha256: string) => ({ size: 1000, sha256, file: { path: src, offset: 500 }, open: () => { throw new Error('not used'); } });
    const good = createHash('sha256').update(data.subarray(500, 1500)).digest('hex');
    expect(await store.write('ok.bin', range(good))).toEqual({ size: 1000, md5: createHash('md5').update(data.subarray(500, 1500)).digest('hex') });
    expect(readFileSync(path.join(root, 'store', 'ok.bin')).equals(data.subarray(500, 1500))).toBe(true);
    await expect(store.write('bad.bin', range('0'.repeat(64)))).rejects.toThrow(/sha256/);
    expect(readdirSync(path.join(root, 'store'))).toEqual(['ok.bin']);
  });

  it('reports free space and warns when a run will not fit', async () => {
    const store = new LocalDirStore(mkdtempSync(path.join(tmpdir(), 'dt-local-')));
    const free = await store.freeSpace();
    expect(free).toBeGreaterThan(0);
    const warnings: string[] = [];
    expect((await checkQuota(store, 1, (m) => warnings.push(m))).ok).toBe(true);
    expect((await checkQuota(store, free! * 2, (m) => warnings.push(m))).ok).toBe(false);
    expect(warnings.join()).toMatch(/only .* free/);
  });
});
