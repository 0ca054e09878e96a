// Errors by type. A UserError is one the user can fix (a bad config key, a missing file, a stage
// run out of order, an unavailable device); its message names the cause and the fix. The CLI
// and the notebook cells show these without a stack trace and let anything else (a bug, an
// environment failure) keep its stack. Decide by class, never by the message text.
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** The requested device cannot run here (e.g. `device: 'webgpu'` without an adapter). */
export class DeviceError extends UserError {}
