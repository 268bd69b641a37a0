import { useEffect, useState } from 'preact/hooks';
import type { Store } from '../store.ts';

/** The current value of `store`, re-rendering the component when it changes. */
export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get);
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}
