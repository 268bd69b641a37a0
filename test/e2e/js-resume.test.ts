/**
 * A JS step program stopped mid-run resumes from its volunteer's IndexedDB
 * in a fresh compute worker, in a reloaded page, and ends with the same
 * output as an uninterrupted run: the reference is the C build of the same
 * estimate (examples/montecarlo-pi) in node:wasi, so it shares no code with
 * the JS program or the runtime (issue 3, "Tests").
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import type { ProgramInfo } from '../../shared/http-api.ts';
import { referenceRun } from '../helpers/e2e-output.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath } from '../fixtures/runtime-harness.ts';
import type { Harness, ResumeTask, RunReport } from './js-resume.page.ts';

let page: Page;
let pageScript: string;
let piJs: string;

e2eSuite({
  setup: async (s) => {
    const entry = fileURLToPath(new URL('./js-resume.page.ts', import.meta.url));
    const out = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
    pageScript = out.outputFiles[0]!.text;
    const programs = await s.grid.api.ok<ProgramInfo[]>('GET', '/api/programs');
    piJs = programs.find((p) => p.name === 'pi-js')!.id;
    page = (await s.volunteer('resume')).page;
    await inject();
  },
});

async function inject(): Promise<void> {
  await page.addScriptTag({ content: pageScript });
  assert.equal(await call('isolated'), true, 'the page can share memory with its workers');
}

function call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return page.evaluate(
    ([n, a]) => (globalThis as unknown as { resumeHarness: Record<string, (...x: unknown[]) => unknown> }).resumeHarness[n]!(...a),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

/** ~2 s of work in Chromium here, so a stop after three 100 ms checkpoints is mid-run. */
const ARGS = ['11', '80000000'];

function task(taskId: string): ResumeTask {
  return { taskId, programUrl: `/api/programs/${piJs}/bytes`, args: ARGS, memory: { initial: 16, maximum: 256 }, intervalMs: 100 };
}

function assertChained(report: RunReport, firstParent: number | null): void {
  const killed = report.killedSaving;
  if (killed === undefined) assert.deepEqual(report.problems, []);
  report.checkpoints.forEach((c, i) => {
    const previous = i === 0 ? firstParent : report.checkpoints[i - 1]!.seq;
    // Over a checkpoint whose worker died, numbers skip it; it may even have committed unreported (killed after its commit, before its release).
    if (c.seq === killed! + 1) assert.ok(c.parent === previous || c.parent === killed, `checkpoint ${c.seq} builds on ${previous} or ${killed}, not ${c.parent}`);
    else assert.equal(c.parent, previous, `checkpoint ${c.seq} builds on the one before`);
    assert.equal(c.seq, (previous ?? 0) + (c.seq === killed! + 1 ? 2 : 1), `checkpoint ${c.seq} follows ${previous}`);
  });
}

test('a JS task stopped mid-run resumes from IndexedDB in a fresh worker and a reloaded page, with the reference output', async () => {
  const reference = referenceRun(examplePath('montecarlo-pi'), 'montecarlo-pi', ARGS);
  const inside = Number(/inside=(\d+)/.exec(reference.stdout.toString())![1]);

  const stopped = await call('run', task('resume-1'), false, 3);
  assertChained(stopped, null);
  assert.ok(stopped.progress > 0 && stopped.progress < 0.9, `stopped mid-run (progress ${stopped.progress})`);
  assert.equal(stopped.stdout, '', 'pi-js prints only at the end');

  // A fresh page: the same origin and IndexedDB, nothing else of the first run.
  await page.reload();
  await inject();
  const resumed = await call('run', task('resume-1'), true);
  assert.ok(resumed.resumedFrom !== null && resumed.resumedFrom >= 3, `resumed from checkpoint ${resumed.resumedFrom}`);
  assertChained(resumed, resumed.resumedFrom);
  assert.equal(resumed.stdout, reference.stdout.toString(), 'the resumed run prints what the uninterrupted C run prints');
  assert.deepEqual(resumed.outcome, { exitCode: 0, result: { seed: 11, samples: 80_000_000, inside } });

  // Finishing deleted the task's checkpoints: a later run of it starts from the beginning.
  const again = await call('run', { ...task('resume-1'), args: ['11', '1000'] }, true);
  assert.equal(again.resumedFrom, null);
});

test('a checkpoint worker terminated mid-save is replaced, the task checkpoints on, and it still resumes right', async () => {
  const stopped = await call('run', task('resume-3'), false, 8, 3);
  assert.ok(stopped.killedSaving !== undefined && stopped.killedSaving >= 4, `killed while saving ${stopped.killedSaving}`);
  assert.ok(stopped.problems.some((p) => p.includes('replacing the checkpoint worker')), stopped.problems.join('; '));
  assert.ok(!stopped.checkpoints.some((c) => c.seq === stopped.killedSaving), 'the interrupted checkpoint was never reported');
  const after = stopped.checkpoints.filter((c) => c.seq > stopped.killedSaving!);
  assert.ok(after.length >= 1, 'the replacement worker committed checkpoints');
  // The first one after the takeover is a rebuild: everything pi-js wrote since the start (at least its state page).
  assertChained(stopped, null);

  const resumed = await call('run', task('resume-3'), true);
  assert.ok(resumed.resumedFrom! > stopped.killedSaving!, `resumed from ${resumed.resumedFrom}, after the takeover`);
  assert.equal(resumed.stdout, referenceRun(examplePath('montecarlo-pi'), 'montecarlo-pi', ARGS).stdout.toString());
});

test('a run that is not asked to resume starts over, even when older checkpoints of the task are stored', async () => {
  const stopped = await call('run', task('resume-2'), false, 2);
  const fresh = await call('run', { ...task('resume-2'), args: ['11', '20000000'] }, false);
  assert.equal(fresh.resumedFrom, null);
  assertChained(fresh, null);
  assert.ok(stopped.checkpoints.length >= 2);
  const reference = referenceRun(examplePath('montecarlo-pi'), 'montecarlo-pi', ['11', '20000000']);
  assert.equal(fresh.stdout, reference.stdout.toString());
});

