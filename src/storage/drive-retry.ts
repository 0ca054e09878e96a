// Drive errors and the one retry policy every Drive call uses (metadata calls, chunk uploads,
// streamed downloads), with the store's defaults in one place. Our own loop rather than gaxios's
// retryConfig: after a failed chunk the upload asks the server what it has and goes on from
// there, and a broken download resumes at the byte it reached; a per-request retry can only
// send the same request again. (gaxios's defaults also retry only GET/HEAD/PUT/OPTIONS/DELETE on
// 408/429/5xx, so never a POST/PATCH or a 403 rate-limit reason.) Every call passes `retry: false`.

/** Defaults of the Drive store's settings. */
export const DRIVE_DEFAULTS = {
  attempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  /** Per request; for downloads, the longest wait for the next bytes. */
  timeoutMs: 120_000,
  chunkSize: 8 * 1024 * 1024,
  multipartMaxBytes: 5 * 1024 * 1024,
  /** Whole uploads tried when Drive's md5 differs from the bytes sent. */
  md5Attempts: 3,
} as const;

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

function parseBody(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try { return JSON.parse(data); } catch { return undefined; }
}

/** The `reason` from a Google error body (`error.errors[0].reason`), if any. */
export function errorReason(data: unknown): string | undefined {
  const err = (parseBody(data) as { error?: { errors?: { reason?: string }[] } } | undefined)?.error;
  return err?.errors?.[0]?.reason ?? undefined;
}

function errorMessage(data: unknown): string | undefined {
  const d = parseBody(data);
  if (d === undefined && typeof data === 'string') return data.slice(0, 200);
  return (d as { error?: { message?: string } } | undefined)?.error?.message;
}

/** 408, 429 and 5xx are retried; 403 only with a rate-limit reason; nothing else. */
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

/** Waiting and randomness, replaceable in tests. */
export interface RetryClock { sleep(ms: number): Promise<void>; random(): number }

/** When to try a failed Drive call again and how long to wait first (exponential, full jitter). */
export class RetryPolicy {
  readonly attempts: number;
  private readonly base: number;
  private readonly cap: number;

  constructor(private readonly o: RetryOptions = {}, private readonly clock: RetryClock = { sleep, random: Math.random }) {
    this.attempts = o.attempts ?? DRIVE_DEFAULTS.attempts;
    this.base = o.baseDelayMs ?? DRIVE_DEFAULTS.baseDelayMs;
    this.cap = o.maxDelayMs ?? DRIVE_DEFAULTS.maxDelayMs;
  }

  /** Backoff before retry number `attempt` (1 = after the first failure): uniform in [0, min(cap, base·2^(attempt−1))). */
  delay(attempt: number): number {
    return this.clock.random() * Math.min(this.cap, this.base * 2 ** (attempt - 1));
  }

  /**
   * Attempt `attempt` of `op` failed with `e`: throws it as a DriveError when it is not
   * retryable or the attempts are used up; otherwise reports the retry and waits the backoff.
   */
  async afterFailure(op: string, attempt: number, e: unknown): Promise<void> {
    const err = toDriveError(e, op);
    if (!err.retryable || attempt >= this.attempts) throw err;
    const delayMs = this.delay(attempt);
    this.o.onRetry?.({ op, attempt, delayMs, reason: err.message });
    await this.clock.sleep(delayMs);
  }

  /** `fn` until it succeeds; errors for which `rethrow` is true are thrown as they are, at once. */
  async run<T>(op: string, fn: () => Promise<T>, rethrow?: (e: unknown) => boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (rethrow?.(e)) throw e;
        await this.afterFailure(op, attempt, e);
      }
    }
  }
}
