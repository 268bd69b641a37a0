/**
 * Checkpoints as volunteers upload them (DESIGN.md §5): segments first, each
 * checked against its SHA-256 and kept in the blob store (content-addressed,
 * fsynced, renamed into place); then the manifest, validated field by field,
 * accepted only when every segment it names and its parent are here, and
 * stored in SQLite; the volunteer's ack waits for that commit, so an
 * acknowledged checkpoint is durable. Every call needs the task's current
 * lease. A volunteer resuming a task fetches the segments of its chain.
 * Issue 4 uses this for migration; issue 5 uploads every checkpoint.
 */
import { checkpointManifestSchema, manifestDigestInput } from '../../shared/checkpoint-format.ts';
import { GridError } from '../../shared/errors.ts';
import { outputOffsetsOf } from '../../shared/task-state.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import type { ChangeListener, Scheduler } from '../scheduler/scheduler.ts';
import type { VolunteerLink } from '../scheduler/session.ts';
import { sha256Hex } from '../store/blob-store.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';

export class CheckpointService {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly scheduler: Scheduler,
    private readonly changes: ChangeListener,
    /** Hears of every manifest stored (compaction looks at the chain then). */
    private readonly onStored: (taskId: string, seq: number) => void = () => {},
  ) {}

  /** Of these segments, the ones the coordinator does not hold yet. */
  missing(link: VolunteerLink, taskId: string, lease: string, hashes: readonly string[]): string[] {
    this.scheduler.holder(link, taskId, lease);
    return hashes.filter((hash) => !this.blobs.has(hash));
  }

  storeSegment(link: VolunteerLink, taskId: string, lease: string, hash: string, data: Uint8Array): void {
    this.scheduler.holder(link, taskId, lease);
    const actual = sha256Hex(data);
    if (actual !== hash) throw new GridError('ValidationError', `segment ${hash}: its bytes hash to ${actual}`);
    this.blobs.put(data);
  }

  storeManifest(link: VolunteerLink, taskId: string, lease: string, raw: unknown): void {
    const { jobId } = this.scheduler.holder(link, taskId, lease);
    const manifest = parseOrThrow(checkpointManifestSchema, raw, 'manifest');
    if (manifest.taskId !== taskId) throw new GridError('ValidationError', `manifest.taskId: expected ${taskId}, got ${manifest.taskId}`);
    if (!outputOffsetsOf(manifest.state)) throw new GridError('ValidationError', 'manifest.state.output: expected the stdout and stderr offsets');
    if (manifest.parent !== null && !this.store.checkpoints.get(taskId, manifest.parent)) {
      throw new GridError('Conflict', `checkpoint ${manifest.seq} builds on ${manifest.parent}, which the coordinator does not hold: upload that first`);
    }
    const absent = manifest.segments.find((s) => !this.blobs.has(s.hash));
    if (absent) throw new GridError('Conflict', `checkpoint ${manifest.seq} names segment ${absent.hash}, which was not uploaded`);
    const digest = sha256Hex(new TextEncoder().encode(manifestDigestInput(manifest)));
    this.store.checkpoints.put(manifest, { at: new Date().toISOString(), digest, lease });
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
