import { useState } from 'preact/hooks';
import { errorMessage, postJob } from '../api.ts';
import { buildJobBody, type JobFormValues } from '../job-body.ts';
import { jobHref } from '../route.ts';
import { ModePicker } from './mode-picker.tsx';
import { Notice } from './notice.tsx';
import { ProgramPicker } from './program-picker.tsx';

const INITIAL: JobFormValues = {
  program: '',
  name: '',
  args: '',
  mode: 'single',
  tasks: '',
  ranks: '2',
  priority: '0',
  checkpointIntervalMs: '',
};

type Field = Exclude<keyof JobFormValues, 'mode' | 'program'>;

/** Posts a job: program, name, arguments, shape (one task, tasks, ranks), priority. */
export function JobForm() {
  const [values, setValues] = useState(INITIAL);
  const [error, setError] = useState<string | null>(null);
  const [posted, setPosted] = useState<{ id: string; name: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const set = <K extends keyof JobFormValues>(key: K, value: JobFormValues[K]) =>
    setValues((v) => ({ ...v, [key]: value }));
  const bind = (key: Field) => ({
    value: values[key],
    onInput: (e: Event) => set(key, (e.currentTarget as HTMLInputElement | HTMLTextAreaElement).value),
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    const built = buildJobBody(values);
    if (!built.ok) {
      setError(built.message);
      setPosted(null);
      return;
    }
    setBusy(true);
    setError(null);
    setPosted(null);
    try {
      const { id } = await postJob(built.body);
      setPosted({ id, name: built.body.name ?? id });
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="job-form" onSubmit={(e) => void submit(e)} data-testid="job-form" noValidate>
      <ProgramPicker value={values.program} onChange={(id) => set('program', id)} onError={setError} />

      <div class="field">
        <label for="job-name">Name</label>
        <input id="job-name" type="text" placeholder="optional, e.g. primes up to 1e7" maxLength={200} {...bind('name')} />
      </div>

      <ModePicker value={values.mode} onChange={(mode) => set('mode', mode)} />

      {values.mode !== 'tasks' && (
        <div class="field">
          <label for="job-args">Arguments</label>
          <input id="job-args" type="text" class="mono" placeholder="separated by spaces" {...bind('args')} />
        </div>
      )}
      {values.mode === 'tasks' && (
        <div class="field">
          <label for="job-tasks">Tasks — one line of arguments per task</label>
          <textarea id="job-tasks" class="mono" rows={5} placeholder={'1 1000\n1000 2000\n2000 3000'} {...bind('tasks')} />
        </div>
      )}
      <div class="field-row">
        {values.mode === 'ranks' && (
          <div class="field">
            <label for="job-ranks">Ranks</label>
            <input id="job-ranks" type="number" min={1} step={1} {...bind('ranks')} />
          </div>
        )}
        <div class="field">
          <label for="job-priority">Priority</label>
          <input id="job-priority" type="number" min={-1000} max={1000} step={1} {...bind('priority')} />
        </div>
        <div class="field">
          <label for="job-checkpoint-interval">Checkpoint every (ms)</label>
          <input id="job-checkpoint-interval" type="number" min={100} step={100} placeholder="5000" {...bind('checkpointIntervalMs')} />
        </div>
      </div>

      {error && (
        <Notice kind="error" id="job-form-error" testId="job-form-error">
          {error}
        </Notice>
      )}
      {posted && (
        <Notice kind="success" id="job-form-success" testId="job-form-success">
          Job posted: <a href={jobHref(posted.id)}>{posted.name}</a>
        </Notice>
      )}
      <div class="form-actions">
        <button type="submit" class="button button-primary" id="job-submit" data-testid="job-submit" disabled={busy}>
          {busy ? 'Posting…' : 'Post job'}
        </button>
      </div>
    </form>
  );
}
