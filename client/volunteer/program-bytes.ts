/**
 * The page fetches a task's program for its compute worker, which has no
 * network of its own (client/runtime/global-lockdown.ts, and the worker's
 * CSP `connect-src 'none'`). The bytes go to the worker in the TaskSpec.
 */
import { TaskError } from '../runtime/task-error.ts';

/**
 * The coordinator could not be reached (say it is restarting): the task is
 * given back, not failed; another try, here or elsewhere, may work. An HTTP
 * error is an answer, not this: a program it cannot serve (a 404, or a
 * built-in it cannot instrument, a 500) would only fail again.
 */
export class ProgramUnreachable extends Error {
  override readonly name = 'ProgramUnreachable';
}

/** The program at `url` (same-origin); ProgramUnavailable when the coordinator answers with an error, ProgramUnreachable when it does not answer. */
export async function fetchProgramBytes(url: string): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ProgramUnreachable(`cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: HTTP ${response.status}`);
  try {
    return await response.arrayBuffer();
  } catch (error) {
    throw new ProgramUnreachable(`cannot read ${url}: ${(error as Error).message}`);
  }
}
