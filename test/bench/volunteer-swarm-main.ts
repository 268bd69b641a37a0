/** Child process entry of a volunteer swarm (see volunteer-swarm.ts). */
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { parentChannel } from './child.ts';
import { PROGRESS_MS } from './volunteer-swarm.ts';
import type { FromSwarm, ToSwarm } from './volunteer-swarm.ts';
import { wallNow } from './stats.ts';

const url = process.env.BENCH_URL;
const count = Number(process.env.BENCH_VOLUNTEERS);
const label = process.env.BENCH_LABEL ?? 'swarm';
if (!url || !Number.isInteger(count) || count < 1) throw new Error('BENCH_URL and BENCH_VOLUNTEERS must be set');

let finished = 0;
let lastAckAt = 0;
const gapsMs: number[] = [];
const errors: string[] = [];
/** Per volunteer: when it sent its last `task:finish` (performance.now), until its next assignment arrives. */
const finishSentAt = new Map<ScriptedVolunteer, number>();

function run(task: TaskAssignment, volunteer: ScriptedVolunteer): void {
  const sent = finishSentAt.get(volunteer);
  if (sent !== undefined) {
    gapsMs.push(performance.now() - sent);
    finishSentAt.delete(volunteer);
  }
  volunteer.output(task, `task ${task.args.join(' ')}\n`);
  finishSentAt.set(volunteer, performance.now());
  volunteer.finish(task).then(
    () => {
      finished++;
      lastAckAt = wallNow();
    },
    (error: Error) => {
      if (errors.length < 20) errors.push(`${task.taskId}: ${error.message}`);
    },
  );
}

const volunteers = Array.from(
  { length: count },
  (_, i) => new ScriptedVolunteer(url, { name: `${label}-${i}`, slots: 1, onTask: run }),
);

const parent = parentChannel<ToSwarm, FromSwarm>((message) => {
  if (message.type === 'report') {
    const cpu = process.cpuUsage();
    parent.send({ type: 'report', finished, gapsMs, errors, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  else if (message.type === 'close') {
    clearInterval(ticker);
    for (const v of volunteers) v.close();
    process.exit(0);
  }
});

let reported = -1;
const ticker = setInterval(() => {
  if (finished === reported) return;
  reported = finished;
  parent.send({ type: 'progress', finished, lastAckAt });
}, PROGRESS_MS);

await Promise.all(volunteers.map((v) => v.start()));
parent.send({ type: 'ready', volunteers: volunteers.length });
