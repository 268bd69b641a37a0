import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api.ts';
import { onChanges, type Changes } from '../changes.ts';

export interface LiveResource<T> {
  /** The last value read; kept while a re-read fails. */
  data: T | undefined;
  /** Why the last read failed, if it did. */
  error: string | null;
  /** Re-read now. */
  reload: () => void;
}

/**
 * Reads `load()` when `key` changes and again whenever a batch of changes
 * concerns it (`affects`). At most one read is in flight; changes arriving
 * meanwhile cause one more read after it.
 */
export function useLiveResource<T>(
  key: string,
  load: () => Promise<T>,
  affects: (changes: Changes) => boolean,
): LiveResource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef({ load, affects });
  latest.current = { load, affects };
  const control = useRef({ generation: 0, inFlight: false, again: false });

  const read = useCallback(() => {
    const c = control.current;
    if (c.inFlight) {
      c.again = true;
      return;
    }
    c.inFlight = true;
    const generation = c.generation;
    latest.current
      .load()
      .then(
        (value) => {
          if (generation !== c.generation) return;
          setData(value);
          setError(null);
        },
        (failure: unknown) => {
          if (generation !== c.generation) return;
          setError(errorMessage(failure));
        },
      )
      .finally(() => {
        c.inFlight = false;
        if (c.again || generation !== c.generation) {
          c.again = false;
          read();
        }
      });
  }, []);

  useEffect(() => {
    const c = control.current;
    c.generation += 1; // answers for the previous key are dropped
    setData(undefined);
    setError(null);
    read();
    return onChanges((changes) => {
      if (changes.all || latest.current.affects(changes)) read();
    });
  }, [key, read]);

  return { data, error, reload: read };
}
