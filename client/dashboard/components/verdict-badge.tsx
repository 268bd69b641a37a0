import type { ReplicaVerdict } from '../../../shared/states.ts';

/** The state colours that say the same: the majority's output, agreeing with it, or against it. */
const LOOK: Record<ReplicaVerdict, { badge: string; title: string }> = {
  accepted: { badge: 'completed', title: 'Its output is the task’s: a majority of replicas agreed with it' },
  agreed: { badge: 'running', title: 'It agreed with the accepted output' },
  outvoted: { badge: 'failed', title: 'A majority of other volunteers’ replicas contradicted its output' },
  undecided: { badge: 'failed', title: 'The replicas never reached a majority: the task failed' },
};

/** What the vote among a task's replicas (a job's redundancy) made of one replica. */
export function VerdictBadge({ verdict }: { verdict: ReplicaVerdict }) {
  const { badge, title } = LOOK[verdict];
  return (
    <span class={`badge badge-${badge}`} data-testid="task-verdict" data-verdict={verdict} title={title}>
      {verdict}
    </span>
  );
}
