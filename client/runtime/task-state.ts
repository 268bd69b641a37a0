/**
 * The non-memory state a task's checkpoint carries (the manifest's opaque
 * `state`): what its runner captured at the safepoint, and how many bytes of
 * stdout and stderr the program had written by then, so a resumed run counts
 * on from there (and issue 5 can cut what a lost run printed after it).
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { OutputStream } from '../../shared/states.ts';
import { TaskError } from './task-error.ts';

export type OutputOffsets = Record<OutputStream, number>;

// A type, not an interface: it must be assignable to JsonValue (interfaces have no implicit index signature).
export type TaskState = {
  program: JsonValue;
  output: OutputOffsets;
};

const isOffset = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Checks a checkpoint's state before a run resumes from it. */
export function asTaskState(value: JsonValue): TaskState {
  const state = value as Partial<TaskState> | null;
  const output = state?.output as Partial<OutputOffsets> | undefined;
  if (typeof state !== 'object' || state === null || !('program' in state) || !isOffset(output?.stdout) || !isOffset(output?.stderr)) {
    throw new TaskError('InvalidCheckpoint', `a checkpoint's state must be { program, output: { stdout, stderr } }, not ${JSON.stringify(value).slice(0, 200)}`);
  }
  return { program: state.program!, output: { stdout: output.stdout, stderr: output.stderr } };
}
