/**
 * `npm run demo`: a coordinator, three headless Chromium volunteers (one
 * browser context each, so each is its own volunteer), and the built-in
 * `montecarlo-pi` example posted through the HTTP API. Prints the dashboard URL
 * and the job's progress, then the estimate of pi from the tasks' output, and
 * keeps running (open the dashboard, post more jobs) until Ctrl-C.
 *
 *   --exit   stop once the job has finished (exit code 1 if it did not complete)
 *
 * Environment (API.md): PORT (8080; 0 picks a free one), HOST (127.0.0.1),
 * GRID_DATA (default: a fresh temp folder, deleted on exit), GRID_TOKEN,
 * CHROMIUM_PATH (/usr/bin/chromium).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startCoordinator } from '../server/coordinator.ts';
import type { Coordinator } from '../server/coordinator.ts';
import type { JobOutput, JobView } from '../shared/http-api.ts';
import { ApiClient } from '../test/helpers/api-client.ts';
import { CHROMIUM_PATH, launchBrowser } from '../test/helpers/browser.ts';


const EXAMPLE = 'montecarlo-pi';
const VOLUNTEERS = 3;
const POLL_MS = 500;
const CONNECT_TIMEOUT_MS = 60_000;
const FINISHED = new Set<JobView['state']>(['completed', 'failed', 'cancelled']);

const USAGE = `usage: npm run demo [-- --exit]

  --exit   stop once the example job has finished (exit code 1 if it did not complete)

Environment: PORT (8080; 0 picks a free one), HOST, GRID_DATA (default: a temp folder),
GRID_TOKEN, CHROMIUM_PATH (${CHROMIUM_PATH}).`;

const flags = process.argv.slice(2);
if (flags.includes('--help') || flags.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = flags.filter((f) => f !== '--exit');
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(' ')}\n\n${USAGE}`);
  process.exit(2);
}
const exitWhenDone = flags.includes('--exit');

// The coordinator's info lines (every volunteer connecting…) would drown the demo's own.
process.env.GRID_LOG ??= 'warn';

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let coordinator: Coordinator | undefined;
let browser: Browser | undefined;
const tempData = process.env.GRID_DATA ? undefined : mkdtempSync(join(tmpdir(), 'grid-demo-'));
const dataDir = process.env.GRID_DATA ?? tempData!;

let stopping: Promise<void> | undefined;
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    await browser?.close().catch((error: Error) => console.error(`closing Chromium: ${error.message}`));
    await coordinator?.close().catch((error: Error) => console.error(`closing the coordinator: ${error.message}`));
    if (tempData) rmSync(tempData, { recursive: true, force: true });
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1); // a second Ctrl-C: do not wait
    console.log(`\n${signal}: closing the volunteers and the coordinator…`);
    void stop(0);
  });
}

function portFromEnv(): number {
  const raw = process.env.PORT ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT: expected a port number, got "${raw}"`);
  return port;
}

async function startGrid(): Promise<Coordinator> {
  try {
    return await startCoordinator({
      port: portFromEnv(),
      host: process.env.HOST ?? '127.0.0.1',
      dataDir,
      ...(process.env.GRID_TOKEN ? { token: process.env.GRID_TOKEN } : {}),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${process.env.PORT ?? '8080'} is in use: set PORT to another (PORT=0 picks a free one)`);
    }
    throw error;
  }
}

/** Opens one volunteer page per browser context; page errors are printed as they happen. */
async function openVolunteers(url: string): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  // Our SIGINT/SIGTERM handlers close the browser; Playwright's own would exit the process first (code 130).
  browser = await launchBrowser({ handleSIGINT: false, handleSIGTERM: false });
  for (let n = 1; n <= VOLUNTEERS; n++) {
    const name = `demo-${n}`;
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (error) => console.error(`[${name}] uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`[${name}] ${message.text()}`);
    });
    page.on('crash', () => console.error(`[${name}] the page crashed`));
    await page.goto(`${url}/volunteer?workers=1&name=${name}`);
  }
}

async function waitForVolunteers(api: ApiClient): Promise<void> {
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    const ready = (await api.volunteers()).filter((v) => v.connected && v.slots > 0 && !v.paused);
    if (ready.length >= VOLUNTEERS) return;
    if (Date.now() > deadline) {
      throw new Error(`only ${ready.length} of ${VOLUNTEERS} volunteers connected with a free slot within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }
    await sleep(200);
  }
}

/** Polls the job, printing a line whenever it moves on; resolves with the finished job. */
async function follow(api: ApiClient, id: string): Promise<JobView> {
  let last = '';
  for (;;) {
    const job = await api.job(id);
    const running = job.tasks.filter((t) => t.state === 'running').length;
    const line = `${job.state.padEnd(9)} ${String(Math.floor(job.progress * 100)).padStart(3)} %   ${job.tasksDone}/${job.tasksTotal} tasks done, ${running} running`;
    if (line !== last) say(line);
    last = line;
    if (FINISHED.has(job.state)) return job;
    await sleep(POLL_MS);
  }
}

/** Sums the tasks' `samples=… inside=…` lines into one estimate. */
function estimatePi(output: JobOutput): { pi: number; samples: number; tasks: number } {
  let samples = 0;
  let inside = 0;
  for (const task of output.tasks) {
    const match = /samples=(\d+) inside=(\d+)/.exec(task.stdout);
    if (!match) throw new Error(`task ${task.index} printed no "samples=… inside=…" line: ${JSON.stringify(task.stdout)}`);
    samples += Number(match[1]);
    inside += Number(match[2]);
  }
  return { pi: (4 * inside) / samples, samples, tasks: output.tasks.length };
}

async function main(): Promise<void> {
  coordinator = await startGrid();
  const api = new ApiClient(coordinator.url, coordinator.token);
  say(`coordinator at ${coordinator.url} (data folder ${coordinator.dataDir}${tempData ? ', deleted on exit' : ''})`);

  const example = (await api.ok<Array<{ name: string; builtin: boolean; defaultTasks?: string[][] }>>('GET', '/api/programs')).find(
    (p) => p.name === EXAMPLE && p.builtin,
  );
  if (!example?.defaultTasks) throw new Error(`the built-in example ${EXAMPLE} is missing: run npm run build`);

  say(`starting ${VOLUNTEERS} headless Chromium volunteers (${CHROMIUM_PATH})`);
  await openVolunteers(coordinator.url);
  await waitForVolunteers(api);
  say(`${VOLUNTEERS} volunteers connected`);

  const tasks = example.defaultTasks.map((args) => ({ args }));
  const { id } = await api.postJob({ program: EXAMPLE, name: `demo: ${EXAMPLE}`, tasks });
  console.log(`
  dashboard   ${coordinator.url}/#token=${encodeURIComponent(coordinator.token)}
  this job    ${coordinator.url}/#/jobs/${id}
  volunteer   ${coordinator.url}/volunteer  (open it in more tabs or browsers to add compute)
`);
  say(`posted job ${id}: ${EXAMPLE}, ${tasks.length} tasks`);
  const startedAt = Date.now();
  const job = await follow(api, id);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);

  if (job.state !== 'completed') {
    const output = await api.output(id);
    for (const task of output.tasks.filter((t) => t.state !== 'completed')) {
      console.error(`  task ${task.index}: ${task.state}${task.error ? ` (${task.error})` : ''} ${task.stderr.trim()}`);
    }
    say(`the job ended ${job.state} after ${seconds} s`);
    if (exitWhenDone) return stop(1);
  } else {
    const { pi, samples, tasks: count } = estimatePi(await api.output(id));
    say(`completed in ${seconds} s`);
    console.log(`\n  pi ≈ ${pi.toFixed(6)}   (${samples.toLocaleString('en-US')} samples over ${count} tasks; error ${Math.abs(pi - Math.PI).toExponential(1)})\n`);
    if (exitWhenDone) return stop(0);
  }
  console.log(`Still running: post more jobs from the dashboard. Ctrl-C stops the volunteers and the coordinator.`);
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  void stop(1);
});
