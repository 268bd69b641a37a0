/**
 * Checkpoints to and from the coordinator over the volunteer's socket
 * (DESIGN.md §5): an upload asks which segments the coordinator lacks, sends
 * those one at a time, each waiting for its ack (so a slow link holds the
 * upload back instead of piling up in memory), then the manifests base
 * first; the last ack means the checkpoint is durable there. A resume
 * fetches its chain's segments the same way. Every call carries the task's
 * lease: the coordinator refuses anyone else.
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { chainSegments } from '../checkpoint/chain-transfer.ts';
import type { ExportedChain } from '../checkpoint/checkpoint-worker-protocol.ts';
import type { VolunteerSocket } from './connection.ts';
import { request } from './request.ts';

export interface CheckpointTransport {
  /** Uploads a chain; resolves once the coordinator acknowledged its newest manifest. */
  upload(task: TaskAssignment, exported: ExportedChain): Promise<{ segmentsSent: number }>;
  /** The bytes of every segment `chain` names, by hash. */
  fetch(task: TaskAssignment, chain: readonly CheckpointManifest[]): Promise<Map<string, ArrayBuffer>>;
  /** The task stopped after checkpoint `seq` (acknowledged): the coordinator requeues it from there. */
  halted(task: TaskAssignment, seq: number): Promise<void>;
  /** The task continues from checkpoint `seq`. */
  resumed(task: TaskAssignment, seq: number, from: 'local' | 'coordinator'): Promise<void>;
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
    async upload({ taskId, lease }, { chain, hashes, segments }) {
      const { missing } = await request(socket(), 'checkpoint:missing', { taskId, lease, hashes });
      const wanted = new Set(missing);
      for (const [i, hash] of hashes.entries()) {
        if (wanted.has(hash)) await request(socket(), 'checkpoint:segment', { taskId, lease, hash, data: new Uint8Array(segments[i]!) });
      }
      for (const manifest of chain) await request(socket(), 'checkpoint:manifest', { taskId, lease, manifest });
      return { segmentsSent: wanted.size };
    },
    async fetch({ taskId, lease }, chain) {
      const segments = new Map<string, ArrayBuffer>();
      for (const hash of chainSegments(chain)) segments.set(hash, asArrayBuffer(await request(socket(), 'checkpoint:fetch', { taskId, lease, hash })));
      return segments;
    },
    async halted({ taskId, lease }, seq) {
      await request(socket(), 'task:halted', { taskId, lease, seq });
    },
    async resumed({ taskId, lease }, seq, from) {
      await request(socket(), 'task:resumed', { taskId, lease, seq, from });
    },
  };
}
