/** The checkpoint worker's loop when a save fails before releasing its checkpoint (client/checkpoint/checkpoint-loop.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { CheckpointLoop } from '../../client/checkpoint/checkpoint-loop.ts';
import type { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { createTrackerBuffers } from '../../client/checkpoint/tracker-words.ts';
import { PageState, TRACKER_HEADER_WORDS, TrackerWord } from '../../shared/tracker-layout.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PAGE = 4096;
const WASM_PAGE = 65536;

test('a save that throws before releasing its checkpoint is not tried again: the checkpoint is let go and the next one is a rebuild', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const buffers = createTrackerBuffers({ maxBytes: WASM_PAGE, pageSize: PAGE });
  const words = new Int32Array(buffers.tracker);
  const tracker = new PageTracker(buffers, memory);
  const channel = CheckpointChannel.create();
  for (const page of [1, 3]) {
    tracker.markWrite(page * PAGE, 1);
    new Uint8Array(memory.buffer)[page * PAGE] = 7;
  }
  channel.writeSuspension({ seq: 1, memoryPages: 1, state: {} });
  tracker.beginCheckpoint();

  // The first page read from memory throws (any failure inside a scan step would do); later reads work.
  let reads = 0;
  const source = {
    get buffer(): ArrayBufferLike {
      if (reads++ === 0) throw new Error('the memory could not be read');
      return memory.buffer;
    },
  };
  let begun = 0;
  const store = {
    lost: false,
    begin: () => {
      begun++;
      return { add: async () => {}, commit: async () => ({ storedBytes: 0 }), storedSegments: () => undefined };
    },
    prune: async () => ({ segments: 0 }),
  } as unknown as CheckpointStore;
  const committed: number[] = [];
  const failed: number[] = [];
  const loop = new CheckpointLoop({
    store,
    buffers,
    channel,
    memory: source,
    taskId: 't',
    parent: null,
    onCommitted: (report) => committed.push(report.seq),
    onFailed: (seq) => failed.push(seq),
  });
  loop.start();
  await waitFor(() => Atomics.load(words, TrackerWord.PROTECTED) === 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await loop.close();
  assert.deepEqual(failed, [1]);
  assert.deepEqual(committed, [], 'no checkpoint 1 without the pages of its interval');
  assert.equal(begun, 1, 'checkpoint 1 was not saved a second time');
  assert.ok(channel.takeRebuild(), 'the next checkpoint holds every page');
  for (const page of [1, 3]) assert.notEqual(Atomics.load(words, TRACKER_HEADER_WORDS + page), PageState.SAVING, `page ${page} is not held`);
  // The writer goes on: the page the failed scan held is writable again.
  tracker.markWrite(PAGE, 1);
  assert.equal(Atomics.load(words, TRACKER_HEADER_WORDS + 1), tracker.interval);
});
