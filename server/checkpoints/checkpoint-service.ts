/**
 * Checkpoints as volunteers upload them (DESIGN.md §5): segments first, each
 * checked against its SHA-256 and kept in the blob store (content-addressed,
 * fsynced, renamed into place); then the manifest, validated field by field,
 * accepted only when every segment it names and its parent are here, and
 * stored in SQLite; the volunteer's ack waits for that commit, so an
 * acknowledged checkpoint is durable. Every call needs the task's current
 * lease. A volunteer resuming a task fetches the segments of its chain.
 * Issue 4 uses this for migration; issue 5 uploads every checkpoint.
 *
 * Quotas (issue 7): one manifest adds at most MAX_CHECKPOINT_BYTES, and one
 * lease may hold at most as many bytes of new segments that
 * no stored manifest names yet, so a volunteer cannot make the coordinator
 * store unbounded bytes for a task (unreferenced blobs go at the next sweep).
 */
import { checkpointManifestSchema, manifestDigestInput } from '../../shared/checkpoint-format.ts';
import { GridError } from '../../shared/errors.ts';
import { MAX_CHECKPOINT_BYTES, MAX_MEMORY_PAGES } from '../../shared/limits.ts';
import { outputOffsetsOf } from '../../shared/task-state.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import type { ChangeListener, Scheduler } from '../scheduler/scheduler.ts';
import type { VolunteerLink } from '../scheduler/session.ts';
import { sha256Hex } from '../store/blob-store.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';

type Held = ReturnType<Scheduler['holder']>;

export class CheckpointService {
  /** By lease: new segments uploaded under it that no stored manifest names yet (hash → bytes). Dropped with the lease. */
  readonly #unreferenced = new WeakMap<Held, Map<string, number>>();

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly scheduler: Scheduler,
    private readonly changes: ChangeListener,
    /** Hears of every manifest stored (compaction looks at the chain then). */
    private readonly onStored: (taskId: string, seq: number) => void = () => {},
    /** Most bytes one checkpoint may add, and one lease may upload ahead of its manifest. @default MAX_CHECKPOINT_BYTES */
    private readonly maxCheckpointBytes = MAX_CHECKPOINT_BYTES,
  ) {}

  /** Of these segments, the ones the coordinator does not hold yet. */
  missing(link: VolunteerLink, taskId: string, lease: string, hashes: readonly string[]): string[] {
    this.scheduler.holder(link, taskId, lease);
    return hashes.filter((hash) => !this.blobs.has(hash));
  }

  storeSegment(link: VolunteerLink, taskId: string, lease: string, hash: string, data: Uint8Array): void {
    const held = this.scheduler.holder(link, taskId, lease);
    if (this.blobs.has(hash)) return; // content-addressed: the same bytes are here already
    const pending = this.#unreferenced.get(held) ?? new Map<string, number>();
    let pendingBytes = data.byteLength;
    for (const bytes of pending.values()) pendingBytes += bytes;
    if (pendingBytes > this.maxCheckpointBytes) {
      throw new GridError('QuotaExceeded', `task ${taskId}: over ${this.maxCheckpointBytes} bytes of segments that no checkpoint names: upload its manifest first`);
    }
    const actual = sha256Hex(data);
    if (actual !== hash) throw new GridError('ValidationError', `segment ${hash}: its bytes hash to ${actual}`);
    this.blobs.put(data);
    pending.set(hash, data.byteLength);
    this.#unreferenced.set(held, pending);
  }

  storeManifest(link: VolunteerLink, taskId: string, lease: string, raw: unknown): void {
    const held = this.scheduler.holder(link, taskId, lease);
    const { jobId } = held;
    const manifest = parseOrThrow(checkpointManifestSchema, raw, 'manifest');
    if (manifest.memoryPages > MAX_MEMORY_PAGES * (65_536 / manifest.pageSize)) {
      throw new GridError('ValidationError', `manifest.memoryPages: expected at most ${MAX_MEMORY_PAGES} wasm pages of memory`);
    }
    if (manifest.storedBytes > this.maxCheckpointBytes) {
      throw new GridError('QuotaExceeded', `checkpoint ${manifest.seq}: ${manifest.storedBytes} bytes, over the ${this.maxCheckpointBytes} one checkpoint may add`);
    }
    if (manifest.taskId !== taskId) throw new GridError('ValidationError', `manifest.taskId: expected ${taskId}, got ${manifest.taskId}`);
    if (!outputOffsetsOf(manifest.state)) throw new GridError('ValidationError', 'manifest.state.output: expected the stdout and stderr offsets');
    if (manifest.parent !== null && !this.store.checkpoints.get(taskId, manifest.parent)) {
      throw new GridError('Conflict', `checkpoint ${manifest.seq} builds on ${manifest.parent}, which the coordinator does not hold: upload that first`);
    }
    const absent = manifest.segments.find((s) => !this.blobs.has(s.hash));
    if (absent) throw new GridError('Conflict', `checkpoint ${manifest.seq} names segment ${absent.hash}, which was not uploaded`);
    const digest = sha256Hex(new TextEncoder().encode(manifestDigestInput(manifest)));
    this.store.checkpoints.put(manifest, { at: new Date().toISOString(), digest, lease });
    const pending = this.#unreferenced.get(held);
    for (const segment of manifest.segments) pending?.delete(segment.hash);
    this.changes.job(jobId);
    this.onStored(taskId, manifest.seq);
  }

  /** A segment of the chain this task was given to resume from (compaction may have replaced that chain since: its blobs outlive it for a while). */
  fetchSegment(link: VolunteerLink, taskId: string, lease: string, hash: string): Uint8Array {
    const { resumeSegments } = this.scheduler.holder(link, taskId, lease);
    const bytes = resumeSegments?.has(hash) ? this.blobs.get(hash) : undefined;
    if (!bytes) throw new GridError('NotFound', `task ${taskId} resumes from no checkpoint with segment ${hash}`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
