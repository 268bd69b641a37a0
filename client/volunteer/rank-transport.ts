/**
 * How a rank's frames and round reports reach the coordinator. The relay
 * over the volunteer's socket is the one transport so far; a peer-to-peer one
 * (WebRTC data channels) would implement the same interface (DESIGN.md §6).
 */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { MessageCounts } from '../runtime/rank-port.ts';
import type { VolunteerSocket } from './connection.ts';
import { request } from './request.ts';

type Task = Pick<TaskAssignment, 'taskId' | 'lease'>;

export interface RankTransport {
  /** Encoded frames for rank `to` of the task's job; may be dropped (the message layer resends). */
  send(task: Task, to: number, batch: Uint8Array): void;
  /** The rank stopped for coordinated checkpoint `round` with checkpoint `seq`; rejects when the round is no longer open. */
  enter(task: Task, round: number, seq: number): Promise<void>;
  stats(task: Task, delta: MessageCounts): void;
}

/** Through the coordinator's relay: `socket()` is looked up at each call (the page builds its connection after its task host). */
export function relayTransport(socket: () => VolunteerSocket): RankTransport {
  return {
    send: ({ taskId, lease }, to, batch) => {
      const s = socket();
      if (s.connected) s.emit('rank:send', { taskId, lease, to, data: batch });
    },
    enter: async ({ taskId, lease }, round, seq) => {
      await request(socket(), 'round:enter', { taskId, lease, round, seq });
    },
    stats: ({ taskId, lease }, delta) => socket().emit('rank:stats', { taskId, lease, ...delta }),
  };
}
