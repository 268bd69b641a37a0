import type { TaskState } from '../../../shared/states.ts';

interface Props {
  /** A task's or a job's state (the two are the same set, shared/states.ts). */
  state: TaskState;
  testId?: string;
}

/** A coloured pill naming a job's or task's state; the colour comes from `.badge-STATE`. */
export function StateBadge({ state, testId = 'state-badge' }: Props) {
  return (
    <span class={`badge badge-${state}`} data-testid={testId} data-state={state}>
      {state}
    </span>
  );
}
