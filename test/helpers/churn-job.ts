/**
 * The churn fixture (test/fixtures/churn) as the recovery tests run it: a
 * task with an 8 MiB process memory it keeps rewriting, so every checkpoint
 * is megabytes and is uploaded in many segments, and a reference of its
 * output from node:wasi to compare with, byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { JobView } from '../../shared/http-api.ts';
import type { ApiClient } from './api-client.ts';
import { assertSameBytes, referenceRun } from './e2e-output.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';

export const CHURN_MIB = '8';

export async function postChurn(api: ApiClient): Promise<string> {
  return (await api.postProgram(readFileSync(fixturePath('churn')), 'wasm', 'churn')).id;
}

const references = new Map<string, ReturnType<typeof referenceRun>>();

/** Asserts task `index` of the job printed exactly what node:wasi prints for churn with `args`. */
export async function assertChurnOutput(api: ApiClient, job: JobView, index: number, args: readonly string[]): Promise<void> {
  const key = args.join(' ');
  if (!references.has(key)) references.set(key, referenceRun(fixturePath('churn'), 'churn', args));
  const reference = references.get(key)!;
  const output = (await api.output(job.id)).tasks.find((t) => t.index === index)!;
  assert.equal(output.exitCode, reference.exitCode, JSON.stringify(output));
  assertSameBytes(output.stdout, reference.stdout, `task ${index} stdout`);
  assertSameBytes(output.stderr, reference.stderr, `task ${index} stderr`);
}
