// tqdm's fields for the live block: elapsed and remaining time as `mm:ss` (or `h:mm:ss`) and
// the rate as `it/s` (or `s/it` below one step a second), measured over a recent window so that
// the first step's graph set-up and a slower phase do not stay in the figure.

/** `05:07`, `1:02:03`, tqdm's format_interval; `?` for unknown. */
export function fmtDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

/** `7.40it/s`, `2.05s/it`, `?it/s` before a rate is known. */
export function fmtRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond) || perSecond <= 0) return '?it/s';
  if (perSecond < 1) return `${(1 / perSecond).toFixed(2)}s/it`;
  return `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(2)}it/s`;
}

/** Steps per second over the last `windowS` seconds (at least two samples). */
export class RateMeter {
  private readonly samples: [number, number][] = [];
  constructor(private readonly windowS = 30) {}

  /** A step count `n` reached at time `nowMs`. */
  add(nowMs: number, n: number): void {
    this.samples.push([nowMs, n]);
    const cut = nowMs - this.windowS * 1000;
    // keep one sample older than the window so the rate spans the whole window
    while (this.samples.length > 2 && this.samples[1]![0] < cut) this.samples.shift();
  }

  /** Null until two samples with time between them exist. */
  rate(): number | null {
    if (this.samples.length < 2) return null;
    const [t0, n0] = this.samples[0]!;
    const [t1, n1] = this.samples[this.samples.length - 1]!;
    return t1 > t0 && n1 > n0 ? ((n1 - n0) * 1000) / (t1 - t0) : null;
  }

  /** Seconds to do `left` more steps at the current rate (null while unknown). */
  eta(left: number): number | null {
    const r = this.rate();
    return r ? Math.max(0, left) / r : null;
  }

  reset(): void {
    this.samples.length = 0;
  }
}
