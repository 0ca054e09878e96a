// The Store contract, run against every implementation (LocalDirStore, GoogleDriveStore).
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { type Store, bufferSource, readFileFromStore } from '../../src/storage/store.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

export function storeContract(make: () => Promise<Store>): void {
  it('round-trips bytes bitwise (buffer, byte source, stream, empty) with size and md5', async () => {
    const store = await make();
    const cases: [string, Buffer][] = [
      ['a/b/small.bin', randomBytes(1000)],
      ['a/b/multi-chunk.bin', randomBytes(256 * 1024 * 3 + 17)],
      ['a/exact.bin', randomBytes(256 * 1024 * 2)],
      ['empty.bin', Buffer.alloc(0)],
    ];
    for (const [p, data] of cases) {
      const r = await store.write(p, data);
      expect(r).toEqual({ size: data.length, md5: md5(data) });
      expect(await store.stat(p)).toEqual({ size: data.length, md5: md5(data) });
      expect((await readFileFromStore(store, p)).equals(data)).toBe(true);
    }
    const big = randomBytes(256 * 1024 * 2 + 5);
    await store.write('src.bin', bufferSource(big));
    expect((await readFileFromStore(store, 'src.bin')).equals(big)).toBe(true);
    await store.write('stream.bin', Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]));
    expect((await readFileFromStore(store, 'stream.bin')).equals(big)).toBe(true);
    const exact = randomBytes(256 * 1024 * 2);
    await store.write('stream-exact.bin', Readable.from([exact]));
    expect((await readFileFromStore(store, 'stream-exact.bin')).equals(exact)).toBe(true);
  });

  it('reads byte ranges', async () => {
    const store = await make();
    const data = randomBytes(300_000);
    await store.write('r/x.bin', data);
    expect((await readFileFromStore(store, 'r/x.bin', { start: 10, end: 19 })).equals(data.subarray(10, 20))).toBe(true);
    expect((await readFileFromStore(store, 'r/x.bin', { start: 299_990 })).equals(data.subarray(299_990))).toBe(true);
  });

  it('replaces existing files, lists folders, deletes, and reports absence', async () => {
    const store = await make();
    await store.write('d/one.txt', Buffer.from('first'));
    await store.write('d/one.txt', Buffer.from('second version'));
    await store.write('d/sub/two.txt', Buffer.from('2'));
    await store.mkdir('d/empty');
    expect((await readFileFromStore(store, 'd/one.txt')).toString()).toBe('second version');
    const names = (await store.list('d')).map((e) => `${e.name}${e.isFolder ? '/' : ''}`);
    expect(names).toEqual(['empty/', 'one.txt', 'sub/']);
    expect((await store.list('d')).find((e) => e.name === 'one.txt')?.size).toBe(14);
    expect(await store.list('nope')).toEqual([]);
    expect(await store.stat('d/missing')).toBeNull();
    await expect(store.read('d/missing')).rejects.toThrow();
    await store.delete('d/one.txt');
    expect(await store.stat('d/one.txt')).toBeNull();
    await store.delete('d');
    expect(await store.list('d')).toEqual([]);
    await store.delete('d/never-existed');
  });

  it('refuses paths with ..', async () => {
    const store = await make();
    await expect(store.write('../x', Buffer.from('x'))).rejects.toThrow(/\.\./);
  });
}
