import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriveAuth } from '../src/storage/drive-auth.js';
import { GoogleDriveStore } from '../src/storage/drive-store.js';
import { readFileFromStore } from '../src/storage/store.js';
import type { FakeDrive } from './support/fake-drive.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';
import { blockedRequests } from './support/net-guard.js';
import { storeContract } from './support/store-contract.js';

let fake: FakeDrive;
beforeAll(async () => { fake = await startFakeDrive(); });
afterAll(async () => { await fake.stop(); expect(blockedRequests).toEqual([]); });

describe('GoogleDriveStore against the fake Drive server', () => {
  let n = 0;
  storeContract(async () => fakeDriveStore(fake, { basePath: `contract${n++}` }));

  it('uploads in 256 KiB-multiple chunks and puts folders where Drive would', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'chunks', chunkSize: 512 * 1024 });
    fake.resetStats();
    const data = randomBytes(512 * 1024 * 3 + 1);
    await store.write('x/y/z.bin', data);
    expect(fake.stats.byKind['upload-chunk']).toBe(4);
    expect(fake.stats.uploadBytes).toBe(data.length);
    const folder = fake.folderByPath('chunks/x/y');
    expect(fake.childrenOf(folder!.id).map((f) => f.name)).toEqual(['z.bin']);
  });

  it('fake server: resumable chunks may be sent with POST; 308 + Range; status query; expired session → 404', async () => {
    const h = { Authorization: `Bearer ${fake.token}` };
    const start = await fetch(`${fake.url}upload/drive/v3/files?uploadType=resumable`, {
      method: 'POST', headers: { ...h, 'Content-Type': 'application/json', 'X-Upload-Content-Length': String(300 * 1024) }, body: JSON.stringify({ name: 'raw.bin' }),
    });
    const uri = start.headers.get('location')!;
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/upload\/drive\/v3\/files\?.*upload_id=/);
    const data = randomBytes(300 * 1024);
    const c1 = await fetch(uri, { method: 'POST', headers: { ...h, 'Content-Range': `bytes 0-${256 * 1024 - 1}/${data.length}` }, body: data.subarray(0, 256 * 1024) });
    expect([c1.status, c1.headers.get('range')]).toEqual([308, `bytes=0-${256 * 1024 - 1}`]);
    const q = await fetch(uri, { method: 'PUT', headers: { ...h, 'Content-Range': `bytes */${data.length}` } });
    expect(q.status).toBe(308);
    const c2 = await fetch(uri, { method: 'PUT', headers: { ...h, 'Content-Range': `bytes ${256 * 1024}-${data.length - 1}/${data.length}` }, body: data.subarray(256 * 1024) });
    const meta = await c2.json() as { size: string; md5Checksum: string };
    expect([c2.status, meta.size]).toEqual([200, String(data.length)]);
    fake.expireSessions();
    expect((await fetch(uri, { method: 'PUT', headers: { ...h, 'Content-Range': `bytes */${data.length}` } })).status).toBe(404);
  });

  it('updates an existing file instead of creating a duplicate name', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'dups' });
    await store.write('f.txt', Buffer.from('a'));
    await store.write('f.txt', Buffer.from('bb'));
    expect(fake.childrenOf(fake.folderByPath('dups')!.id).length).toBe(1);
  });

  it('converges through 429, 403 rate limits, 5xx, resets, stalls and expired sessions', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'faults', timeoutMs: 500 });
    const data = randomBytes(256 * 1024 * 6 + 333);
    fake.faults = { rate: 0.3, kinds: ['429', '403-rate', '500', '503', 'reset', 'stall', 'expire'] };
    try {
      for (let i = 0; i < 3; i++) {
        await store.write(`f${i}.bin`, data);
        expect((await readFileFromStore(store, `f${i}.bin`)).equals(data)).toBe(true);
      }
    } finally {
      fake.faults = null;
    }
    expect(fake.stats.faults).toBeGreaterThan(3);
  });

  it('masks the upload session id in network-error messages (the session URI grants upload access)', async () => {
    const reasons: string[] = [];
    const store = await fakeDriveStore(fake, { basePath: 'redact', onRetry: (r) => reasons.push(r.reason) });
    const data = randomBytes(256 * 1024 * 2 + 10);
    fake.resetStats();
    fake.faultFn = (kind, n) => (kind === 'upload-chunk' && n === 1 ? 'reset' : null);
    try {
      await store.write('f.bin', data);
    } finally {
      fake.faultFn = null;
    }
    expect(reasons.some((r) => r.includes('upload_id=***'))).toBe(true);
    expect(reasons.filter((r) => /upload_id=(?!\*\*\*)/.test(r))).toEqual([]);
  });

  it('resumes a download after a reset mid-body with Range', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'dl' });
    const data = randomBytes(200_000);
    await store.write('f.bin', data);
    fake.resetStats();
    fake.faultFn = (kind, n) => (kind === 'media' && n === 1 ? 'reset' : null);
    try {
      expect((await readFileFromStore(store, 'f.bin')).equals(data)).toBe(true);
    } finally {
      fake.faultFn = null;
    }
    expect(fake.stats.byKind.media).toBe(2);
    expect(fake.stats.downloadBytes).toBe(data.length); // the second request fetched only the rest
  });

  it('retries a download refused with 403 userRateLimitExceeded (reason read from a streamed error body)', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'dl403' });
    const data = randomBytes(1000);
    await store.write('f.bin', data);
    fake.faultFn = (kind, n) => (kind === 'media' && n <= 2 ? '403-rate' : null);
    fake.resetStats();
    try {
      expect((await readFileFromStore(store, 'f.bin')).equals(data)).toBe(true);
    } finally {
      fake.faultFn = null;
    }
    expect(fake.stats.byKind.media).toBe(3);
  });

  it('resumes an upload session remembered across store instances', async () => {
    const sessions = new Map<string, string>();
    const mem = { get: (k: string) => sessions.get(k), set: (k: string, v?: string) => { if (v) sessions.set(k, v); else sessions.delete(k); } };
    const data = randomBytes(256 * 1024 * 8);
    const a = await fakeDriveStore(fake, { basePath: 'resume', sessions: mem, attempts: 1 });
    fake.faultFn = (kind, n) => (kind === 'upload-chunk' && n === 4 ? '500' : null);
    fake.resetStats();
    await expect(a.write('big.bin', data)).rejects.toThrow(/500/);
    fake.faultFn = null;
    expect(sessions.size).toBe(1);
    const b = await fakeDriveStore(fake, { basePath: 'resume', sessions: mem });
    fake.resetStats();
    await b.write('big.bin', data);
    expect(fake.stats.resumedSessions).toBe(1);
    expect(fake.stats.uploadBytes).toBe(data.length - 3 * 256 * 1024); // chunks 1-3 were kept by Drive
    expect(sessions.size).toBe(0);
    expect((await readFileFromStore(b, 'big.bin')).equals(data)).toBe(true);
  });

  it('explains storageQuotaExceeded for service accounts and reads the quota', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'quota' });
    expect(await store.freeSpace()).toBeGreaterThan(0);
    fake.quotaLimit = 10;
    try {
      const sa = new GoogleDriveStore({ auth: { kind: 'service-account', client: (await createDriveAuth({ accessToken: fake.token })).client }, rootUrl: fake.url, basePath: 'quota', attempts: 1 });
      await expect(sa.write('x.bin', randomBytes(100))).rejects.toThrow(/Shared Drive/);
    } finally {
      fake.quotaLimit = 15 * 1024 ** 3;
    }
  });

  it('never puts the access token in error messages', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'tok', attempts: 1 });
    fake.token = 'other';
    try {
      const err = await store.write('x.bin', Buffer.from('x')).catch((e: Error) => e);
      expect(String((err as Error).message)).toMatch(/401/);
      expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toContain('fake-token');
    } finally {
      fake.token = 'fake-token';
    }
  });
});
