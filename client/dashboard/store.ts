/**
 * A tiny observable value: the dashboard's shared state (token, connection)
 * lives in a few of these instead of a state library.
 */
export interface Store<T> {
  get: () => T;
  set: (value: T) => void;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe: (listener: (value: T) => void) => () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set: (next) => {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of [...listeners]) listener(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
