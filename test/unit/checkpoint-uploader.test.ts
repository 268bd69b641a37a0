import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { CheckpointUploader } from '../../client/volunteer/checkpoint-uploader.ts';
import type { CheckpointTransport } from '../../client/volunteer/checkpoint-transport.ts';

const task = { taskId: 't1', lease: 'l1' };
const hash = (n: number) => n.toString(16).padStart(64, '0');

/** Checkpoint `seq` of a chain: one segment of its own, parent seq − 1. */
function manifest(seq: number): CheckpointManifest {
  return {
    format: 1,
    taskId: task.taskId,
    seq,
    parent: seq === 1 ? null : seq - 1,
    pageSize: 4096,
    memoryPages: 1,
    extents: [{ first: 0, count: 1, segment: 0, offset: 0 }],
    segments: [{ hash: hash(seq), bytes: 4096 }],
    state: {},
    dirtyBytes: 4096,
    storedBytes: 4096,
    createdAt: seq,
  };
}

/** A coordinator that holds what it was sent, answers after `gate` opens, and records every call. */
function fakeCoordinator() {
  const held = new Set<string>();
  const calls: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const transport: CheckpointTransport = {
    missing: async (_, hashes) => (await gate, hashes.filter((h) => !held.has(h))),
    segment: async (_, h) => {
      await gate;
      calls.push(`segment ${parseInt(h, 16)}`);
      held.add(h);
    },
    manifest: async (_, m) => {
      await gate;
      calls.push(`manifest ${m.seq}`);
    },
    fetch: () => Promise.reject(new Error('not used')),
    halted: () => Promise.resolve(),
    resumed: () => Promise.resolve(),
  };
  return {
    transport,
    held,
    calls,
    hold: () => (gate = new Promise((resolve) => (open = resolve))),
    release: () => open(),
  };
}

const source = (reads: string[]) => ({
  chain: async (seq: number) => Array.from({ length: seq }, (_, i) => manifest(i + 1)),
  segments: async (hashes: string[]) => hashes.map((h) => (reads.push(h), new ArrayBuffer(4096))),
});

test('checkpoints committed during an upload are folded into the next one, base first, each segment once', async () => {
  const coordinator = fakeCoordinator();
  const uploads: number[] = [];
  const uploader = new CheckpointUploader(task, source([]), coordinator.transport, (r) => uploads.push(r.seq));
  coordinator.hold();
  uploader.offer(1);
  uploader.offer(2);
  uploader.offer(3);
  const third = uploader.through(3);
  coordinator.release();
  await third;
  assert.deepEqual(uploads, [1, 3], 'checkpoint 2 was not uploaded on its own');
  assert.deepEqual(coordinator.calls, ['segment 1', 'manifest 1', 'segment 2', 'segment 3', 'manifest 2', 'manifest 3']);
  assert.equal(uploader.acknowledged, 3);
});

test('segments the coordinator holds are skipped, and bytes handed over with the commit are not read back', async () => {
  const coordinator = fakeCoordinator();
  coordinator.held.add(hash(2));
  const reads: string[] = [];
  const uploader = new CheckpointUploader(task, source(reads), coordinator.transport, () => {}, 1);
  uploader.offer(3, new Map([[hash(3), new ArrayBuffer(4096)]]));
  await uploader.through(3);
  assert.deepEqual(coordinator.calls, ['segment 3', 'manifest 2', 'manifest 3'], 'only what follows the resumed checkpoint 1, and no segment 2');
  assert.deepEqual(reads, [], 'nothing read back from the store');
});

test('a refused upload rejects who waits for it, and the next commit tries again', async () => {
  const coordinator = fakeCoordinator();
  let refusals = 1;
  const flaky: CheckpointTransport = {
    ...coordinator.transport,
    manifest: (t, m) => (refusals-- > 0 ? Promise.reject(new Error('the link dropped')) : coordinator.transport.manifest(t, m)),
  };
  const warn = console.warn;
  console.warn = () => {};
  try {
    const uploader = new CheckpointUploader(task, source([]), flaky, () => {});
    await assert.rejects(uploader.through(1), /the link dropped/);
    assert.equal(uploader.acknowledged, null);
    await uploader.through(2);
    assert.equal(uploader.acknowledged, 2);
    assert.deepEqual(coordinator.calls.filter((c) => c.startsWith('manifest')), ['manifest 1', 'manifest 2'], 'the retry carried checkpoint 1 too');
  } finally {
    console.warn = warn;
  }
});
