/**
 * Why a task failed, as named errors that cross the worker boundary as
 * `{name, message}` (comlink copies both) and are rebuilt by name on the page.
 * Kept apart from shared/errors.ts's GridError because these are not HTTP errors.
 */
export const TASK_ERROR_NAMES = [
  /** The module imports something the runtime does not provide. */
  'UnsupportedImport',
  /** The program trapped (unreachable, division by zero, out-of-bounds access, stack overflow). */
  'ProgramTrap',
  /** Not a runnable program: no `_start`, bad module, bad JS exports, wrong memory. */
  'InvalidProgram',
  /** The program's bytes could not be downloaded. */
  'ProgramUnavailable',
  /** A JS program threw something that is not an Error. */
  'ProgramError',
  /** The checkpoint a run was to resume from cannot be resumed (damaged state, or a kind of program that cannot resume yet). */
  'InvalidCheckpoint',
  /** A coupled program named a rank that does not exist (or itself) in `send` or `recv`. */
  'InvalidRank',
  /** A message bigger than the message layer carries, or a `recv` buffer too small is not this: it returns a negative length. */
  'MessageTooLarge',
  /** The compute worker showed no sign of life for STEP_WATCHDOG_MS (an endless step or call); the page stopped it (task-watchdog.ts). */
  'Unresponsive',
] as const;

export type TaskErrorName = (typeof TASK_ERROR_NAMES)[number];

export class TaskError extends Error {
  override readonly name: TaskErrorName;

  constructor(name: TaskErrorName, message: string) {
    super(message);
    this.name = name;
  }
}
