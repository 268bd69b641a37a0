/**
 * Simulated ranks for messaging.bench.ts: ScriptedVolunteers (real
 * socket.io-client, the real `/volunteer` protocol, heartbeats every second as
 * the page sends them), one slot each, that accept the ranks of a coupled job
 * of the built-in `jacobi` and never run it: the bench drives their sockets
 * itself. They connect in batches of 100, so a thousand handshakes are not
 * all in flight at once against socket.io's connect timeout.
 */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { ApiClient } from '../helpers/api-client.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { pollUntil } from '../helpers/wait-for.ts';

const CONNECT_BATCH = 100;
const ASSIGN_TIMEOUT_MS = 60_000;

export interface SimulatedRank {
  readonly volunteer: ScriptedVolunteer;
  readonly task: TaskAssignment;
}

export interface SimulatedJob {
  readonly jobId: string;
  /** By rank. */
  readonly ranks: readonly SimulatedRank[];
  /** Cancels the job (its ranks would otherwise roll back as their volunteers go), then closes every volunteer. */
  close(): Promise<void>;
}

/** Connects `count` volunteers of one slot each, in batches. */
export async function connectVolunteers(url: string, count: number, label: string): Promise<ScriptedVolunteer[]> {
  const volunteers: ScriptedVolunteer[] = [];
  try {
    for (let i = 0; i < count; i += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, (_, j) => new ScriptedVolunteer(url, { name: `${label}-${i + j}`, slots: 1 }));
      volunteers.push(...batch);
      await Promise.all(batch.map((v) => v.start()));
    }
    return volunteers;
  } catch (error) {
    for (const v of volunteers) v.close();
    throw error;
  }
}

/**
 * Posts a jacobi job with one rank per volunteer and resolves once every rank
 * is assigned. The job owns the volunteers from then on: `close` ends both.
 */
export async function postSimulatedJob(api: ApiClient, volunteers: readonly ScriptedVolunteer[], checkpointIntervalMs: number, label: string): Promise<SimulatedJob> {
  let jobId: string | undefined;
  const close = async () => {
    if (jobId) await api.call('POST', `/api/jobs/${jobId}/cancel`).catch(() => {});
    for (const v of volunteers) v.close();
  };
  try {
    const count = volunteers.length;
    jobId = (await api.postJob({ program: 'jacobi', name: label, args: ['256', '100000', '1000'], ranks: count, checkpointIntervalMs })).id;
    const ranks = await pollUntil(
      async () => {
        const held = volunteers.flatMap((volunteer) => [...volunteer.tasks.values()].map((task) => ({ volunteer, task })));
        return held.length === count ? held.sort((a, b) => a.task.rank - b.task.rank) : undefined;
      },
      ASSIGN_TIMEOUT_MS,
      `all ${count} ranks of ${label} to be assigned`,
      50,
    );
    return { jobId, ranks, close };
  } catch (error) {
    await close();
    throw error;
  }
}
