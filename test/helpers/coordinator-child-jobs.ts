/**
 * The jobs crash tests and the soak post, each with a known output: an
 * independent job with checkpoints (the churn fixture, megabytes rewritten
 * every round, so every checkpoint is uploaded in several segments) and a
 * coupled job (the built-in jacobi, whose rank 0 prints what the sequential
 * reference prints). References are node:wasi runs of the same programs,
 * computed once up front: they are synchronous and would stall the caller's
 * event loop if computed while it talks to the coordinator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { JobView, ProgramInfo } from '../../shared/http-api.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';
import type { ApiClient } from './api-client.ts';
import { assertSameBytes, referenceRun } from './e2e-output.ts';
import { runJacobiReference } from './jacobi-reference.ts';

export interface JobSizes {
  /** One argument list per churn task: `MIB ROUNDS`. */
  churnTasks: string[][];
  /** jacobi's `N ITERS PRINT_EVERY`. */
  jacobiArgs: string[];
  /** @default 2 */
  jacobiRanks?: number;
  /** @default 1000 */
  checkpointIntervalMs?: number;
}

export interface PostedJob {
  id: string;
  kind: 'churn' | 'jacobi';
}

const finished = (view: JobView) => view.state === 'completed' || view.state === 'failed' || view.state === 'cancelled';

export class KnownJobs {
  readonly #churnReferences: Array<ReturnType<typeof referenceRun>>;
  #jacobiReference: Buffer | undefined;
  #churnProgram: string | undefined;

  constructor(readonly sizes: JobSizes) {
    this.#churnReferences = sizes.churnTasks.map((args) => referenceRun(fixturePath('churn'), 'churn', args));
  }

  /** Computes the references (before the coordinator runs) and, once it does, posts the churn program and instruments jacobi. */
  async prepare(api: ApiClient, baseUrl: string): Promise<void> {
    this.#jacobiReference ??= Buffer.from((await runJacobiReference(this.sizes.jacobiArgs)).stdout);
    this.#churnProgram = (await api.postProgram(readFileSync(fixturePath('churn')), 'wasm', 'churn')).id;
    // The built-in's first download waits for its instrumentation (cached from then on): pay it up front.
    const jacobi = (await api.ok<ProgramInfo[]>('GET', '/api/programs')).find((p) => p.name === 'jacobi' && p.builtin);
    assert.ok(jacobi, 'the jacobi built-in is registered');
    assert.equal((await fetch(`${baseUrl}/api/programs/${jacobi.id}/bytes`)).status, 200);
  }

  /** Posts one of each, the gang first (it needs its slots free at once). */
  async postPair(api: ApiClient): Promise<PostedJob[]> {
    const interval = this.sizes.checkpointIntervalMs ?? 1000;
    const jacobi = await api.postJob({ program: 'jacobi', args: this.sizes.jacobiArgs, ranks: this.sizes.jacobiRanks ?? 2, checkpointIntervalMs: interval });
    const churn = await api.postJob({
      program: this.#churnProgram ?? assert.fail('prepare() first'),
      tasks: this.sizes.churnTasks.map((args) => ({ args })),
      checkpointIntervalMs: interval,
    });
    return [
      { id: jacobi.id, kind: 'jacobi' },
      { id: churn.id, kind: 'churn' },
    ];
  }

  /** Waits for the job to end and asserts it completed with the reference output, byte for byte. */
  async assertCompleted(api: ApiClient, job: PostedJob, timeoutMs: number): Promise<JobView> {
    const view = await api.waitForJob(job.id, finished, timeoutMs);
    const output = await api.output(job.id);
    const states = JSON.stringify(output.tasks.map((t) => ({ index: t.index, state: t.state, error: t.error, stderr: t.stderr.slice(-300) })));
    assert.equal(view.state, 'completed', `${job.kind} ${job.id}: ${states}`);
    if (job.kind === 'jacobi') {
      for (const rank of output.tasks) assert.equal(rank.exitCode, 0, `rank ${rank.index}: ${rank.stderr}`);
      assertSameBytes(output.tasks.find((t) => t.index === 0)!.stdout, this.#jacobiReference!, `jacobi ${job.id} rank 0 stdout`);
    } else {
      for (const [index, reference] of this.#churnReferences.entries()) {
        const task = output.tasks.find((t) => t.index === index)!;
        assert.equal(task.exitCode, reference.exitCode, `churn ${job.id} task ${index}: ${states}`);
        assertSameBytes(task.stdout, reference.stdout, `churn ${job.id} task ${index} stdout`);
        assertSameBytes(task.stderr, reference.stderr, `churn ${job.id} task ${index} stderr`);
      }
    }
    return view;
  }
}

export { finished as jobFinished };
