/**
 * The non-memory state a task's checkpoint carries (the manifest's opaque
 * `state`): what its runner captured at the safepoint, and how many bytes of
 * stdout and stderr the program had written by then, so a resumed run counts
 * on from there (and issue 5 can cut what a lost run printed after it).
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { outputOffsetsOf } from '../../shared/task-state.ts';
import type { OutputOffsets } from '../../shared/task-state.ts';
import { TaskError } from './task-error.ts';

export type { OutputOffsets };

// A type, not an interface: it must be assignable to JsonValue (interfaces have no implicit index signature).
export type TaskState = {
  program: JsonValue;
  output: OutputOffsets;
  /** A rank's message state (rank-port.ts RankState): its send log and receive state. */
  messages?: JsonValue;
};

/** Checks a checkpoint's state before a run resumes from it. */
export function asTaskState(value: JsonValue): TaskState {
  const output = outputOffsetsOf(value);
  if (!output || typeof value !== 'object' || value === null || !('program' in value)) {
    throw new TaskError('InvalidCheckpoint', `a checkpoint's state must be { program, output: { stdout, stderr } }, not ${JSON.stringify(value).slice(0, 200)}`);
  }
  const { program, messages } = value as { program: JsonValue; messages?: JsonValue };
  return { program, output, ...(messages !== undefined && { messages }) };
}
