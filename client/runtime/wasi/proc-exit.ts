/**
 * Thrown by `proc_exit` to unwind the program's stack; the runner catches it
 * and ends the task with `code`. Not an Error, so nothing mistakes it for a failure.
 */
export class ProcExit {
  constructor(readonly code: number) {}
}
