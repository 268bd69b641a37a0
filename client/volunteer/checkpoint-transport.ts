/**
 * Checkpoints to and from the coordinator over the volunteer's socket
 * (DESIGN.md §5), one request per step, each waiting for its ack: which
 * segments the coordinator lacks, a segment, a manifest (its ack means the
 * checkpoint is durable there), a segment to resume from, halted, resumed.
 * checkpoint-uploader.ts decides what to send and how many at once. Every
 * call carries the task's lease: the coordinator refuses anyone else.
 */
import { chainSegments } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { VolunteerSocket } from './connection.ts';
import { request } from './request.ts';

type Task = Pick<TaskAssignment, 'taskId' | 'lease'>;

export interface CheckpointTransport {
  /** Of these segments, the ones the coordinator does not hold. */
  missing(task: Task, hashes: string[]): Promise<string[]>;
  /** Stores one segment there (checked against its hash). */
  segment(task: Task, hash: string, data: ArrayBuffer): Promise<void>;
  /** Commits a manifest there, once its parent and segments are there; resolves when it is durable. */
  manifest(task: Task, manifest: CheckpointManifest): Promise<void>;
  /** The bytes of every segment `chain` names, by hash. */
  fetch(task: Task, chain: readonly CheckpointManifest[]): Promise<Map<string, ArrayBuffer>>;
  /** The task stopped after checkpoint `seq` (acknowledged): the coordinator requeues it from there. */
  halted(task: Task, seq: number): Promise<void>;
  /** The task continues from checkpoint `seq`. */
  resumed(task: Task, seq: number, from: 'local' | 'coordinator'): Promise<void>;
}

/** socket.io hands binary to the browser as an ArrayBuffer, to Node as a Buffer. */
function asArrayBuffer(data: unknown): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  throw new Error('the coordinator answered a segment request with something other than bytes');
}

/** `socket()`: the volunteer's socket, looked up at each call (the page builds its connection after its task host). */
export function socketCheckpointTransport(socket: () => VolunteerSocket): CheckpointTransport {
  return {
    async missing({ taskId, lease }, hashes) {
      return (await request(socket(), 'checkpoint:missing', { taskId, lease, hashes })).missing;
    },
    async segment({ taskId, lease }, hash, data) {
      await request(socket(), 'checkpoint:segment', { taskId, lease, hash, data: new Uint8Array(data) });
    },
    async manifest({ taskId, lease }, manifest) {
      await request(socket(), 'checkpoint:manifest', { taskId, lease, manifest });
    },
    async fetch({ taskId, lease }, chain) {
      const hashes = chainSegments(chain);
      // A few requests in flight keep the link busy; the coordinator answers them in order.
      const bytes = await inWindows(hashes, 4, (hash) => request(socket(), 'checkpoint:fetch', { taskId, lease, hash }).then(asArrayBuffer));
      return new Map(hashes.map((hash, i) => [hash, bytes[i]!]));
    },
    async halted({ taskId, lease }, seq) {
      await request(socket(), 'task:halted', { taskId, lease, seq });
    },
    async resumed({ taskId, lease }, seq, from) {
      await request(socket(), 'task:resumed', { taskId, lease, seq, from });
    },
  };
}

/** Maps `items` through `each` with at most `window` calls pending at once, keeping the order. */
export async function inWindows<T, R>(items: readonly T[], window: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await each(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
  return results;
}
