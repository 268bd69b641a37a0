/** A volunteer's socket as the scheduler's VolunteerLink. */
import type { Socket } from 'socket.io';
import { GridError, deserializeError } from '../../shared/errors.ts';
import { ACK_TIMEOUT_MS, MAX_PENDING_DELIVERY_BYTES } from '../../shared/limits.ts';
import type { ServerToVolunteer, TaskAssignment, VolunteerToServer } from '../../shared/volunteer-protocol.ts';
import type { VolunteerLink } from '../scheduler/session.ts';

export type VolunteerSocket = Socket<VolunteerToServer, ServerToVolunteer>;

/** What this reads of engine.io's transport: a WebSocket transport's `ws` socket counts what it still has to write. */
interface TransportLike {
  socket?: { bufferedAmount?: number };
}

export class SocketLink implements VolunteerLink {
  /** `rank:deliver` bytes emitted since engine.io last handed its write buffer to the transport. */
  #queuedBytes = 0;
  /** Relayed batches dropped because this volunteer reads too slowly. */
  droppedDeliveries = 0;

  constructor(
    readonly socket: VolunteerSocket,
    /** @default MAX_PENDING_DELIVERY_BYTES */
    private readonly maxPendingBytes = MAX_PENDING_DELIVERY_BYTES,
  ) {
    socket.conn.on('drain', () => {
      this.#queuedBytes = 0;
    });
  }

  /**
   * Bytes waiting to go out to this volunteer: in engine.io's write buffer
   * (while the transport is busy) and in the WebSocket's own buffer. A tab that
   * reads slowly (or not at all) makes these grow in the coordinator's memory.
   */
  pendingBytes(): number {
    const transport = this.socket.conn.transport as unknown as TransportLike;
    return this.#queuedBytes + (transport.socket?.bufferedAmount ?? 0);
  }

  async assign(task: TaskAssignment): Promise<void> {
    const reply: unknown = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('task:assign', task);
    if (typeof reply !== 'object' || reply === null || !('ok' in reply)) {
      throw new GridError('ValidationError', 'task:assign: the volunteer answered with a malformed reply');
    }
    const answer = reply as { ok: boolean; error?: { name: string; message: string } };
    if (answer.ok !== true) throw deserializeError(answer.error ?? { name: 'Error', message: 'refused' });
  }

  cancel(taskId: string, reason: string, keepCheckpoints = false): void {
    this.socket.emit('task:cancel', { taskId, reason, keepCheckpoints });
  }

  halt(taskId: string, reason: 'migrate' | 'preempt'): void {
    this.socket.emit('task:halt', { taskId, reason });
  }

  checkpointNow(taskId: string): void {
    this.socket.emit('task:checkpoint-now', { taskId });
  }

  /** Drops the batch when this volunteer's backlog is over the limit: the message layer resends what stays unacknowledged. */
  deliver(taskId: string, lease: string, from: number, data: Uint8Array): void {
    if (this.pendingBytes() + data.byteLength > this.maxPendingBytes) {
      this.droppedDeliveries++;
      return;
    }
    this.#queuedBytes += data.byteLength;
    this.socket.emit('rank:deliver', { taskId, lease, from, data });
  }

  roundCheckpoint(taskId: string, round: number): void {
    this.socket.emit('round:checkpoint', { taskId, round });
  }

  roundRelease(taskId: string, round: number, aborted: boolean): void {
    this.socket.emit('round:release', { taskId, round, aborted });
  }
}
