// Fails any HTTP(S) request to a host other than loopback: tests must never reach real servers.
import http from 'node:http';
import https from 'node:https';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export const blockedRequests: string[] = [];
let installed = false;

function hostOf(args: unknown[]): string {
  const a = args[0];
  if (typeof a === 'string') return new URL(a).hostname;
  if (a instanceof URL) return a.hostname;
  const o = (a ?? {}) as { hostname?: string; host?: string };
  return (o.hostname ?? o.host ?? 'localhost').replace(/:\d+$/, '');
}

/** Patch http/https request/get and fetch so non-loopback requests throw (and are recorded). */
export function installNetGuard(): void {
  if (installed) return;
  installed = true;
  for (const mod of [http, https] as unknown as Record<string, (...a: unknown[]) => unknown>[]) {
    for (const fn of ['request', 'get']) {
      const orig = mod[fn];
      mod[fn] = (...args: unknown[]) => {
        const host = hostOf(args);
        if (!LOOPBACK.has(host)) {
          blockedRequests.push(host);
          throw new Error(`net-guard: test tried to reach non-loopback host ${host}`);
        }
        return orig.apply(mod, args);
      };
    }
  }
  const origFetch = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const host = new URL(url).hostname;
    if (!LOOPBACK.has(host)) {
      blockedRequests.push(host);
      return Promise.reject(new Error(`net-guard: test tried to reach non-loopback host ${host}`));
    }
    return origFetch(input, init);
  }) as typeof fetch;
}
