/**
 * Passes progress on at most about ten times a second, deciding when a value is
 * reported (a synchronous run never lets a timer fire), and never loses the last
 * value: a timer sends it if the program goes quiet, `flush` at the end.
 */
export interface ThrottleOptions {
  /** @default 100 */
  intervalMs?: number;
  /** @default performance.now */
  now?: () => number;
}

export class ProgressThrottle {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private pending: number | undefined;
  private lastSent = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly emit: (fraction: number) => void,
    options: ThrottleOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.now = options.now ?? (() => performance.now());
  }

  report(fraction: number): void {
    this.pending = fraction;
    if (this.now() - this.lastSent >= this.intervalMs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends the latest unsent value, if any, and stops the timer. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === undefined) return;
    const fraction = this.pending;
    this.pending = undefined;
    this.lastSent = this.now();
    this.emit(fraction);
  }

  close(): void {
    this.flush();
  }
}
