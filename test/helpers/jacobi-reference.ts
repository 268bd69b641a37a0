/**
 * The sequential reference of the jacobi example (test/fixtures/jacobi-seq: the
 * same source built without grid imports) run in Node's node:wasi. Rank 0 of a
 * jacobi job must print exactly its stdout, with any number of ranks.
 */
import { fixturePath } from '../fixtures/runtime-harness.ts';
import { referenceRun } from './e2e-output.ts';

// runtime-harness.ts turns off V8's fast API calls, with which Node 20's node:wasi can crash past ~32 MiB (jacobi with N >= ~1300).

export const JACOBI_REFERENCE_PATH = fixturePath('jacobi-seq');

/** Runs the reference with `args` (N ITERS [PRINT_EVERY]); argv[0] is `jacobi`. */
export async function runJacobiReference(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = referenceRun(JACOBI_REFERENCE_PATH, 'jacobi', args);
  if (result.trap !== undefined) throw new Error(`jacobi reference trapped: ${result.trap}`);
  return { stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), exitCode: result.exitCode };
}
