/**
 * Commits checkpoints to IndexedDB and reads them back (DESIGN.md §4 "Commit").
 *
 * Commit order is the whole crash story: segments go first, a batch per
 * relaxed transaction, each batch also updating the task's `pending` record
 * so prune leaves them alone; then the manifest, alone in a strict
 * transaction that also drops the pending record. A checkpoint whose manifest
 * was never written does not exist: readers only ever start from manifests,
 * and its segments are garbage for `prune`.
 */
import { CHECKPOINT_FORMAT, CheckpointCorruptError, checkpointManifestSchema } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest, JsonValue, PageExtent, SegmentRef } from '../../shared/checkpoint-format.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import { openCheckpointDb } from './checkpoint-db.ts';
import type { CheckpointDatabase } from './checkpoint-db.ts';
import { sha256Hex } from './segment-hash.ts';
import { SegmentWriter } from '../../shared/segment-writer.ts';

/** What a checkpoint is, known before its pages are saved. */
export interface CheckpointHeader {
  taskId: string;
  seq: number;
  /** The previous committed checkpoint of the chain, or null to start a base. */
  parent: number | null;
  pageSize: number;
  memoryPages: number;
}

export interface CheckpointWriterOptions {
  /** Segments per relaxed transaction. @default 8 */
  batchSegments?: number;
  /** Keep each stored segment's bytes (`storedSegments`), for an upload that should not read them back. @default false */
  keepSegments?: boolean;
  /** @default SEGMENT_TARGET_BYTES */
  targetBytes?: number;
}

/** What saves one checkpoint (CheckpointWriter into IndexedDB, or memory-writer.ts when IndexedDB is full). */
export interface PageSink {
  add(page: number, bytes: Uint8Array): Promise<void>;
  commit(state: JsonValue): Promise<CheckpointManifest>;
  storedSegments(): Map<string, ArrayBuffer> | undefined;
}

/** The manifest of a checkpoint whose pages were packed into `segments`: validated, as every reader will. */
export function buildManifest(
  header: CheckpointHeader,
  packed: { extents: PageExtent[]; segments: SegmentRef[]; pages: number },
  state: JsonValue,
  createdAt = Date.now(),
): CheckpointManifest {
  return parseOrThrow(
    checkpointManifestSchema,
    {
      format: CHECKPOINT_FORMAT,
      ...header,
      extents: packed.extents,
      segments: packed.segments,
      state,
      dirtyBytes: packed.pages * header.pageSize,
      storedBytes: packed.segments.reduce((sum, s) => sum + s.bytes, 0),
      createdAt,
    },
    'checkpoint manifest',
  );
}

/** Saves one checkpoint: `add` its dirty pages in page order, then `commit`. Dropping it uncommitted leaves only garbage. */
export class CheckpointWriter implements PageSink {
  readonly #db: CheckpointDatabase;
  readonly #header: CheckpointHeader;
  readonly #pages: SegmentWriter;
  readonly #batchSegments: number;
  readonly #batch: ArrayBuffer[] = [];
  readonly #segments: SegmentRef[] = [];
  /** The bytes of #segments, when kept. */
  readonly #kept: ArrayBuffer[] | undefined;
  /** The batch being stored while the caller copies the next one (at most one in flight). */
  #storing: Promise<void> = Promise.resolve();
  #done = false;

  constructor(db: CheckpointDatabase, header: CheckpointHeader, options: CheckpointWriterOptions = {}) {
    this.#db = db;
    this.#header = header;
    this.#pages = new SegmentWriter(header.pageSize, options.targetBytes === undefined ? {} : { targetBytes: options.targetBytes });
    this.#batchSegments = options.batchSegments ?? 8;
    this.#kept = options.keepSegments ? [] : undefined;
  }

  /** Copies page `page` out (a view of shared memory is fine: the bytes are copied at once). Awaits a store when a batch of segments is full. */
  async add(page: number, bytes: Uint8Array): Promise<void> {
    if (this.#done) throw new Error('this checkpoint is already committed');
    if (page >= this.#header.memoryPages) throw new RangeError(`page ${page} is beyond the memory's ${this.#header.memoryPages} pages`);
    const full = this.#pages.add(page, bytes);
    if (full) this.#batch.push(full);
    if (this.#batch.length >= this.#batchSegments) {
      await this.#storing;
      this.#storing = this.#flush(this.#batch.splice(0));
    }
  }

  /**
   * Stores what is left, then the manifest (the commit point). Resolves once
   * the manifest is durable. With `replaceOlder`, the same strict transaction
   * deletes the task's manifests below this seq (compaction's atomic swap,
   * which keeps the replaced manifest's `createdAt`: it is the same checkpoint).
   */
  async commit(state: JsonValue, options: { replaceOlder?: boolean; createdAt?: number } = {}): Promise<CheckpointManifest> {
    if (this.#done) throw new Error('this checkpoint is already committed');
    this.#done = true;
    const { last, extents } = this.#pages.finish();
    if (last) this.#batch.push(last);
    await this.#storing;
    await this.#flush(this.#batch.splice(0));
    const h = this.#header;
    const manifest = buildManifest(h, { extents, segments: this.#segments, pages: this.#pages.pages }, state, options.createdAt);
    const tx = this.#db.transaction(['manifests', 'pending'], 'readwrite', { durability: 'strict' });
    if (h.parent !== null && !(await tx.objectStore('manifests').getKey([h.taskId, h.parent]))) {
      tx.done.catch(() => undefined); // the abort below rejects it; the error thrown says why
      tx.abort();
      throw new CheckpointCorruptError(`${h.taskId} has no checkpoint ${h.parent} to build checkpoint ${h.seq} on`);
    }
    const requests: Promise<unknown>[] = [tx.objectStore('manifests').put(manifest), tx.objectStore('pending').delete(h.taskId)];
    if (options.replaceOlder) requests.push(tx.objectStore('manifests').delete(IDBKeyRange.bound([h.taskId, 0], [h.taskId, h.seq], false, true)));
    await Promise.all([...requests, tx.done]);
    return manifest;
  }

  /** The segments this checkpoint stored, by hash, if `keepSegments` was asked for. */
  storedSegments(): Map<string, ArrayBuffer> | undefined {
    return this.#kept && new Map(this.#segments.map((s, i) => [s.hash, this.#kept![i]!]));
  }

  async #flush(batch: ArrayBuffer[]): Promise<void> {
    if (batch.length === 0) return;
    // Hash before opening the transaction: it would go inactive across a non-IDB await.
    const hashes = await Promise.all(batch.map(sha256Hex));
    // Batches are stored one after another, so segment refs stay in segment-index order.
    batch.forEach((segment, i) => this.#segments.push({ hash: hashes[i]!, bytes: segment.byteLength }));
    this.#kept?.push(...batch); // put() below clones them, so these stay the caller's
    const tx = this.#db.transaction(['segments', 'pending'], 'readwrite', { durability: 'relaxed' });
    const segments = tx.objectStore('segments');
    // put() clones synchronously; all requests go out before the first await.
    const puts = batch.map((segment, i) => segments.put(segment, hashes[i]!));
    const { taskId, seq } = this.#header;
    puts.push(tx.objectStore('pending').put({ taskId, seq, hashes: this.#segments.map((s) => s.hash) }));
    await Promise.all([...puts, tx.done]);
  }
}

function taskRange(taskId: string): IDBKeyRange {
  return IDBKeyRange.bound([taskId, 0], [taskId, Infinity]);
}

/** The checkpoints of this origin: one per volunteer tab or worker, all tasks in one database. */
export class CheckpointStore {
  private constructor(
    readonly db: CheckpointDatabase,
    /** Set when the browser closes the connection (openCheckpointDb's `onLost`). */
    private readonly connection: { lost: boolean },
  ) {}

  static async open(name?: string): Promise<CheckpointStore> {
    const connection = { lost: false };
    return new CheckpointStore(await openCheckpointDb(name, () => (connection.lost = true)), connection);
  }

  /**
   * The browser closed this connection (site data cleared): the database and
   * everything in it are gone, and nothing more can be read or written here.
   */
  get lost(): boolean {
    return this.connection.lost;
  }

  /** Starts checkpoint `header.seq`; nothing of it is visible until its writer's `commit` resolves. */
  begin(header: CheckpointHeader, options?: CheckpointWriterOptions): CheckpointWriter {
    return new CheckpointWriter(this.db, header, options);
  }

  /** The task's newest committed checkpoint, if any. */
  async newest(taskId: string): Promise<CheckpointManifest | undefined> {
    const cursor = await this.db.transaction('manifests').store.openCursor(taskRange(taskId), 'prev');
    return cursor?.value;
  }

  async manifest(taskId: string, seq: number): Promise<CheckpointManifest | undefined> {
    return this.db.get('manifests', [taskId, seq]);
  }

  /** Every committed checkpoint of the task, oldest first. */
  async manifests(taskId: string): Promise<CheckpointManifest[]> {
    return this.db.getAll('manifests', taskRange(taskId));
  }

  /** The chain base → … → seq (the newest when seq is omitted), base first; empty when the task has none. */
  async chain(taskId: string, seq?: number): Promise<CheckpointManifest[]> {
    const store = this.db.transaction('manifests').store;
    let manifest = seq === undefined ? (await store.openCursor(taskRange(taskId), 'prev'))?.value : await store.get([taskId, seq]);
    if (!manifest) return [];
    const chain = [manifest];
    while (manifest.parent !== null) {
      const parent: CheckpointManifest | undefined = await store.get([taskId, manifest.parent]);
      if (!parent) throw new CheckpointCorruptError(`${taskId} checkpoint ${manifest.seq} names parent ${manifest.parent}, which is gone`);
      chain.push((manifest = parent));
    }
    return chain.reverse();
  }

  /**
   * Deletes every segment that no manifest and no in-flight commit names.
   * `owner`'s own pending record is dropped first (its commit is not in flight
   * while its worker prunes: one checkpoint at a time per task).
   */
  async prune(owner?: string): Promise<{ segments: number }> {
    const tx = this.db.transaction(['segments', 'manifests', 'pending'], 'readwrite', { durability: 'relaxed' });
    if (owner !== undefined) await tx.objectStore('pending').delete(owner);
    const live = new Set<string>();
    for (const manifest of await tx.objectStore('manifests').getAll()) for (const s of manifest.segments) live.add(s.hash);
    for (const pending of await tx.objectStore('pending').getAll()) for (const hash of pending.hashes) live.add(hash);
    const dead = (await tx.objectStore('segments').getAllKeys()).filter((hash) => !live.has(hash));
    await Promise.all([...dead.map((hash) => tx.objectStore('segments').delete(hash)), tx.done]);
    return { segments: dead.length };
  }

  /** Forgets the task's checkpoints after `seq` (it goes on from `seq`), then drops the segments nothing names any more. */
  async dropAfter(taskId: string, seq: number): Promise<void> {
    const tx = this.db.transaction('manifests', 'readwrite', { durability: 'strict' });
    await Promise.all([tx.store.delete(IDBKeyRange.bound([taskId, seq], [taskId, Infinity], true)), tx.done]);
    await this.prune(taskId);
  }

  /** Forgets every checkpoint of the task (it finished, or starts over), then drops the segments nothing names any more. */
  async deleteTask(taskId: string): Promise<void> {
    const tx = this.db.transaction(['manifests', 'pending'], 'readwrite', { durability: 'relaxed' });
    await Promise.all([tx.objectStore('manifests').delete(taskRange(taskId)), tx.objectStore('pending').delete(taskId), tx.done]);
    await this.prune();
  }

  close(): void {
    this.db.close();
  }
}
