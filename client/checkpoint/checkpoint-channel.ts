/**
 * The small shared channel between a task's compute worker, its checkpoint
 * worker and the page (DESIGN.md §4 "Suspension"). It carries what the
 * tracker does not: the non-memory state captured at the suspension, and the
 * "rebuild" flag after a failed commit. (Requests are a tracker word,
 * tracker-words.ts `requestCheckpoint`, because instrumented wasm polls it
 * inline.) No postMessage on the compute side: the state is written into
 * this buffer before `beginCheckpoint()` publishes PROTECTED, so the
 * checkpoint worker, which only starts once it sees PROTECTED, always reads
 * the state of k.
 *
 * Words (Int32, then the state's UTF-8 JSON bytes):
 * - REBUILD: 1 after a checkpoint failed to commit. The checkpoint worker sets
 *   it BEFORE releasing PROTECTED; the compute side, at the next suspension,
 *   clears it and calls `markAllWritten()`, so the next checkpoint holds every
 *   page dirty since the last committed one;
 * - COMMITTED: the newest committed seq (informative for the compute side);
 * - SEQ, MEMORY_PAGES, STATE_BYTES: the suspension being saved. Only written
 *   while PROTECTED is 0 (no checkpoint worker is reading them);
 * - ABANDONED: 1 while the task's checkpoint worker died and no other is
 *   attached yet. The compute side, at its next safepoint, takes the
 *   protection back (`PageTracker.releaseAbandoned`), requires a rebuild,
 *   then clears it; only then may a replacement worker start.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';

const Word = { REBUILD: 1, COMMITTED: 2, SEQ: 3, MEMORY_PAGES: 4, STATE_BYTES: 5, CAPACITY: 6, ABANDONED: 7 } as const;
const HEADER_BYTES = 64;

/** Room for the non-memory state's JSON. @default 64 KiB */
export const DEFAULT_STATE_CAPACITY = 64 * 1024;

/** What the compute side captured at suspension k. */
export interface Suspension {
  seq: number;
  memoryPages: number;
  state: JsonValue;
}

export class CheckpointChannel {
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** A new channel with room for `stateCapacity` bytes of state JSON. */
  static create(stateCapacity = DEFAULT_STATE_CAPACITY): CheckpointChannel {
    const channel = new CheckpointChannel(new SharedArrayBuffer(HEADER_BYTES + stateCapacity));
    Atomics.store(channel.words, Word.CAPACITY, stateCapacity);
    return channel;
  }

  get committed(): number {
    return Atomics.load(this.words, Word.COMMITTED);
  }

  /** Compute side, at a suspension with no checkpoint in flight: records what k is made of. */
  writeSuspension(suspension: Suspension): void {
    const json = new TextEncoder().encode(JSON.stringify(suspension.state));
    const capacity = Atomics.load(this.words, Word.CAPACITY);
    if (json.length > capacity) throw new RangeError(`checkpoint state is ${json.length} bytes, the channel holds ${capacity}`);
    this.bytes.set(json);
    Atomics.store(this.words, Word.STATE_BYTES, json.length);
    Atomics.store(this.words, Word.MEMORY_PAGES, suspension.memoryPages);
    Atomics.store(this.words, Word.SEQ, suspension.seq);
  }

  /** Checkpoint worker, once it sees PROTECTED = seq: what the compute side captured. */
  readSuspension(seq: number): Suspension {
    const recorded = Atomics.load(this.words, Word.SEQ);
    if (recorded !== seq) throw new Error(`the channel holds the state of checkpoint ${recorded}, not ${seq}`);
    const length = Atomics.load(this.words, Word.STATE_BYTES);
    // TextDecoder refuses views of shared memory: slice() copies into a plain buffer.
    const state = JSON.parse(new TextDecoder().decode(this.bytes.slice(0, length))) as JsonValue;
    return { seq, memoryPages: Atomics.load(this.words, Word.MEMORY_PAGES), state };
  }

  /** Checkpoint worker: the checkpoint in flight will not commit; call before releasing PROTECTED. */
  requireRebuild(): void {
    Atomics.store(this.words, Word.REBUILD, 1);
  }

  /** Compute side: true once per failed commit (clears the flag). */
  takeRebuild(): boolean {
    return Atomics.compareExchange(this.words, Word.REBUILD, 1, 0) === 1;
  }

  /** The page: the checkpoint worker is gone (terminated, or it failed). */
  abandon(): void {
    Atomics.store(this.words, Word.ABANDONED, 1);
  }

  /** True until the compute side has taken the protection back. */
  get abandoned(): boolean {
    return Atomics.load(this.words, Word.ABANDONED) === 1;
  }

  /** Compute side, at a safepoint, once the protection is taken back. */
  clearAbandoned(): void {
    Atomics.store(this.words, Word.ABANDONED, 0);
  }

  setCommitted(seq: number): void {
    Atomics.store(this.words, Word.COMMITTED, seq);
  }
}
