// Helpers: a FakeDrive server plus a GoogleDriveStore (real @googleapis/drive client) pointed at it.
import { createDriveAuth } from '../../src/storage/drive-auth.js';
import { GoogleDriveStore, type GoogleDriveStoreOptions } from '../../src/storage/drive-store.js';
import { FakeDrive } from './fake-drive.js';
import { installNetGuard } from './net-guard.js';

export async function startFakeDrive(): Promise<FakeDrive> {
  installNetGuard();
  const fake = new FakeDrive();
  await fake.start();
  return fake;
}

export async function fakeDriveStore(fake: FakeDrive, o: Partial<Omit<GoogleDriveStoreOptions, 'auth'>> = {}): Promise<GoogleDriveStore> {
  return new GoogleDriveStore({
    auth: await createDriveAuth({ accessToken: fake.token }),
    rootUrl: fake.url,
    basePath: 'drivetrain',
    chunkSize: 256 * 1024,
    multipartMaxBytes: 256 * 1024,
    timeoutMs: 2000,
    baseDelayMs: 5,
    maxDelayMs: 50,
    attempts: 12,
    ...o,
  });
}
