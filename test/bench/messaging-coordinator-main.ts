/**
 * Child process entry: coordinator-main.ts (a real coordinator, its stats and
 * close over IPC) plus the coordinator's own view of each coordinated round,
 * so messaging.bench.ts can tell the coordinator's share of a barrier from
 * the volunteers'. The scheduler's calls into the volunteers' links and into
 * the round book-keeping are wrapped on their prototypes, before the
 * coordinator starts: its code runs exactly as it does in production.
 */
import { CoordinatedCheckpoints } from '../../server/coupled/coordinated-checkpoints.ts';
import { SocketLink } from '../../server/realtime/socket-link.ts';
import type { CoordinatorRound, FromRoundClock, ToRoundClock } from './messaging-coordinator.ts';
import { wallNow } from './stats.ts';

let rounds = new Map<number, CoordinatorRound>();
const roundOf = (round: number) => {
  let r = rounds.get(round);
  if (!r) rounds.set(round, (r = { round, openedAt: 0, entered: 0, lastEnterAt: 0, releasedAt: 0, releaseDoneAt: 0 }));
  return r;
};

const { roundCheckpoint, roundRelease } = SocketLink.prototype;
SocketLink.prototype.roundCheckpoint = function (this: SocketLink, taskId: string, round: number): void {
  const r = roundOf(round);
  r.openedAt ||= wallNow();
  roundCheckpoint.call(this, taskId, round);
};
SocketLink.prototype.roundRelease = function (this: SocketLink, taskId: string, round: number, aborted: boolean): void {
  const r = roundOf(round);
  r.releasedAt ||= wallNow();
  roundRelease.call(this, taskId, round, aborted);
  r.releaseDoneAt = wallNow();
};
const { enter } = CoordinatedCheckpoints.prototype;
CoordinatedCheckpoints.prototype.enter = function (this: CoordinatedCheckpoints, ...args: Parameters<typeof enter>): void {
  const r = roundOf(args[1]);
  r.entered++;
  r.lastEnterAt = wallNow();
  enter.apply(this, args);
};

process.on('message', (message: ToRoundClock) => {
  if (message.type !== 'rounds') return;
  const reply: FromRoundClock = { type: 'rounds', rounds: [...rounds.values()] };
  process.send!(reply);
  rounds = new Map();
});

await import('./coordinator-main.ts');
