/** Turns whatever a running program threw into the named error the task fails with. */
import { GridError } from '../../shared/errors.ts';
import { TaskError } from './task-error.ts';

/** Traps become ProgramTrap; our own named errors pass through; a non-Error becomes ProgramError. */
export function asTaskFailure(error: unknown): Error {
  if (error instanceof TaskError || error instanceof GridError) return error;
  if (error instanceof WebAssembly.RuntimeError) return withStack(new TaskError('ProgramTrap', error.message), error);
  // V8 reports a wasm stack overflow as a RangeError, not a RuntimeError.
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return withStack(new TaskError('ProgramTrap', `call stack exhausted (${error.message})`), error);
  }
  if (error instanceof Error) return error;
  return new TaskError('ProgramError', `the program threw ${describe(error)}`);
}

function withStack(failure: TaskError, cause: Error): TaskError {
  if (cause.stack) failure.stack = cause.stack;
  return failure;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
