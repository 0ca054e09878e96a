// Stores (DESIGN.md §3): local folder and Google Drive behind one interface.
export * from './store.js';
export { LocalDirStore } from './local-store.js';
export { GoogleDriveStore, type GoogleDriveStoreOptions } from './drive-store.js';
export { DriveError, type RetryOptions } from './drive-retry.js';
export { type DriveCredentials, type DriveAuth, createDriveAuth, credentialsFromEnv, saveSecretJson, SERVICE_ACCOUNT_QUOTA_HINT } from './drive-auth.js';
export { type SessionMemory, CHUNK_GRANULE } from './drive-upload.js';
export { mountDrive, storeFromTarget, storeFromSpec, checkQuota, SessionFile, type MountOptions, type QuotaCheck, REAL_DRIVE_NOTICE } from './mount.js';
