/**
 * The page side of checkpoint-store.test.ts: bundled with esbuild at test
 * time and injected into a cross-origin-isolated volunteer page, where it
 * drives the real checkpoint store on the page's real IndexedDB. It keeps a
 * full copy of the memory at every checkpoint as the oracle, so the Node side
 * only sends write patterns and reads verdicts.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import { compactChain } from '../../client/checkpoint/compaction.ts';
import { needsCompaction } from '../../shared/compaction-rule.ts';
import { restoreCheckpoint } from '../../client/checkpoint/restore.ts';

/** One interval of a task: grow the memory to `pages`, then write these pages (a `fill` of 0 writes an all-zero page). */
export interface Step {
  pages: number;
  writes: { page: number; fill: number }[];
}

export interface ChainReport {
  seqs: number[];
  /** Per checkpoint, the first byte where the restore differs from the oracle, or -1. */
  mismatches: number[];
  storedBytes: number[];
}

const PAGE_SIZE = 4096;
let store: CheckpointStore | undefined;
/** Oracles by task, then seq: the memory as it was when checkpoint seq was taken. */
const oracles = new Map<string, Map<number, Uint8Array>>();
const memories = new Map<string, Uint8Array>();

async function open(): Promise<CheckpointStore> {
  return (store ??= await CheckpointStore.open());
}

/** Deterministic, incompressible-looking page content from a fill value (xorshift). */
function fillPage(bytes: Uint8Array, fill: number): void {
  if (fill === 0) return void bytes.fill(0);
  let x = fill * 2654435761 || 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Applies `steps` to a shared-memory "process memory" and commits one
 * checkpoint per step (seq continues after the task's newest). With
 * `leaveLastUncommitted`, the last step's segments are written but its
 * manifest never is.
 */
async function runSteps(taskId: string, steps: Step[], leaveLastUncommitted = false): Promise<number[]> {
  const s = await open();
  const oracle = oracles.get(taskId) ?? new Map<number, Uint8Array>();
  oracles.set(taskId, oracle);
  let memory = memories.get(taskId) ?? new Uint8Array(new SharedArrayBuffer(0));
  let parent = (await s.newest(taskId))?.seq ?? null;
  const seqs: number[] = [];
  for (const [i, step] of steps.entries()) {
    if (step.pages * PAGE_SIZE > memory.length) {
      // Growth, as a wasm memory grows: a longer SharedArrayBuffer with the old bytes.
      const grown = new Uint8Array(new SharedArrayBuffer(step.pages * PAGE_SIZE));
      grown.set(memory);
      memory = grown;
    }
    const dirty = new Set<number>();
    for (const { page, fill } of step.writes) {
      fillPage(memory.subarray(page * PAGE_SIZE, (page + 1) * PAGE_SIZE), fill);
      dirty.add(page);
    }
    const seq = (parent ?? 0) + 1;
    const writer = s.begin({ taskId, seq, parent, pageSize: PAGE_SIZE, memoryPages: memory.length / PAGE_SIZE }, { batchSegments: 1 });
    for (const page of [...dirty].sort((a, b) => a - b)) await writer.add(page, memory.subarray(page * PAGE_SIZE, (page + 1) * PAGE_SIZE));
    if (leaveLastUncommitted && i === steps.length - 1) {
      // A worker killed mid-commit: its full segments are stored (one per batch), its manifest never is.
      break;
    }
    await writer.commit({ runtime: { seq, step: i, note: `after ${step.writes.length} writes` } });
    oracle.set(seq, memory.slice());
    seqs.push((parent = seq));
  }
  memories.set(taskId, memory);
  return seqs;
}

/** Restores every seq in `seqs` and compares it with the oracle, also through an `into` target over shared memory. */
async function verify(taskId: string, seqs: number[]): Promise<ChainReport> {
  const s = await open();
  const report: ChainReport = { seqs, mismatches: [], storedBytes: [] };
  for (const seq of seqs) {
    const expected = oracles.get(taskId)!.get(seq)!;
    const restored = await restoreCheckpoint(s, taskId, { seq });
    if (!restored) throw new Error(`${taskId}: checkpoint ${seq} is not there`);
    let target: Uint8Array = new Uint8Array(0);
    const into = await restoreCheckpoint(s, taskId, {
      seq,
      into: (length) => {
        // Garbage in the target must not survive: restore writes every byte.
        if (target.length < length) target = new Uint8Array(new SharedArrayBuffer(length)).fill(0xee);
        return target;
      },
    });
    const state = restored.state as { runtime: { seq: number } };
    const difference = firstDifference(restored.memory, expected);
    const intoDifference = firstDifference(into!.memory, expected);
    report.mismatches.push(difference >= 0 ? difference : intoDifference >= 0 ? intoDifference : state.runtime.seq === seq ? -1 : -2);
    report.storedBytes.push(restored.manifest.storedBytes);
  }
  return report;
}

async function restoreNewest(taskId: string): Promise<{ seq: number; matches: boolean; bytesRead: number; state: JsonValue } | null> {
  const restored = await restoreCheckpoint(await open(), taskId);
  if (!restored) return null;
  const expected = oracles.get(taskId)?.get(restored.manifest.seq);
  return {
    seq: restored.manifest.seq,
    matches: expected !== undefined && firstDifference(restored.memory, expected) === -1,
    bytesRead: restored.bytesRead,
    state: restored.state,
  };
}

/** Flips one byte of the task's newest checkpoint's first segment (same length, wrong hash), or deletes it. */
async function damage(taskId: string, how: 'flip' | 'delete'): Promise<void> {
  const s = await open();
  const { hash } = (await s.newest(taskId))!.segments[0]!;
  if (how === 'delete') return s.db.delete('segments', hash);
  const bytes = new Uint8Array((await s.db.get('segments', hash))!);
  const middle = bytes.length >> 1;
  bytes[middle] = bytes[middle]! ^ 1;
  await s.db.put('segments', bytes.buffer, hash);
}

async function errorOf(run: () => Promise<unknown>): Promise<{ name: string; message: string } | null> {
  try {
    await run();
    return null;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

async function inventory(taskId: string): Promise<{ manifests: { seq: number; parent: number | null }[]; segments: number; pending: number; needsCompaction: boolean }> {
  const s = await open();
  const manifests = await s.manifests(taskId);
  return {
    manifests: manifests.map((m) => ({ seq: m.seq, parent: m.parent })),
    segments: await s.db.count('segments'),
    pending: await s.db.count('pending'),
    needsCompaction: needsCompaction(await s.chain(taskId)),
  };
}

export const harness = {
  runSteps,
  verify,
  restoreNewest,
  damage,
  inventory,
  newest: async (taskId: string) => (await (await open()).newest(taskId))?.seq ?? null,
  prune: async (owner?: string) => (await open()).prune(owner),
  compact: async (taskId: string) => {
    const result = await compactChain(await open(), taskId);
    return result && { seq: result.manifest.seq, parent: result.manifest.parent, pruned: result.pruned, storedBytes: result.manifest.storedBytes };
  },
  corruptRestore: (taskId: string) => errorOf(() => restoreCheckpoint(store!, taskId)),
  /** IndexedDB write throughput (MB/s): our writer with 4 KiB pages vs raw 1 MiB puts, same bytes, same batching. */
  async throughput(mib: number): Promise<{ ours: number; raw: number }> {
    const s = await open();
    const memory = new Uint8Array(new SharedArrayBuffer(mib << 20));
    // getRandomValues refuses shared memory and more than 64 KiB at a time.
    const chunk = new Uint8Array(65536);
    for (let at = 0; at < memory.length; at += chunk.length) memory.set(crypto.getRandomValues(chunk), at);
    const raw = Array.from({ length: mib }, (_, i) => memory.slice(i << 20, (i + 1) << 20).buffer);
    let t = performance.now();
    for (let i = 0; i < raw.length; i += 8) {
      const tx = s.db.transaction('segments', 'readwrite', { durability: 'relaxed' });
      const puts = raw.slice(i, i + 8).map((buffer, j) => tx.store.put(buffer, `raw-${i + j}`));
      await Promise.all([...puts, tx.done]);
    }
    const rawMs = performance.now() - t;
    t = performance.now();
    const taskId = `bench-${Math.random()}`;
    const writer = s.begin({ taskId, seq: 1, parent: null, pageSize: PAGE_SIZE, memoryPages: memory.length / PAGE_SIZE });
    for (let p = 0; p < memory.length / PAGE_SIZE; p++) await writer.add(p, memory.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
    await writer.commit(null);
    const oursMs = performance.now() - t;
    // Clean up so the runs do not pile up.
    const tx = s.db.transaction(['segments', 'manifests'], 'readwrite');
    await Promise.all([tx.objectStore('segments').delete(IDBKeyRange.bound('raw-', 'raw-\uffff')), tx.objectStore('manifests').delete([taskId, 1]), tx.done]);
    await s.prune();
    return { ours: mib / 1.048576 / (oursMs / 1000), raw: mib / 1.048576 / (rawMs / 1000) };
  },
};

export type Harness = typeof harness;
(globalThis as unknown as { checkpointHarness: Harness }).checkpointHarness = harness;
