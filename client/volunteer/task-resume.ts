/**
 * Where a task given with a checkpoint to continue from gets it (DESIGN.md
 * §5): from this volunteer's own IndexedDB when it holds that very checkpoint
 * (same digest: a reopened tab, or a task given back), downloading nothing;
 * otherwise the chain's segments are fetched from the coordinator and
 * imported first.
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { CheckpointTransport } from './checkpoint-transport.ts';
import { localDigest } from './local-checkpoints.ts';

export interface ResumeSource {
  from: 'local' | 'coordinator';
  /** The chain to import first, with its segments by hash (coordinator only). */
  seed?: { chain: CheckpointManifest[]; segments: Map<string, ArrayBuffer> };
}

export async function resumeSource(assignment: TaskAssignment, transport: CheckpointTransport, dbName?: string): Promise<ResumeSource> {
  const { resume } = assignment;
  if (!resume) throw new Error(`task ${assignment.taskId} has no checkpoint to resume from`);
  if (resume.digest !== undefined) {
    const local = await localDigest(assignment.taskId, resume.seq, dbName).catch(() => undefined);
    if (local === resume.digest) return { from: 'local' };
  }
  return { from: 'coordinator', seed: { chain: resume.chain, segments: await transport.fetch(assignment, resume.chain) } };
}
