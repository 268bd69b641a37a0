/**
 * The tracker as instrumented wasm sees it: the barrier loads page words from
 * a second (shared) memory, `ckpt.tracker`, so the tracker's
 * SharedArrayBuffer must be that memory's buffer. PageTracker and the
 * checkpoint worker take any SharedArrayBuffer, so they work on it unchanged;
 * this file creates it with the layout createTrackerBuffers() writes. Its
 * polls read the request word that tracker-words.ts `requestCheckpoint` bumps.
 */
import type { TrackerBuffers } from '../../../shared/tracker-layout.ts';
import { createTrackerBuffers } from '../../checkpoint/tracker-words.ts';
import type { TrackerOptions } from '../../checkpoint/tracker-words.ts';
import { WASM_PAGE } from './unwind-region.ts';

/** A tracker whose buffer is a shared WebAssembly.Memory (for `ckpt.tracker`), and its pool. */
export function createTrackerMemory(options: TrackerOptions): { memory: WebAssembly.Memory; buffers: TrackerBuffers } {
  const template = createTrackerBuffers(options);
  const pages = Math.ceil(template.tracker.byteLength / WASM_PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  new Int32Array(memory.buffer).set(new Int32Array(template.tracker));
  return { memory, buffers: { tracker: memory.buffer as unknown as SharedArrayBuffer, pool: template.pool } };
}
