/** A volunteer's socket as the scheduler's VolunteerLink. */
import type { Socket } from 'socket.io';
import { GridError, deserializeError } from '../../shared/errors.ts';
import { ACK_TIMEOUT_MS } from '../../shared/limits.ts';
import type { ServerToVolunteer, TaskAssignment, VolunteerToServer } from '../../shared/volunteer-protocol.ts';
import type { VolunteerLink } from '../scheduler/session.ts';

export type VolunteerSocket = Socket<VolunteerToServer, ServerToVolunteer>;

export class SocketLink implements VolunteerLink {
  constructor(readonly socket: VolunteerSocket) {}

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

  deliver(taskId: string, lease: string, from: number, data: Uint8Array): void {
    this.socket.emit('rank:deliver', { taskId, lease, from, data });
  }

  roundCheckpoint(taskId: string, round: number): void {
    this.socket.emit('round:checkpoint', { taskId, round });
  }

  roundRelease(taskId: string, round: number, aborted: boolean): void {
    this.socket.emit('round:release', { taskId, round, aborted });
  }
}
