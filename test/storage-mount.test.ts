import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDriveAuth, credentialsFromEnv, saveSecretJson, writeSecretExclusive } from '../src/storage/drive-auth.js';
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

describe('free space before a long run', () => {
  it('mountDrive({ expectBytes }) checks the store\'s free space: a shortfall is a warning, enough is a notice', async () => {
    const dir = tmp('dt-quota-');
    const logs: string[] = [];
    await mountDrive({ path: dir, expectBytes: 1e18, log: (m) => logs.push(m) });
    expect(logs).toEqual([expect.stringMatching(new RegExp(`^drivetrain: warning: only .* free at ${dir} but the run needs about 1000000 TB; backups will fail when it fills up`))]);
    logs.length = 0;
    await mountDrive({ path: dir, expectBytes: 1000, log: (m) => logs.push(m) });
    expect(logs).toEqual([expect.stringMatching(/^drivetrain: .* free at .*, run needs about 1\.0 kB$/)]);
    logs.length = 0;
    await mountDrive({ path: dir, log: (m) => logs.push(m) });
    expect(logs).toEqual([]); // no expectBytes: no check (an unreachable Drive API is not asked)
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

  it('the refreshed token is written through an exclusive (wx), no-follow temp file: planted symlinks are not written through', async () => {
    const d = tmp('dt-tok-link-');
    const file = path.join(d, 'token.json');
    const victim = path.join(d, 'victim.txt');
    writeFileSync(victim, 'keep me');
    writeFileSync(file, '{}', { mode: 0o600 });
    // the temp name older versions used (`.token.json.<pid>.tmp`), planted as a symlink to another file
    symlinkSync(victim, path.join(d, `.token.json.${process.pid}.tmp`));
    await saveSecretJson(file, { refresh_token: 'secret' });
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ refresh_token: 'secret' });
    expect(lstatSync(file).isFile() && statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(d).sort()).toEqual([`.token.json.${process.pid}.tmp`, 'token.json', 'victim.txt']); // no temp file of ours left
    // the exclusive create itself: a symlink or a file already at the name is refused, not followed or truncated
    await expect(writeSecretExclusive(path.join(d, `.token.json.${process.pid}.tmp`), 'x')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(writeSecretExclusive(victim, 'x')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
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
