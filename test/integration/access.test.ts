/**
 * Issue 7, access: every mutating HTTP route (read from the app's own route
 * table, so a new route cannot be missed) refuses a missing or wrong token and
 * changes nothing; the /dashboard namespace refuses them at the handshake; and
 * a volunteer acting on a task it does not hold (with a forged lease, with the
 * holder's real lease from another connection, or with a lease that ended) gets
 * StaleLease for every task-scoped event and changes nothing: the real holder
 * then finishes, and the job's output is the holder's. Volunteer ids are
 * public, so a hello for a connected volunteer's id without that browser's
 * secret is refused and its session and leases stay; the browser itself comes back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { createApp } from '../../server/http/app.ts';
import type { AppParts } from '../../server/http/app.ts';
import { hashVolunteerSecret } from '../../server/scheduler/volunteer-secret.ts';
import { CHECKPOINT_FORMAT } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { ApiClient } from '../helpers/api-client.ts';
import { ScriptedVolunteer, scriptedSecret } from '../helpers/scripted-volunteer.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import type { TestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

let grid: TestCoordinator;

before(async () => {
  grid = await startTestCoordinator();
  await grid.api.postProgram(emptyCommand(), 'wasm', 'empty');
});

after(() => grid.close());

/** Every route of the app whose method changes something, as registered (the parts are not touched while routes are registered). */
function mutatingRoutes(): Array<{ method: string; path: string }> {
  const app = createApp({ token: 'unused', publicDir: '/nonexistent' } as AppParts);
  const seen = new Map<string, { method: string; path: string }>();
  for (const { method, path } of app.routes) {
    if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) seen.set(`${method} ${path}`, { method, path });
  }
  return [...seen.values()];
}

/** What a refused request must not have changed: jobs, their states and tasks, programs. */
async function snapshot(): Promise<string> {
  const jobs = await Promise.all((await grid.api.jobs()).map((j) => grid.api.job(j.id)));
  const programs = await grid.api.call('GET', '/api/programs');
  return JSON.stringify({ jobs: jobs.map((j) => ({ id: j.id, state: j.state, tasks: j.tasks.map((t) => [t.state, t.restarts, t.volunteer]) })), programs: programs.body });
}

test('every mutating route refuses a missing or wrong token and changes nothing', async () => {
  const routes = mutatingRoutes();
  const paths = routes.map((r) => `${r.method} ${r.path}`);
  for (const known of ['POST /api/programs', 'POST /api/jobs', 'POST /api/jobs/:id/cancel', 'POST /api/jobs/:id/tasks/:index/migrate']) {
    assert.ok(paths.includes(known), `route table has ${known}: ${paths.join(', ')}`);
  }
  const { id } = await grid.api.postJob({ program: 'empty', tasks: [{ args: ['a'] }, { args: ['b'] }] });
  const before = await snapshot();
  const clients = [new ApiClient(grid.coordinator.url), new ApiClient(grid.coordinator.url, 'wrong-token'), new ApiClient(grid.coordinator.url, `${grid.coordinator.token}x`)];
  const malformed = [{ Authorization: grid.coordinator.token }, { Authorization: `Basic ${grid.coordinator.token}` }, { Authorization: 'Bearer' }];
  for (const route of routes) {
    const path = route.path.replace(':id', id).replace(':index', '0');
    const body = route.path === '/api/programs' ? emptyCommand() : { program: 'empty' };
    const headers: Record<string, string> = route.path === '/api/programs' ? { 'Content-Type': 'application/wasm' } : {};
    const attempts = [
      ...clients.map((client) => client.call(route.method, path, body, headers)),
      ...malformed.map((auth) => new ApiClient(grid.coordinator.url).call(route.method, path, body, { ...headers, ...auth })),
    ];
    for (const response of await Promise.all(attempts)) {
      assert.equal(response.status, 401, `${route.method} ${path}: ${JSON.stringify(response.body)}`);
      assert.equal((response.body as { error: { name: string } }).error.name, 'Unauthorized');
    }
  }
  assert.equal(await snapshot(), before, 'nothing changed');
  assert.equal((await new ApiClient(grid.coordinator.url).call('GET', `/api/jobs/${id}`)).status, 200, 'reading needs no token');
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
});

test('the dashboard namespace refuses a missing or wrong token at the handshake', async () => {
  const connect = (auth?: { token: unknown }) =>
    new Promise<string>((resolve) => {
      const socket = io(`${grid.coordinator.url}/dashboard`, { transports: ['websocket'], forceNew: true, reconnection: false, ...(auth ? { auth } : {}) });
      socket.once('connect', () => {
        socket.close();
        resolve('connected');
      });
      socket.once('connect_error', (error) => {
        socket.close();
        resolve(error.message);
      });
    });
  assert.match(await connect(), /^Unauthorized/);
  assert.match(await connect({ token: 'wrong-token' }), /^Unauthorized/);
  assert.match(await connect({ token: 42 }), /^Unauthorized/);
  assert.match(await connect({ token: `${grid.coordinator.token} ` }), /^Unauthorized/);
  assert.equal(await connect({ token: grid.coordinator.token }), 'connected');
});

/** Every task-scoped event, as a volunteer would send it for `task` under `lease`. */
function taskEvents(taskId: string, lease: string): Array<[string, unknown]> {
  const data = Uint8Array.from([1, 2, 3]);
  const hash = createHash('sha256').update(data).digest('hex');
  const manifest = {
    format: CHECKPOINT_FORMAT,
    taskId,
    seq: 1,
    parent: null,
    pageSize: 4096,
    memoryPages: 1,
    extents: [{ first: 0, count: 1, zero: true }],
    segments: [],
    state: { output: { stdout: 0, stderr: 0 } },
    dirtyBytes: 4096,
    storedBytes: 0,
    createdAt: Date.now(),
  };
  return [
    ['task:progress', { taskId, lease, progress: 0.5 }],
    ['task:output', { taskId, lease, stream: 'stdout', data: new TextEncoder().encode('forged output\n') }],
    ['task:checkpoint', { taskId, lease, seq: 1, pages: 1, bytes: 4096, stopMs: 1, saveMs: 1 }],
    ['checkpoint:missing', { taskId, lease, hashes: [hash] }],
    ['checkpoint:segment', { taskId, lease, hash, data }],
    ['checkpoint:manifest', { taskId, lease, manifest }],
    ['checkpoint:fetch', { taskId, lease, hash }],
    ['task:halted', { taskId, lease, seq: 1 }],
    ['task:resumed', { taskId, lease, seq: 1, from: 'coordinator' }],
    ['rank:send', { taskId, lease, to: 0, data }],
    ['round:enter', { taskId, lease, round: 1, seq: 1 }],
    ['rank:stats', { taskId, lease, sent: 1, resent: 0, discarded: 0 }],
    ['task:release', { taskId, lease }],
    ['task:fail', { taskId, lease, error: { name: 'Error', message: 'forged failure' } }],
    ['task:finish', { taskId, lease, exitCode: 0 }],
  ];
}

/**
 * Each task-scoped event with this lease is refused with StaleLease; except
 * `rank:send`, which the relay drops without a word (after a rollback a
 * sender's old lease is expected, and it resends): nothing is delivered.
 */
async function expectStaleEverywhere(intruder: ScriptedVolunteer, task: TaskAssignment, lease: string, what: string): Promise<void> {
  for (const [event, payload] of taskEvents(task.taskId, lease)) {
    if (event === 'rank:send') await intruder.request(event, payload);
    else await assert.rejects(intruder.request(event, payload), /^Error: StaleLease: /, `${event} with ${what}`);
  }
}

test('a volunteer cannot act on a task it holds no lease for; the holder finishes it', async () => {
  const holder = new ScriptedVolunteer(grid.coordinator.url, { slots: 3, name: 'holder' });
  const intruder = new ScriptedVolunteer(grid.coordinator.url, { slots: 0, name: 'intruder' });
  await Promise.all([holder.start(), intruder.start()]);
  const coupled = await grid.api.postJob({ program: 'empty', ranks: 2 });
  const single = await grid.api.postJob({ program: 'empty' });
  const tasks = await holder.waitForTasks(3);
  let delivered = 0;
  holder.socket.on('rank:deliver', () => delivered++);
  const task = tasks.find((t) => t.jobId === single.id)!;
  const rank = tasks.find((t) => t.jobId === coupled.id)!;

  for (const target of [task, rank]) {
    await expectStaleEverywhere(intruder, target, `forged-${target.lease.slice(0, 8)}`, 'a forged lease');
    await expectStaleEverywhere(intruder, target, target.lease, "the holder's lease from another connection");
  }
  // Fire-and-forget forms get a protocol:error, not an effect.
  intruder.socket.emit('task:output', { taskId: task.taskId, lease: task.lease, stream: 'stdout', data: new TextEncoder().encode('forged\n') });
  intruder.socket.emit('rank:send', { taskId: rank.taskId, lease: rank.lease, to: 1, data: Uint8Array.from([9]) });
  intruder.socket.emit('task:progress', { taskId: rank.taskId, lease: rank.lease, progress: 1 });
  await waitFor(() => intruder.protocolErrors.length >= 2);
  for (const e of intruder.protocolErrors) assert.equal((e as { error: { name: string } }).error.name, 'StaleLease');
  // Heartbeats and hello do not adopt another volunteer's lease.
  assert.deepEqual(await intruder.request('heartbeat', { leases: [task.lease] }), { lost: [task.lease] });
  const welcome = await intruder.request<{ leases: string[] }>('hello', { volunteerId: intruder.volunteerId, secret: intruder.secret, name: 'intruder', cores: 1, slots: 0, leases: [task.lease, rank.lease] });
  assert.deepEqual(welcome.leases, []);

  // A lease that ended (the holder released the task, and got it back under a new one) is stale for everyone.
  const old = task.lease;
  holder.tasks.delete(task.taskId);
  await holder.request('task:release', { taskId: task.taskId, lease: old });
  const [again] = (await holder.waitForTasks(3)).filter((t) => t.taskId === task.taskId);
  assert.notEqual(again!.lease, old);
  await expectStaleEverywhere(intruder, again!, old, 'an ended lease');
  await assert.rejects(holder.request('task:finish', { taskId: task.taskId, lease: old, exitCode: 0 }), /StaleLease/, 'even for its old holder');

  // Nothing the intruder sent took effect: the holder's output is the job's.
  holder.output(again!, 'the holder wrote this\n');
  await holder.request('heartbeat', { leases: [again!.lease] });
  await holder.finish(again!);
  const done = await grid.api.waitForState(single.id, 'completed');
  assert.equal(done.tasks[0]!.checkpoints, 0, 'no forged checkpoint');
  const output = await grid.api.output(single.id);
  assert.equal(output.tasks[0]!.stdout, 'the holder wrote this\n');
  assert.equal(output.tasks[0]!.stderr, '');
  const coupledView = await grid.api.job(coupled.id);
  assert.equal(coupledView.state, 'running', 'the coupled job was not failed, finished or rolled back');
  assert.equal(coupledView.rollbacks, 0);
  assert.equal(delivered, 0, 'no forged frame reached a rank');
  holder.close();
  intruder.close();
});

test("a hello with a connected volunteer's id but not its secret is refused; its session, leases and output stay", async () => {
  // Highest priority, so the holder's one slot takes this job's task whatever earlier tests left queued.
  const { id } = await grid.api.postJob({ program: 'empty', priority: 1000 });
  const holder = new ScriptedVolunteer(grid.coordinator.url, { slots: 1, name: 'holder' });
  await holder.start();
  const [task] = await holder.waitForTasks(1);
  assert.equal(task!.jobId, id);
  holder.output(task!, 'the holder wrote this\n');

  for (const [what, secret] of [['no secret', null], ['a wrong secret', scriptedSecret('someone else')]] as const) {
    const intruder = new ScriptedVolunteer(grid.coordinator.url, { slots: 4, name: 'intruder', volunteerId: holder.volunteerId, secret });
    await assert.rejects(intruder.start(), /^Error: Unauthorized: volunteer \S+ belongs to another browser: hello with its secret$/, what);
    intruder.close();
  }

  // Nothing changed: the holder is still connected under its name, holding its lease, which its heartbeat renews.
  const [listed] = (await grid.api.volunteers()).filter((v) => v.id === holder.volunteerId);
  assert.deepEqual([listed!.name, listed!.connected, listed!.tasks], ['holder', true, [task!.taskId]]);
  assert.deepEqual(await holder.request('heartbeat', { leases: [task!.lease] }), { lost: [] });
  assert.deepEqual(holder.cancelled, []);
  holder.output(task!, 'and this\n');
  await holder.finish(task!);
  const done = await grid.api.waitForState(id, 'completed');
  assert.equal(done.tasks[0]!.restarts, 0, 'the task was never requeued');
  assert.equal((await grid.api.output(id)).tasks[0]!.stdout, 'the holder wrote this\nand this\n');

  // The public list shows neither the secret nor its hash.
  const raw = JSON.stringify((await grid.api.call('GET', '/api/volunteers')).body);
  for (const hidden of [holder.secret!, hashVolunteerSecret(holder.secret!), 'secret']) assert.ok(!raw.includes(hidden), `GET /api/volunteers shows ${hidden}`);

  // The same browser (same id, same secret) reconnecting is accepted and replaces its old session.
  const back = new ScriptedVolunteer(grid.coordinator.url, { slots: 1, name: 'back', volunteerId: holder.volunteerId });
  await back.start();
  const [again] = (await grid.api.volunteers()).filter((v) => v.id === holder.volunteerId);
  assert.deepEqual([again!.name, again!.connected], ['back', true]);
  back.close();
  holder.close();
});

test('an id first used without a secret stays open until a hello pins one; then only that secret is accepted', async () => {
  const legacy = new ScriptedVolunteer(grid.coordinator.url, { slots: 0, secret: null });
  await legacy.start();
  const again = new ScriptedVolunteer(grid.coordinator.url, { slots: 0, secret: null, volunteerId: legacy.volunteerId });
  await again.start();
  const pinning = new ScriptedVolunteer(grid.coordinator.url, { slots: 0, volunteerId: legacy.volunteerId });
  await pinning.start();
  const late = new ScriptedVolunteer(grid.coordinator.url, { slots: 0, secret: null, volunteerId: legacy.volunteerId });
  await assert.rejects(late.start(), /^Error: Unauthorized: /);
  assert.ok(pinning.socket.connected);
  for (const v of [legacy, again, pinning, late]) v.close();
});
