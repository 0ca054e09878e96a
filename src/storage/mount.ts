// mountDrive(): pick a Store automatically, parse `<drive>` targets, and warn about quota.
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { type DriveAuth, type DriveCredentials, createDriveAuth, credentialsFromEnv, saveSecretText } from './drive-auth.js';
import { GoogleDriveStore, type GoogleDriveStoreOptions } from './drive-store.js';
import type { SessionMemory } from './drive-upload.js';
import { LocalDirStore } from './local-store.js';
import { type Store, type StoreSpec, formatBytes } from './store.js';

export const COLAB_DRIVE = '/content/drive/MyDrive';

export interface MountOptions extends Partial<Omit<GoogleDriveStoreOptions, 'auth'>> {
  /** A local folder to use (a mounted Drive or any folder). */
  path?: string;
  /** Drive credentials; default: from DRIVETRAIN_DRIVE_* environment variables. */
  credentials?: DriveCredentials;
  /** Folder used when nothing else is configured (default ./drive). */
  fallbackDir?: string;
  /** Where notices go (default console.log). */
  log?: (msg: string) => void;
  /** Candidate mounted paths checked in order (default: /content/drive/MyDrive). */
  mountedPaths?: string[];
  /** Folder under the mount / Drive root for drivetrain data (default `drivetrain`). */
  folder?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Bytes the coming run(s) will back up (e.g. checkpoint size × checkpoints kept): when given,
   * the store's free space is checked (checkQuota) and a shortfall is logged before training.
   */
  expectBytes?: number;
}

export const REAL_DRIVE_NOTICE =
  'To back up to Google Drive: in Colab run `from google.colab import drive; drive.mount("/content/drive")` ' +
  '(drivetrain then uses /content/drive/MyDrive), or set DRIVETRAIN_DRIVE_TOKEN_FILE to an OAuth token file ' +
  '(client_id, client_secret, refresh_token) or DRIVETRAIN_DRIVE_SERVICE_ACCOUNT to a service-account key.';

/**
 * Choose a Store: explicit path → mounted Drive folder → Drive API credentials → ./drive; with
 * `expectBytes`, check its free space before a long run (a shortfall is logged, not thrown).
 */
export async function mountDrive(o: MountOptions = {}): Promise<Store> {
  const store = await chooseStore(o);
  if (o.expectBytes !== undefined) {
    const log = o.log ?? ((m: string) => console.log(m));
    const q = await checkQuota(store, o.expectBytes, log);
    if (q.ok && q.free !== null) log(`drivetrain: ${q.message}`);
  }
  return store;
}

async function chooseStore(o: MountOptions): Promise<Store> {
  const log = o.log ?? ((m: string) => console.log(m));
  const env = o.env ?? process.env;
  const folder = o.folder ?? 'drivetrain';
  if (o.path) return new LocalDirStore(o.path);
  for (const p of o.mountedPaths ?? [env.DRIVETRAIN_DRIVE_PATH || COLAB_DRIVE]) {
    if (p && existsSync(p)) {
      log(`drivetrain: using the mounted Drive at ${p}/${folder}`);
      return new LocalDirStore(path.join(p, folder));
    }
  }
  const creds = o.credentials ?? credentialsFromEnv(env);
  if (creds) {
    const auth = await createDriveAuth(creds);
    const store = driveStore(auth, o.basePath ?? folder, o, env);
    log(`drivetrain: using Google Drive (${auth.kind}) at ${store.description}`);
    return store;
  }
  const dir = path.resolve(o.fallbackDir ?? 'drive');
  log(`drivetrain: no Drive found; backing up to the local folder ${dir}. ${REAL_DRIVE_NOTICE}`);
  return new LocalDirStore(dir);
}

/**
 * A `<drive>` argument: `drive:folder/sub` → Google Drive (credentials from env/options),
 * anything else → a local folder.
 */
export async function storeFromTarget(target: string, o: MountOptions = {}): Promise<Store> {
  if (target.startsWith('drive:')) {
    const env = o.env ?? process.env;
    const creds = o.credentials ?? credentialsFromEnv(env);
    if (!creds) throw new UserError(`"${target}" needs Drive credentials. ${REAL_DRIVE_NOTICE}`);
    return driveStore(await createDriveAuth(creds), target.slice('drive:'.length), o, env);
  }
  if (target === '') throw new UserError('empty <drive> target: give a folder path or drive:folder');
  return new LocalDirStore(target);
}

/** A GoogleDriveStore with the options given, else the API root and folder id from the environment. */
function driveStore(auth: DriveAuth, basePath: string, o: MountOptions, env: NodeJS.ProcessEnv): GoogleDriveStore {
  return new GoogleDriveStore({
    ...o, auth, basePath,
    rootUrl: o.rootUrl ?? (env.DRIVETRAIN_DRIVE_ROOT_URL || undefined),
    rootFolderId: o.rootFolderId ?? (env.DRIVETRAIN_DRIVE_FOLDER_ID || undefined),
  });
}

/** Open the store a spec describes (store.spec()), e.g. on a worker thread. */
export async function storeFromSpec(spec: StoreSpec): Promise<Store> {
  if (spec.kind === 'local') return new LocalDirStore(spec.root);
  if (spec.kind === 'drive') {
    const { kind: _kind, credentials, ...o } = spec;
    return new GoogleDriveStore({ ...o, auth: await createDriveAuth(credentials) });
  }
  throw new Error(`unknown store spec kind ${JSON.stringify((spec as { kind?: unknown }).kind)} (expected 'local' or 'drive')`);
}

/** Errors that mean the store is full (Drive's storageQuotaExceeded, a full mounted disk). */
export function isQuotaError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || /storageQuotaExceeded|quota.*exceeded|no space left/i.test(String((e as Error | undefined)?.message ?? e));
}

export interface QuotaCheck {
  free: number | null;
  needed: number;
  ok: boolean;
  message: string;
}

/** Compare the store's free space with a run's projected size; warn (via `log`) when short. */
export async function checkQuota(store: Store, projectedBytes: number, log: (m: string) => void = console.warn): Promise<QuotaCheck> {
  const free = store.freeSpace ? await store.freeSpace().catch(() => null) : null;
  if (free === null) return { free, needed: projectedBytes, ok: true, message: `free space at ${store.description} unknown` };
  const ok = free >= projectedBytes;
  const message = ok
    ? `${formatBytes(free)} free at ${store.description}, run needs about ${formatBytes(projectedBytes)}`
    : `warning: only ${formatBytes(free)} free at ${store.description} but the run needs about ${formatBytes(projectedBytes)}; backups will fail when it fills up (free space or keep fewer checkpoints)`;
  if (!ok) log(`drivetrain: ${message}`);
  return { free, needed: projectedBytes, ok, message };
}

/** Upload session URIs in a JSON file (mode 0600: a session URI grants upload access). */
export class SessionFile implements SessionMemory {
  private map: Record<string, string> = {};
  private writing: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {
    try { this.map = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>; } catch { this.map = {}; }
  }
  get(key: string): string | undefined { return this.map[key]; }
  set(key: string, uri: string | undefined): void {
    if (uri === undefined) delete this.map[key]; else this.map[key] = uri;
    const text = JSON.stringify(this.map);
    this.writing = this.writing.then(async () => {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      await saveSecretText(this.file, text);
    }).catch(() => {});
  }
  flush(): Promise<void> { return this.writing; }
}
