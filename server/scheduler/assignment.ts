/** What a volunteer receives to run a task. */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { JobRecord, ProgramRecord, TaskRecord } from '../store/records.ts';

/** `chain`: the coordinator checkpoint the task continues from, base first (empty: it starts), and `digest`, that checkpoint's as uploaded. */
export function buildAssignment(
  task: TaskRecord,
  job: JobRecord,
  program: ProgramRecord,
  lease: string,
  chain: CheckpointManifest[] = [],
  digest?: string,
): TaskAssignment {
  return {
    taskId: task.id,
    jobId: job.id,
    jobName: job.name,
    index: task.index,
    lease,
    program: {
      id: program.id,
      name: program.name,
      format: program.format,
      url: `/api/programs/${program.id}/bytes`,
    },
    args: task.args,
    env: job.env,
    rank: job.coupled ? task.index : 0,
    ranks: job.coupled ? job.ranks : 1,
    seed: task.seed,
    pageSize: job.pageSize,
    checkpointIntervalMs: job.checkpointIntervalMs,
    memory: program.memory,
    ...(job.coupled ? { coupled: { epoch: job.rollbacks } } : {}),
    ...(chain.length > 0 ? { resume: { seq: chain.at(-1)!.seq, chain, ...(digest === undefined ? {} : { digest }) } } : {}),
  };
}
