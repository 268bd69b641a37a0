/**
 * The page fetches a task's program for its compute worker, which has no
 * network of its own (client/runtime/global-lockdown.ts, and the worker's
 * CSP `connect-src 'none'`). The bytes go to the worker in the TaskSpec.
 */
import { TaskError } from '../runtime/task-error.ts';

/** The program at `url` (same-origin), or ProgramUnavailable. */
export async function fetchProgramBytes(url: string): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
