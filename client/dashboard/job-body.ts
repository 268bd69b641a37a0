/**
 * Turns what the job form holds into the body of `POST /api/jobs`. Only the
 * checks the form itself must make (numbers that parse, a line per task) are
 * here; the coordinator validates the rest and its message is shown as is.
 */
import type { PostJobBody } from '../../shared/http-api.ts';

export type JobMode = 'single' | 'tasks' | 'ranks';

export interface JobFormValues {
  program: string;
  name: string;
  args: string;
  mode: JobMode;
  /** One line of arguments per task. */
  tasks: string;
  ranks: string;
  priority: string;
  checkpointIntervalMs: string;
}

export type JobBodyResult = { ok: true; body: PostJobBody } | { ok: false; message: string };

/** Splits a line of arguments on whitespace. */
export function splitArgs(text: string): string[] {
  return text.split(/\s+/).filter((arg) => arg.length > 0);
}

function parseInteger(text: string, what: string): number | string {
  const trimmed = text.trim();
  if (!/^[-+]?\d+$/.test(trimmed)) return `${what}: expected a whole number`;
  return Number(trimmed);
}

export function buildJobBody(values: JobFormValues): JobBodyResult {
  if (!values.program) return { ok: false, message: 'Pick a program or upload one.' };
  const body: PostJobBody = { program: values.program };
  const name = values.name.trim();
  if (name) body.name = name;

  if (values.mode === 'tasks') {
    const lines = values.tasks.split('\n').filter((line) => line.trim().length > 0);
    if (lines.length === 0) return { ok: false, message: 'Tasks: write one line of arguments per task.' };
    body.tasks = lines.map((line) => ({ args: splitArgs(line) }));
  } else {
    body.args = splitArgs(values.args);
    if (values.mode === 'ranks') {
      const ranks = parseInteger(values.ranks, 'Ranks');
      if (typeof ranks === 'string') return { ok: false, message: ranks };
      body.ranks = ranks;
    }
  }

  if (values.priority.trim()) {
    const priority = parseInteger(values.priority, 'Priority');
    if (typeof priority === 'string') return { ok: false, message: priority };
    body.priority = priority;
  }
  if (values.checkpointIntervalMs.trim()) {
    const interval = parseInteger(values.checkpointIntervalMs, 'Checkpoint interval');
    if (typeof interval === 'string') return { ok: false, message: interval };
    body.checkpointIntervalMs = interval;
  }
  return { ok: true, body };
}
