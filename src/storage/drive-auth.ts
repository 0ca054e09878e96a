// Credentials for GoogleDriveStore: an installed-app OAuth refresh token (token file), a
// service-account key, or a bare access token. Tokens are never printed or logged.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { auth } from '@googleapis/drive';

export interface DriveCredentials {
  /** A ready OAuth access token (tests, short sessions). */
  accessToken?: string;
  /** JSON with client_id, client_secret, refresh_token (and optionally access_token, expiry_date).
   *  Refreshed tokens are written back with mode 0600. */
  tokenFile?: string;
  /** A service-account key JSON (needs a Shared Drive: service accounts have no My Drive quota). */
  serviceAccountKeyFile?: string;
}

export type AuthKind = 'access-token' | 'oauth' | 'service-account';

export interface DriveAuth {
  kind: AuthKind;
  /** An authenticated google-auth-library client (OAuth2Client or JWT). */
  client: InstanceType<typeof auth.OAuth2> | InstanceType<typeof auth.JWT>;
  /** What the client was made from (set by createDriveAuth), so another thread can make its own. */
  credentials?: DriveCredentials;
}

/** Credentials named by environment variables, if any. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): DriveCredentials | null {
  const c: DriveCredentials = {
    accessToken: env.DRIVETRAIN_DRIVE_ACCESS_TOKEN || undefined,
    tokenFile: env.DRIVETRAIN_DRIVE_TOKEN_FILE || undefined,
    serviceAccountKeyFile: env.DRIVETRAIN_DRIVE_SERVICE_ACCOUNT || env.GOOGLE_APPLICATION_CREDENTIALS || undefined,
  };
  return c.accessToken || c.tokenFile || c.serviceAccountKeyFile ? c : null;
}

export async function createDriveAuth(c: DriveCredentials): Promise<DriveAuth> {
  if (c.accessToken) {
    const client = new auth.OAuth2();
    client.setCredentials({ access_token: c.accessToken });
    return { kind: 'access-token', client, credentials: { accessToken: c.accessToken } };
  }
  if (c.tokenFile) return { kind: 'oauth', client: await oauthFromTokenFile(c.tokenFile), credentials: { tokenFile: c.tokenFile } };
  if (c.serviceAccountKeyFile) {
    const key = await readJson(c.serviceAccountKeyFile, 'service-account key');
    if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
      throw new UserError(`${c.serviceAccountKeyFile} is not a service-account key (needs client_email and private_key)`);
    }
    const client = new auth.JWT({ email: key.client_email, key: key.private_key, scopes: ['https://www.googleapis.com/auth/drive'] });
    return { kind: 'service-account', client, credentials: { serviceAccountKeyFile: c.serviceAccountKeyFile } };
  }
  throw new UserError('no Drive credentials: give accessToken, tokenFile or serviceAccountKeyFile (or set DRIVETRAIN_DRIVE_TOKEN_FILE)');
}

async function oauthFromTokenFile(file: string): Promise<InstanceType<typeof auth.OAuth2>> {
  const j = await readJson(file, 'OAuth token file');
  const app = (j.installed ?? j.web ?? j) as Record<string, unknown>;
  const clientId = app.client_id ?? j.client_id;
  const clientSecret = app.client_secret ?? j.client_secret;
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string' || typeof j.refresh_token !== 'string') {
    throw new UserError(`${file} needs client_id, client_secret and refresh_token (an installed-app OAuth client and a refresh token with the drive.file scope)`);
  }
  const client = new auth.OAuth2({ clientId, clientSecret });
  client.setCredentials({
    refresh_token: j.refresh_token,
    access_token: typeof j.access_token === 'string' ? j.access_token : undefined,
    expiry_date: typeof j.expiry_date === 'number' ? j.expiry_date : undefined,
  });
  client.on('tokens', (t) => {
    const next = { ...j, ...(t.access_token ? { access_token: t.access_token } : {}), ...(t.expiry_date ? { expiry_date: t.expiry_date } : {}), ...(t.refresh_token ? { refresh_token: t.refresh_token } : {}) };
    Object.assign(j, next);
    saveSecretJson(file, next).catch((e: Error) => console.warn(`drivetrain: could not save refreshed Drive token to ${file}: ${e.message}`));
  });
  return client;
}

/**
 * Write JSON readable only by the owner (0600), atomically: a temp file with an unpredictable name
 * beside `file`, created exclusively (O_CREAT|O_EXCL, and O_NOFOLLOW) so that nothing planted at
 * that name, a symlink included, is followed or reused; fsynced, then renamed over `file` (which
 * replaces a symlink at `file` rather than writing through it).
 */
export async function saveSecretJson(file: string, value: unknown): Promise<void> {
  await saveSecretText(file, JSON.stringify(value, null, 2));
}

/** saveSecretJson for text (e.g. upload session URIs). */
export async function saveSecretText(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeSecretExclusive(tmp, text);
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Create `file` (it must not exist, not even as a symlink) with mode 0600 and write `text`, fsynced. */
export async function writeSecretExclusive(file: string, text: string): Promise<void> {
  const h = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    await h.chmod(0o600); // the umask may have narrowed it further, never widened: make it exact
    await h.writeFile(text);
    await h.sync();
  } catch (e) {
    await h.close();
    await fsp.rm(file, { force: true });
    throw e;
  }
  await h.close();
}

async function readJson(file: string, what: string): Promise<Record<string, unknown> & { installed?: Record<string, unknown>; web?: Record<string, unknown> }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`the ${what} ${file} is not valid JSON`);
  }
}

/** Explanation for a service account hitting storageQuotaExceeded. */
export const SERVICE_ACCOUNT_QUOTA_HINT =
  'service accounts have no My Drive storage quota (403 storageQuotaExceeded): create a Shared Drive, add the service account ' +
  'as a member (Content manager), and point drivetrain at a folder inside it (folderId option or DRIVETRAIN_DRIVE_FOLDER_ID); ' +
  'or use an OAuth token file for your own Drive instead.';
