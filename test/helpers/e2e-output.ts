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
      `  got:      …${around(bytes)}…\n  expected: …${around(expected)}…` +
      differingLines(bytes, expected),
    actual: bytes.length,
    expected: expected.length,
    operator: 'sameBytes',
  });
}

const MAX_LINES_SHOWN = 12;

/** For short line-oriented output (a coupled job's log): every line that differs, to tell one bad value from a diverged run. */
function differingLines(actual: Uint8Array, expected: Uint8Array): string {
  const split = (b: Uint8Array) => Buffer.from(b).toString('utf8').split('\n');
  const got = split(actual);
  const want = split(expected);
  if (got.length + want.length > 2_000) return '';
  const shown: string[] = [];
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) shown.push(`  line ${i + 1}: got ${JSON.stringify(got[i] ?? null)}, expected ${JSON.stringify(want[i] ?? null)}`);
  }
  const more = shown.length > MAX_LINES_SHOWN ? `\n  … ${shown.length - MAX_LINES_SHOWN} more` : '';
  return `\n${shown.slice(0, MAX_LINES_SHOWN).join('\n')}${more}`;
}
