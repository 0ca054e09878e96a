// Against real Google Drive — only when credentials are supplied:
//   DRIVETRAIN_TEST_DRIVE=1 plus DRIVETRAIN_DRIVE_TOKEN_FILE (or _SERVICE_ACCOUNT with
//   DRIVETRAIN_DRIVE_FOLDER_ID in a Shared Drive, or _ACCESS_TOKEN).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDriveAuth, credentialsFromEnv } from '../src/storage/drive-auth.js';
import { GoogleDriveStore } from '../src/storage/drive-store.js';
import { readFileFromStore } from '../src/storage/store.js';

const creds = process.env.DRIVETRAIN_TEST_DRIVE === '1' ? credentialsFromEnv() : null;
if (!creds) console.log('real Google Drive tests skipped: set DRIVETRAIN_TEST_DRIVE=1 and DRIVETRAIN_DRIVE_TOKEN_FILE (or _SERVICE_ACCOUNT / _ACCESS_TOKEN) to run them');

describe.skipIf(!creds)('GoogleDriveStore on real Drive', () => {
  it('round-trips a multi-chunk file and a range, then cleans up', async () => {
    const store = new GoogleDriveStore({ auth: await createDriveAuth(creds!), basePath: `drivetrain-test-${Date.now()}`, rootFolderId: process.env.DRIVETRAIN_DRIVE_FOLDER_ID || undefined, chunkSize: 256 * 1024 });
    try {
      const data = randomBytes(256 * 1024 * 2 + 99);
      const w = await store.write('a/b.bin', data);
      expect((await store.stat('a/b.bin'))?.md5).toBe(w.md5);
      expect((await readFileFromStore(store, 'a/b.bin')).equals(data)).toBe(true);
      expect((await readFileFromStore(store, 'a/b.bin', { start: 5, end: 9 })).equals(data.subarray(5, 10))).toBe(true);
    } finally {
      await store.delete('');
    }
  });
});
