/**
 * What changed on the coordinator, coalesced: notices from the socket pile up
 * and reach listeners at most once per FLUSH_MS, so a busy grid costs a few
 * re-fetches a second, not one per event.
 */

/** Least time between two flushes to listeners. */
export const FLUSH_MS = 250;

export interface Changes {
  /** Everything may have changed (reconnected, or polling without a socket). */
  all: boolean;
  jobIds: ReadonlySet<string>;
  volunteers: boolean;
}

type Listener = (changes: Changes) => void;

const listeners = new Set<Listener>();
let pending: { all: boolean; jobIds: Set<string>; volunteers: boolean } | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let lastFlush = 0;

function flush(): void {
  timer = null;
  const changes = pending;
  pending = null;
  if (!changes) return;
  lastFlush = performance.now();
  for (const listener of [...listeners]) listener(changes);
}

function schedule(): void {
  if (timer !== null) return;
  const wait = Math.max(0, lastFlush + FLUSH_MS - performance.now());
  timer = setTimeout(flush, wait);
}

function pendingChanges() {
  pending ??= { all: false, jobIds: new Set<string>(), volunteers: false };
  return pending;
}

export function noteJobsChanged(ids: readonly string[]): void {
  const p = pendingChanges();
  for (const id of ids) p.jobIds.add(id);
  schedule();
}

export function noteVolunteersChanged(): void {
  pendingChanges().volunteers = true;
  schedule();
}

export function noteEverythingChanged(): void {
  pendingChanges().all = true;
  schedule();
}

/** Calls `listener` with each coalesced batch; returns the unsubscribe function. */
export function onChanges(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
