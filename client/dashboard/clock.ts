/** One shared clock for relative times, so a table of them re-renders together. */
import { createStore } from './store.ts';

const TICK_MS = 5_000;

export const clockStore = createStore(Date.now());

setInterval(() => clockStore.set(Date.now()), TICK_MS);
