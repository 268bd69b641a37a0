import { useState } from 'preact/hooks';
import type { JobState } from '../../../shared/states.ts';
import { errorMessage, postJobAction, type JobAction } from '../api.ts';
import { Notice } from './notice.tsx';

interface ActionSpec {
  action: JobAction;
  label: string;
  done: string;
  /** States in which the button is offered. */
  when: readonly JobState[];
  danger?: boolean;
}

const ACTIONS: readonly ActionSpec[] = [
  { action: 'checkpoint', label: 'Checkpoint now', done: 'Checkpoint requested.', when: ['running'] },
  { action: 'preempt', label: 'Preempt', done: 'Preemption requested.', when: ['queued', 'running'] },
  { action: 'resume', label: 'Resume', done: 'Resume requested.', when: ['preempted'] },
  { action: 'cancel', label: 'Cancel', done: 'Cancellation requested.', when: ['queued', 'running', 'preempted'], danger: true },
];

interface Props {
  jobId: string;
  state: JobState;
  /** Called after the coordinator accepted an action, to re-read the job. */
  onDone: () => void;
}

/** Preempt, resume, cancel or checkpoint a job; shows the coordinator's answer. */
export function JobActions({ jobId, state, onDone }: Props) {
  const [busy, setBusy] = useState<JobAction | null>(null);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);

  const run = async (spec: ActionSpec) => {
    setBusy(spec.action);
    setMessage(null);
    try {
      await postJobAction(jobId, spec.action);
      setMessage({ kind: 'success', text: spec.done });
      onDone();
    } catch (error) {
      setMessage({ kind: 'error', text: `${spec.label}: ${errorMessage(error)}` });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="job-actions">
      <div class="button-row" role="group" aria-label="Job actions">
        {ACTIONS.map((spec) => (
          <button
            key={spec.action}
            type="button"
            class={`button ${spec.danger ? 'button-danger' : 'button-secondary'}`}
            id={`job-action-${spec.action}`}
            data-testid={`job-action-${spec.action}`}
            disabled={busy !== null || !spec.when.includes(state)}
            onClick={() => void run(spec)}
          >
            {busy === spec.action ? `${spec.label}…` : spec.label}
          </button>
        ))}
      </div>
      {message && (
        <Notice kind={message.kind} testId="job-action-message">
          {message.text}
        </Notice>
      )}
    </div>
  );
}
