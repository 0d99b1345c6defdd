/** Backoff between retries: doubling from `base` up to `cap`, drawn between half and all of it, never less than asked. */
export class Backoff {
  constructor(
    readonly baseMs: number,
    readonly capMs: number,
  ) {}

  delay(attempt: number, jitter: number, askedMs: number | null = null): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(attempt, 16));
    const drawn = ceiling / 2 + (ceiling * Math.min(Math.max(jitter, 0), 1)) / 2;
    return Math.max(drawn, askedMs ?? 0);
  }
}

/** A Retry-After header in milliseconds: delta-seconds, or an HTTP date (a date past is no wait). */
export function retryAfter(value: string | null): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Resolves after `ms`; `background`: a wait that does not keep the process alive. */
export function sleep(ms: number, background = false): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (background) timer.unref();
  });
}
