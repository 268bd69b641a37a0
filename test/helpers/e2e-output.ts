/**
 * The reference the browser tests hold the grid to: the same original module
 * run in Node's own node:wasi with the same argv, compared byte for byte.
 */
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { runInNodeWasi } from '../fixtures/runtime-harness.ts';
import type { RunResult } from '../fixtures/runtime-harness.ts';

/**
 * Runs the wasm file at `path` in node:wasi with argv `[programName, ...args]`,
 * `programName` being what the runtime passes as argv[0] (the program's name on
 * the coordinator, JobView.programName).
 */
export function referenceRun(path: string, programName: string, args: readonly string[]): RunResult & { trap?: string } {
  return runInNodeWasi(readFileSync(path), [programName, ...args]);
}

/**
 * Asserts that `actual` (as the API returns it: the bytes decoded as UTF-8)
 * is exactly `expected`; a mismatch names the first differing byte instead of
 * printing two 300 KiB strings.
 */
export function assertSameBytes(actual: string, expected: Uint8Array, what: string): void {
  const bytes = Buffer.from(actual, 'utf8');
  if (bytes.equals(expected)) return;
  const length = Math.min(bytes.length, expected.length);
  let at = 0;
  while (at < length && bytes[at] === expected[at]) at++;
  const around = (b: Uint8Array) => JSON.stringify(Buffer.from(b.subarray(Math.max(0, at - 40), at + 40)).toString('utf8'));
  throw new AssertionError({
    message:
      `${what}: ${bytes.length} bytes, expected ${expected.length}; first difference at byte ${at}\n` +
      `  got:      …${around(bytes)}…\n  expected: …${around(expected)}…`,
    actual: bytes.length,
    expected: expected.length,
    operator: 'sameBytes',
  });
}
