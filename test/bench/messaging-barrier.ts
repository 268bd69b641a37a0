/**
 * The coordinated checkpoint's barrier at scale (messaging.bench.ts): the
 * simulated ranks of one big coupled job answer every `round:checkpoint` with
 * `round:enter` at once (seq = round: the coordinator does not look the seq
 * up on entering), as a rank whose stop took no time would. All of them live
 * in this one process, so one clock times both ends of a
 * round: from the moment the LAST rank sent its enter to the moment the LAST
 * rank received the release. What that spans: the coordinator taking the
 * last enter, recording the round (a group commit, i.e. an fsync), emitting
 * one release per rank, and this process reading them all.
 */
import type { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { wallNow } from './stats.ts';

export interface BarrierRound {
  round: number;
  /** Last enter sent → last release received. */
  barrierMs: number;
  /** First `round:checkpoint` received → last enter sent: the fan-in, this process answering every rank. */
  fanInMs: number;
  /** First release received → last: the fan-out. */
  fanOutMs: number;
  aborted: boolean;
  /** Wall-clock ms (stats.ts `wallNow`), to set against the coordinator's clock: the last enter sent, the last release received. */
  lastEnterAt: number;
  lastReleaseAt: number;
}

interface Tally {
  firstAskAt: number;
  lastEnterAt: number;
  entered: number;
  firstReleaseAt: number;
  lastReleaseAt: number;
  released: number;
  aborted: boolean;
}

/**
 * Resolves with the first `rounds` rounds every rank entered and was released
 * from (aborted ones included, flagged). Called before the job is posted: its
 * first round may open before the bench has seen every assignment.
 */
export function measureBarrier(volunteers: readonly ScriptedVolunteer[], rounds: number, timeoutMs: number): Promise<{ rounds: BarrierRound[]; refused: number }> {
  const size = volunteers.length;
  const tallies = new Map<number, Tally>();
  const done: BarrierRound[] = [];
  let refused = 0;
  const tally = (round: number) => {
    let t = tallies.get(round);
    if (!t) tallies.set(round, (t = { firstAskAt: 0, lastEnterAt: 0, entered: 0, firstReleaseAt: 0, lastReleaseAt: 0, released: 0, aborted: false }));
    return t;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${done.length} of ${rounds} rounds within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const volunteer of volunteers) volunteer.socket.off('round:checkpoint').off('round:release');
      if (error) reject(error);
      else resolve({ rounds: done, refused });
    };
    for (const volunteer of volunteers) {
      volunteer.socket.on('round:checkpoint', ({ taskId, round }) => {
        const task = volunteer.tasks.get(taskId);
        if (!task) return;
        const t = tally(round);
        if (t.entered === 0) t.firstAskAt = wallNow();
        volunteer.socket.emit('round:enter', { taskId: task.taskId, lease: task.lease, round, seq: round }, (reply) => {
          if (!reply.ok) refused++;
        });
        t.lastEnterAt = wallNow();
        t.entered++;
      });
      volunteer.socket.on('round:release', ({ round, aborted }) => {
        const t = tally(round);
        const now = wallNow();
        if (t.released === 0) t.firstReleaseAt = now;
        t.lastReleaseAt = now;
        t.aborted ||= aborted;
        if (++t.released < size || t.entered < size) return;
        done.push({ round, barrierMs: now - t.lastEnterAt, fanInMs: t.lastEnterAt - t.firstAskAt, fanOutMs: now - t.firstReleaseAt, aborted: t.aborted, lastEnterAt: t.lastEnterAt, lastReleaseAt: now });
        if (done.length >= rounds) finish();
      });
    }
  });
}
