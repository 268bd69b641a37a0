/** A broken tracker invariant or a refused transition (CONVENTIONS.md 5: refuse illegal transitions with a clear error). */
export class TrackerError extends Error {
  override readonly name = 'TrackerError';
}
