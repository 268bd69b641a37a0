/**
 * Result validation by redundancy (issue 7): a job with `redundancy` k > 1
 * runs each task index as k replicas on k different volunteers (dispatch
 * asks `mayRun`), each its own task row so that leases, checkpoints and
 * resumes work per replica. When a replica finishes, its output is hashed and
 * the replicas vote (replica-vote.ts). Once a majority agrees, the index is
 * decided: its output is the first agreeing replica's, the others still
 * waiting or running are cancelled, and the volunteers who disagreed are
 * counted outvoted. Without a majority, more replicas run up to a limit, then
 * the index fails.
 */
import { logger } from '../logger.ts';
import type { JobRecord, TaskRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { noMajorityError, outputHash, tally } from './replica-vote.ts';

const log = logger('scheduler');

/** Whether the job's tasks run as replicas that vote (coupled jobs are refused redundancy at POST). */
export function isReplicated(job: Pick<JobRecord, 'redundancy' | 'coupled'>): boolean {
  return job.redundancy > 1 && !job.coupled;
}

/** What a finished replica's vote changed. */
export interface VoteResult {
  /** The index is decided now (count it once in the job): failed when its accepted output is a failure or no majority came. */
  decided?: { failed: boolean };
  /** The index's replicas still waiting or running, now useless: the caller cancels them. */
  cancel: TaskRecord[];
  /** Volunteers whose replica the majority contradicted (counted in the store already). */
  outvoted: string[];
}

const isDone = (t: TaskRecord) => t.state === 'completed' || t.state === 'failed';
const isWaitingOrRunning = (t: TaskRecord) => t.state === 'queued' || t.state === 'running' || t.state === 'preempted';

export class ReplicaVotes {
  constructor(private readonly store: Store) {}

  /** Replica `taskId` of a replicated job just finished (its end is stored): hash its output and count the votes. */
  finished(job: JobRecord, taskId: string): VoteResult {
    const task = this.store.tasks.get(taskId);
    if (!task) return { cancel: [], outvoted: [] };
    const hash = outputHash({
      ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
      ...(task.result !== undefined ? { result: task.result } : {}),
      ...(task.error !== undefined ? { error: task.error } : {}),
      stdout: this.store.tasks.output(taskId, 'stdout'),
      stderr: this.store.tasks.output(taskId, 'stderr'),
    });
    this.store.replicas.setHash(taskId, hash);
    // Replicas cancelled with their job, or after a decision, do not vote.
    const replicas = this.store.replicas.of(job.id, task.index).filter((r) => r.state !== 'cancelled');
    const accepted = replicas.find((r) => r.verdict === 'accepted');
    if (accepted) {
      // Decided before this one ended (cannot happen while deciding cancels the rest; kept safe): judged against the decision.
      return { cancel: [], outvoted: this.#judge([{ ...task, outputHash: hash }], accepted.outputHash!) };
    }
    const result = tally(
      replicas.map((r) => ({ finished: isDone(r), ...(r.outputHash !== undefined ? { hash: r.outputHash } : {}) })),
      job.redundancy,
    );
    switch (result.outcome) {
      case 'waiting':
        return { cancel: [], outvoted: [] };
      case 'another': {
        const added = this.store.replicas.add(job.id, task.index);
        log.info(`task ${task.index} of job ${job.id}: ${replicas.length} replicas disagree; replica ${added.replica} queued`);
        return { cancel: [], outvoted: [] };
      }
      case 'no-majority':
        log.warn(`task ${task.index} of job ${job.id} failed: ${noMajorityError(result.replicas)}`);
        for (const r of replicas) this.store.replicas.setVerdict(r.id, 'undecided');
        return { decided: { failed: true }, cancel: [], outvoted: [] };
      case 'accepted': {
        const winner = replicas.find((r) => r.outputHash === result.hash)!;
        this.store.replicas.setVerdict(winner.id, 'accepted');
        const outvoted = this.#judge(replicas.filter((r) => r !== winner && isDone(r)), result.hash);
        return { decided: { failed: winner.state === 'failed' }, cancel: replicas.filter(isWaitingOrRunning), outvoted };
      }
    }
  }

  /** Marks finished replicas agreed or outvoted against the accepted hash; answers the outvoted ones' volunteers. */
  #judge(replicas: readonly TaskRecord[], accepted: string): string[] {
    const outvoted: string[] = [];
    for (const r of replicas) {
      const agrees = r.outputHash === accepted;
      this.store.replicas.setVerdict(r.id, agrees ? 'agreed' : 'outvoted');
      if (agrees || !r.volunteerId) continue;
      this.store.volunteers.countOutvoted(r.volunteerId);
      outvoted.push(r.volunteerId);
    }
    return outvoted;
  }
}
