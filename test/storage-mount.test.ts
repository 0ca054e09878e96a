import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDriveAuth, credentialsFromEnv } from '../src/storage/drive-auth.js';
import { GoogleDriveStore } from '../src/storage/drive-store.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { mountDrive, storeFromTarget } from '../src/storage/mount.js';
import { installNetGuard } from './support/net-guard.js';

installNetGuard();
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

describe('mountDrive', () => {
  it('prefers a mounted Drive folder', async () => {
    const mounted = tmp('dt-mydrive-');
    const logs: string[] = [];
    const s = await mountDrive({ mountedPaths: [mounted], env: {}, log: (m) => logs.push(m) });
    expect(s).toBeInstanceOf(LocalDirStore);
    expect((s as LocalDirStore).root).toBe(path.join(mounted, 'drivetrain'));
    expect(logs[0]).toMatch(/mounted Drive/);
  });

  it('uses Drive API credentials from the environment when nothing is mounted', async () => {
    const s = await mountDrive({ mountedPaths: ['/nonexistent/drive'], env: { DRIVETRAIN_DRIVE_ACCESS_TOKEN: 'tok', DRIVETRAIN_DRIVE_ROOT_URL: 'http://127.0.0.1:9/' }, log: () => {} });
    expect(s).toBeInstanceOf(GoogleDriveStore);
    expect(s.description).toBe('drive:drivetrain');
  });

  it('falls back to ./drive with a notice on how to use real Drive', async () => {
    const logs: string[] = [];
    const dir = tmp('dt-fallback-');
    const s = await mountDrive({ mountedPaths: [], env: {}, fallbackDir: dir, log: (m) => logs.push(m) });
    expect(s).toBeInstanceOf(LocalDirStore);
    expect(logs.join()).toMatch(/drive\.mount.*DRIVETRAIN_DRIVE_TOKEN_FILE/);
  });

  it('parses <drive> targets', async () => {
    expect(await storeFromTarget('/tmp/x')).toBeInstanceOf(LocalDirStore);
    await expect(storeFromTarget('drive:runs', { env: {} })).rejects.toThrow(/needs Drive credentials/);
    const d = await storeFromTarget('drive:runs/a', { env: { DRIVETRAIN_DRIVE_ACCESS_TOKEN: 't' } });
    expect(d.description).toBe('drive:runs/a');
  });
});

describe('Drive credentials', () => {
  it('reads an OAuth token file and saves refreshed tokens with mode 0600', async () => {
    const file = path.join(tmp('dt-tok-'), 'token.json');
    writeFileSync(file, JSON.stringify({ client_id: 'id', client_secret: 'secret', refresh_token: 'refresh' }), { mode: 0o644 });
    const a = await createDriveAuth({ tokenFile: file });
    expect(a.kind).toBe('oauth');
    a.client.emit('tokens', { access_token: 'new-access', expiry_date: 123 });
    for (let i = 0; i < 50 && !readFileSync(file, 'utf8').includes('new-access'); i++) await new Promise((r) => setTimeout(r, 10));
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ refresh_token: 'refresh', access_token: 'new-access', expiry_date: 123 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('explains what a token file or key needs', async () => {
    const file = path.join(tmp('dt-tok-'), 'bad.json');
    writeFileSync(file, '{"client_id": "x"}');
    await expect(createDriveAuth({ tokenFile: file })).rejects.toThrow(/client_secret and refresh_token/);
    await expect(createDriveAuth({ serviceAccountKeyFile: file })).rejects.toThrow(/client_email and private_key/);
    expect(credentialsFromEnv({})).toBeNull();
    expect(credentialsFromEnv({ DRIVETRAIN_DRIVE_TOKEN_FILE: '/x' })).toEqual({ tokenFile: '/x', accessToken: undefined, serviceAccountKeyFile: undefined });
  });
});
