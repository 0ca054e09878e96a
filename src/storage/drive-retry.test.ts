// The Drive retry policy without a server: backoff bounds, which statuses and reasons are
// retried, how many attempts, and that tokens and upload ids never reach messages or onRetry.
import { describe, expect, it } from 'vitest';
import { DRIVE_DEFAULTS, DriveError, isRetryableStatus, redactSecrets, RetryPolicy, toDriveError } from './drive-retry.js';

const noWait = (random = () => 0.5) => {
  const waits: number[] = [];
  return { waits, clock: { sleep: async (ms: number) => { waits.push(ms); }, random } };
};
const httpError = (status: number, data?: unknown) => Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, data } });
const rateBody = (reason: string) => JSON.stringify({ error: { message: 'slow down', errors: [{ reason }] } });

describe('RetryPolicy', () => {
  it('backs off exponentially with full jitter, capped', () => {
    const max = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 }, noWait(() => 0.999999).clock);
    expect([1, 2, 3, 4, 5, 6].map((a) => Math.round(max.delay(a)))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const min = new RetryPolicy({ baseDelayMs: 100 }, noWait(() => 0).clock);
    expect(min.delay(7)).toBe(0);
    const d = new RetryPolicy({}, noWait(() => 0.999999).clock);
    expect(Math.round(d.delay(1))).toBe(DRIVE_DEFAULTS.baseDelayMs);
    expect(Math.round(d.delay(30))).toBe(DRIVE_DEFAULTS.maxDelayMs);
    expect(d.attempts).toBe(DRIVE_DEFAULTS.attempts);
  });

  it('retries retryable failures until the attempts are used up, reporting each retry', async () => {
    const { waits, clock } = noWait();
    const seen: { op: string; attempt: number }[] = [];
    const p = new RetryPolicy({ attempts: 3, baseDelayMs: 8, onRetry: (r) => seen.push({ op: r.op, attempt: r.attempt }) }, clock);
    let calls = 0;
    await expect(p.run('list', async () => { calls++; throw httpError(503); })).rejects.toMatchObject({ name: 'DriveError', status: 503, retryable: true });
    expect(calls).toBe(3);
    expect(seen).toEqual([{ op: 'list', attempt: 1 }, { op: 'list', attempt: 2 }]);
    expect(waits).toEqual([4, 8]); // random 0.5 × 8, 0.5 × 16
    calls = 0;
    expect(await p.run('list', async () => (++calls < 3 ? Promise.reject(httpError(429)) : 'ok'))).toBe('ok');
  });

  it('fails at once on errors that are not retryable, or that the caller rethrows', async () => {
    const { waits, clock } = noWait();
    const p = new RetryPolicy({ attempts: 5 }, clock);
    let calls = 0;
    await expect(p.run('create', async () => { calls++; throw httpError(404, rateBody('notFound')); })).rejects.toThrow('Drive create: 404 notFound: slow down');
    const own = new Error('session expired');
    await expect(p.run('status', async () => { calls++; throw own; }, (e) => e === own)).rejects.toBe(own);
    expect([calls, waits.length]).toEqual([2, 0]);
  });
});

describe('retryable statuses', () => {
  it('408, 429, 5xx and 403 with a rate-limit reason; not other 4xx', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isRetryableStatus(s), String(s)).toBe(true);
    for (const s of [400, 401, 404, 409, 412]) expect(isRetryableStatus(s), String(s)).toBe(false);
    for (const r of ['userRateLimitExceeded', 'rateLimitExceeded', 'sharingRateLimitExceeded', 'backendError']) expect(isRetryableStatus(403, r), r).toBe(true);
    expect(isRetryableStatus(403, 'storageQuotaExceeded')).toBe(false);
    expect(isRetryableStatus(403)).toBe(false);
  });

  it('reads the reason from JSON bodies (also given as text); network errors are retryable', () => {
    expect(toDriveError(httpError(403, rateBody('userRateLimitExceeded')), 'read').retryable).toBe(true);
    const quota = toDriveError(httpError(403, JSON.parse(rateBody('storageQuotaExceeded'))), 'write');
    expect([quota.reason, quota.retryable]).toEqual(['storageQuotaExceeded', false]);
    const net = toDriveError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'read');
    expect(net).toMatchObject({ status: undefined, reason: 'ECONNRESET', retryable: true });
    expect(net.message).toBe('Drive read: network error ECONNRESET: socket hang up');
    const same = new DriveError('x', 500, undefined, true);
    expect(toDriveError(same, 'y')).toBe(same);
  });
});

describe('secret masking', () => {
  it('masks bearer tokens, upload ids and OAuth tokens wherever they appear', () => {
    expect(redactSecrets('Authorization: Bearer ya29.abc-DEF_1 sent')).toBe('Authorization: Bearer *** sent');
    expect(redactSecrets('request to https://x/upload?uploadType=resumable&upload_id=AbC123-x&y=1 failed')).toBe('request to https://x/upload?uploadType=resumable&upload_id=***&y=1 failed');
    expect(redactSecrets('access_token=tok1&refresh_token=tok2')).toBe('access_token=***&refresh_token=***');
  });

  it('keeps secrets out of error messages and onRetry reasons', async () => {
    const reasons: string[] = [];
    const { clock } = noWait();
    const p = new RetryPolicy({ attempts: 2, onRetry: (r) => reasons.push(r.reason) }, clock);
    const leak = Object.assign(new Error('request to https://h/upload/drive/v3/files?upload_id=SECRET1 failed, reason: Bearer SECRET2'), { code: 'ECONNRESET' });
    const err = await p.run('upload chunk', async () => { throw leak; }).catch((e: Error) => e);
    for (const text of [err.message, ...reasons]) {
      expect(text).not.toMatch(/SECRET/);
      expect(text).toContain('upload_id=***');
    }
    expect(toDriveError(httpError(500, 'oops access_token=SECRET3'), 'list').message).toBe('Drive list: 500: oops access_token=***');
  });
});
