// Retries for Drive calls. Written here because the googleapis client retries only
// GET/HEAD/PUT/OPTIONS/DELETE, never POST/PATCH and never 403 rate-limit reasons.

export interface RetryOptions {
  /** Attempts in total (default 8). */
  attempts?: number;
  /** First backoff in ms (default 500); doubles each time, with full jitter. */
  baseDelayMs?: number;
  /** Backoff cap in ms (default 30 s). */
  maxDelayMs?: number;
  /** Called before each retry (for logs; never given secrets). */
  onRetry?: (info: { op: string; attempt: number; delayMs: number; reason: string }) => void;
}

const RATE_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'sharingRateLimitExceeded', 'backendError']);

/** A Drive failure with the parts that are safe to print (never headers or tokens). */
export class DriveError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly reason: string | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DriveError';
  }
}

interface GaxiosLike {
  message?: string;
  code?: string | number;
  status?: number;
  response?: { status?: number; data?: unknown; headers?: { get?(n: string): string | null } };
  cause?: unknown;
}

/** The `reason` from a Google error body (`error.errors[0].reason`), if any. */
export function errorReason(data: unknown): string | undefined {
  let d = data;
  if (typeof d === 'string') {
    try { d = JSON.parse(d); } catch { return undefined; }
  }
  const err = (d as { error?: { errors?: { reason?: string }[]; status?: string } } | undefined)?.error;
  return err?.errors?.[0]?.reason ?? undefined;
}

function errorMessage(data: unknown): string | undefined {
  let d = data;
  if (typeof d === 'string') {
    try { d = JSON.parse(d); } catch { return (d as string).slice(0, 200); }
  }
  return (d as { error?: { message?: string } } | undefined)?.error?.message;
}

export function isRetryableStatus(status: number, reason?: string): boolean {
  if (status === 408 || status === 429 || status >= 500) return true;
  return status === 403 && reason !== undefined && RATE_REASONS.has(reason);
}

/** Turn anything thrown by gaxios/node-fetch into a DriveError with a safe message. */
export function toDriveError(e: unknown, op: string): DriveError {
  if (e instanceof DriveError) return e;
  const g = (e ?? {}) as GaxiosLike;
  const status = g.response?.status ?? (typeof g.status === 'number' ? g.status : undefined);
  if (status !== undefined) {
    // for streamed responses gaxios leaves `data` empty and puts the error body in the message
    const body = g.response?.data ?? g.message;
    const reason = errorReason(body);
    const msg = redactSecrets(errorMessage(body) ?? `HTTP ${status}`);
    return new DriveError(`Drive ${op}: ${status}${reason ? ` ${reason}` : ''}: ${msg}`, status, reason, isRetryableStatus(status, reason));
  }
  // No HTTP status: a network error (reset, refused, timeout, premature close) — retry.
  const code = typeof g.code === 'string' ? g.code : (g.cause as { code?: string } | undefined)?.code;
  const text = redactSecrets(g.message ?? String(e));
  return new DriveError(`Drive ${op}: network error${code ? ` ${code}` : ''}: ${text.slice(0, 200)}`, undefined, code, true);
}

/**
 * Network errors quote the request URL (`request to <url> failed`); an upload session URI's
 * `upload_id` grants upload access like a token, so it is masked along with bearer tokens.
 */
export function redactSecrets(text: string): string {
  return text.replace(/Bearer\s+[^\s"']+/g, 'Bearer ***').replace(/\b(upload_id|access_token|refresh_token)=[^&\s"']+/g, '$1=***');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function backoffDelay(attempt: number, o: RetryOptions): number {
  const base = o.baseDelayMs ?? 500;
  const cap = o.maxDelayMs ?? 30_000;
  return Math.random() * Math.min(cap, base * 2 ** (attempt - 1)); // full jitter
}

/**
 * Run `fn` until it succeeds or fails with a non-retryable error / runs out of attempts.
 * Errors for which `rethrow` is true are thrown as they are, without a retry.
 */
export async function withRetry<T>(op: string, o: RetryOptions, fn: () => Promise<T>, rethrow?: (e: unknown) => boolean): Promise<T> {
  const attempts = o.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (rethrow?.(e)) throw e;
      const err = toDriveError(e, op);
      if (!err.retryable || attempt >= attempts) throw err;
      const delayMs = backoffDelay(attempt, o);
      o.onRetry?.({ op, attempt, delayMs, reason: err.message });
      await sleep(delayMs);
    }
  }
}
