/**
 * A synthetic compute worker for checkpoint-engine.test.ts: writes random
 * bytes into random pages of a shared WebAssembly.Memory through the write
 * barrier, grows the memory now and then, requests checkpoints at random
 * times and, at every suspension, posts a full copy of the memory (the oracle).
 * With `shadow`, it writes without the barrier instead, and each stop finds
 * the changed pages by comparison (page-diff.ts), as real tasks do until
 * issue 4; the checkpoint worker then saves from the shadow.
 * Bundled at test time and started from a blob: URL.
 */
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { CheckpointSafepoint } from '../../client/checkpoint/checkpoint-safepoint.ts';
import { PageDiff } from '../../client/checkpoint/page-diff.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { requestCheckpoint } from '../../client/checkpoint/tracker-words.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';

export interface ComputeStart {
  buffers: TrackerBuffers;
  channel: SharedArrayBuffer;
  memory: WebAssembly.Memory;
  seed: number;
  steps: number;
  /** Chance per step of a checkpoint request. */
  requestChance: number;
  /** Chance per step of growing the memory by one wasm page (64 KiB). */
  growChance: number;
  maxWritesPerStep: number;
  /** Track by comparison with this shadow instead of the barrier. */
  shadow?: WebAssembly.Memory;
}

export type ComputeEvent =
  | { type: 'suspended'; seq: number; state: { step: number; seed: number }; oracle: ArrayBuffer; pauseMs: number; rebuilt: boolean }
  | { type: 'done'; steps: number; suspensions: number; error?: string };

const sleep = (words: Int32Array, ms: number) => Atomics.wait(words, 0, words[0]!, ms);

function run(start: ComputeStart): ComputeEvent {
  const { memory, buffers } = start;
  const random = seededRandom(start.seed);
  const tracker = new PageTracker(buffers, memory);
  const channel = new CheckpointChannel(start.channel);
  const safepoint = new CheckpointSafepoint(tracker, buffers, channel, memory);
  const trackerWords = new Int32Array(buffers.tracker);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const pageSize = tracker.pageSize;
  const hot: number[] = [];
  let suspensions = 0;
  let step = 0;

  const diff = start.shadow && new PageDiff(memory, { pageSize, maxBytes: tracker.maxPages * pageSize, shadow: start.shadow });
  const markDirty = diff && (() => void diff.markDirty(tracker));

  const suspendIfAsked = (): boolean => {
    const s = safepoint.poll(() => ({ step, seed: start.seed }), markDirty);
    if (!s) return false;
    suspensions++;
    // The oracle: the memory exactly as it is at the suspension (the program is stopped here).
    const oracle = new Uint8Array(memory.buffer, 0, s.memoryPages * pageSize).slice().buffer;
    postMessage({ type: 'suspended', seq: s.seq, state: { step, seed: start.seed }, oracle, pauseMs: s.pauseMs, rebuilt: s.rebuilt } satisfies ComputeEvent, {
      transfer: [oracle],
    });
    return true;
  };

  for (; step < start.steps; step++) {
    suspendIfAsked();
    if (random() < start.requestChance) requestCheckpoint(buffers.tracker);
    if (random() < start.growChance && (memory.buffer.byteLength + 65536) / pageSize <= tracker.maxPages) memory.grow(1);
    const bytes = new Uint8Array(memory.buffer);
    const pages = bytes.length / pageSize;
    const writes = 1 + Math.floor(random() * start.maxWritesPerStep);
    for (let w = 0; w < writes; w++) {
      const r = random();
      // Both ends of memory, hot pages (likely still protected: races with the scanner), anywhere.
      const page = r < 0.1 ? 0 : r < 0.2 ? pages - 1 : r < 0.5 && hot.length > 0 ? hot[Math.floor(random() * hot.length)]! : Math.floor(random() * pages);
      if (hot.length < 32) hot.push(page);
      else hot[Math.floor(random() * 32)] = page;
      // Some writes straddle a page boundary; some cover a whole page.
      const length = random() < 0.1 ? pageSize : 1 + Math.floor(random() * 64);
      const offset = Math.min(bytes.length - length, page * pageSize + Math.floor(random() * pageSize));
      if (!diff) tracker.markWrite(offset, length);
      for (let i = 0; i < length; i++) bytes[offset + i] = random() < 0.2 ? 0 : (random() * 256) | 0;
    }
    if (random() < 0.05) sleep(nap, random() * 3); // vary the timing against the checkpoint worker
  }
  // A last checkpoint, then wait until it is saved so the page can verify all of them.
  requestCheckpoint(buffers.tracker);
  const deadline = performance.now() + 20_000;
  while (!suspendIfAsked()) {
    if (performance.now() > deadline) return { type: 'done', steps: step, suspensions, error: 'the last checkpoint never began' };
    sleep(nap, 1);
  }
  while (Atomics.load(trackerWords, TrackerWord.PROTECTED) !== 0) {
    if (performance.now() > deadline) return { type: 'done', steps: step, suspensions, error: 'the last checkpoint was never released' };
    sleep(nap, 1);
  }
  return { type: 'done', steps: step, suspensions };
}

onmessage = (event: MessageEvent<ComputeStart>) => {
  let result: ComputeEvent;
  try {
    result = run(event.data);
  } catch (error) {
    result = { type: 'done', steps: -1, suspensions: -1, error: String((error as Error)?.stack ?? error) };
  }
  postMessage(result);
};
