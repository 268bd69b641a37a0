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

/** A chain from the coordinator to import before resuming: its manifests, base first, and their segments by hash. */
export interface ResumeSeed {
  chain: CheckpointManifest[];
  segments: Map<string, ArrayBuffer>;
}

export interface ResumeSource {
  /** Where the run resumed from: a `fallback` turns 'local' into 'coordinator'. */
  from: 'local' | 'coordinator';
  /** The chain to import first, with its segments by hash (coordinator only). */
  seed?: ResumeSeed;
  /**
   * For a local resume: fetches the coordinator's copy instead, for when the
   * local one cannot be read after all (site data cleared meanwhile, a
   * segment gone); `from` becomes 'coordinator'.
   */
  fallback?: () => Promise<ResumeSeed>;
}

export async function resumeSource(assignment: TaskAssignment, transport: CheckpointTransport, dbName?: string): Promise<ResumeSource> {
  const { resume } = assignment;
  if (!resume) throw new Error(`task ${assignment.taskId} has no checkpoint to resume from`);
  const fromCoordinator = async (): Promise<ResumeSeed> => ({ chain: resume.chain, segments: await transport.fetch(assignment, resume.chain) });
  if (resume.digest !== undefined) {
    const local = await localDigest(assignment.taskId, resume.seq, dbName).catch(() => undefined);
    if (local === resume.digest) {
      const source: ResumeSource = {
        from: 'local',
        fallback: async () => {
          const seed = await fromCoordinator();
          source.from = 'coordinator';
          return seed;
        },
      };
      return source;
    }
  }
  return { from: 'coordinator', seed: await fromCoordinator() };
}
