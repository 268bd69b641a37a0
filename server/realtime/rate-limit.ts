/**
 * A token bucket: `rate` tokens a second, at most `burst` saved up. Each
 * inbound event takes one; an event that finds the bucket empty is refused.
 * It also tells how long the connection has been over its rate, so one that
 * keeps flooding can be cut off while a short burst is only refused.
 */

/** Refusals further apart than this end a flood: the sender slowed down. */
const FLOOD_GAP_MS = 1_000;

export class TokenBucket {
  #tokens: number;
  #refilledAt: number;
  /** When the current flood (refusals no more than FLOOD_GAP_MS apart) began. */
  #floodSince = 0;
  #lastRefusal: number | undefined;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#refilledAt = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#refilledAt) * this.rate) / 1000);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    if (this.#lastRefusal === undefined || now - this.#lastRefusal > FLOOD_GAP_MS) this.#floodSince = now;
    this.#lastRefusal = now;
    return false;
  }

  /** How long, in ms, events have kept being refused (0 when the sender is within its rate). */
  floodingFor(): number {
    const now = this.now();
    if (this.#lastRefusal === undefined || now - this.#lastRefusal > FLOOD_GAP_MS) return 0;
    return now - this.#floodSince;
  }
}
