/** Bad requests and bad socket events get a clear, typed error naming the field, and change nothing. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { MAX_PROGRAM_BYTES } from '../../shared/limits.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
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

type ErrorBody = { error: { name: string; message: string } };

async function expectError(response: Promise<{ status: number; body: unknown }>, status: number, name: string, message?: RegExp) {
  const { status: got, body } = await response;
  assert.equal(got, status, JSON.stringify(body));
  const { error } = body as ErrorBody;
  assert.equal(error.name, name);
  if (message) assert.match(error.message, message);
}

// Tokens on every mutating route and on the dashboard namespace: access.test.ts.

test('malformed and invalid job bodies name the bad field', async () => {
  const before = (await grid.api.jobs()).length;
  await expectError(grid.api.call('POST', '/api/jobs', '{"program": '), 400, 'ValidationError', /body: expected JSON/);
  await expectError(grid.api.call('POST', '/api/jobs', []), 400, 'ValidationError');
  await expectError(grid.api.call('POST', '/api/jobs', {}), 400, 'ValidationError', /^program: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', tasks: [{ args: ['a'] }, { args: [1] }] }), 400, 'ValidationError', /tasks\[1\]\.args\[0\]: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', ranks: 0 }), 400, 'ValidationError', /^ranks: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', priority: 'high' }), 400, 'ValidationError', /^priority: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', pageSize: 5000 }), 400, 'ValidationError', /^pageSize: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', surprise: true }), 400, 'ValidationError', /surprise/);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'empty', ranks: 2, tasks: [{ args: [] }] }), 400, 'ValidationError', /^ranks: /);
  await expectError(grid.api.call('POST', '/api/jobs', { program: 'no-such-program' }), 404, 'NotFound', /no-such-program/);
  assert.equal((await grid.api.jobs()).length, before, 'no job was created');
});

test('bad programs are refused with the reason', async () => {
  const before = (await grid.api.call<unknown[]>('GET', '/api/programs')).body.length;
  const post = (bytes: Uint8Array, type: string) => grid.api.call('POST', '/api/programs', bytes, { 'Content-Type': type });
  await expectError(post(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'application/wasm'), 400, 'InvalidProgram', /not a WebAssembly module|not a valid/);
  const truncated = emptyCommand().subarray(0, 30);
  await expectError(post(truncated, 'application/wasm'), 400, 'InvalidProgram');
  const noStart = emptyCommand();
  noStart[noStart.indexOf(0x5f)] = 0x41; // rename _start
  await expectError(post(noStart, 'application/wasm'), 400, 'InvalidProgram', /_start/);
  await expectError(post(new Uint8Array(0), 'application/wasm'), 400, 'ValidationError', /empty/);
  await expectError(post(emptyCommand(), 'image/png'), 400, 'ValidationError', /Content-Type/);
  await expectError(post(new TextEncoder().encode('console.log(1)'), 'text/javascript'), 400, 'InvalidProgram', /init/);
  await expectError(post(new Uint8Array(MAX_PROGRAM_BYTES + 1), 'application/wasm'), 413, 'PayloadTooLarge');
  assert.equal((await grid.api.call<unknown[]>('GET', '/api/programs')).body.length, before, 'no program was stored');
});

test('unknown ids are 404, actions in the wrong state are 409, cancelling a finished job is 409', async () => {
  await expectError(grid.api.call('GET', '/api/jobs/nope'), 404, 'NotFound');
  await expectError(grid.api.call('GET', '/api/jobs/nope/output'), 404, 'NotFound');
  await expectError(grid.api.call('POST', '/api/jobs/nope/cancel'), 404, 'NotFound');
  await expectError(grid.api.call('GET', '/api/nothing-here'), 404, 'NotFound');
  await expectError(grid.api.call('GET', '/api/programs/nope/bytes'), 404, 'NotFound');
  const { id } = await grid.api.postJob({ program: 'empty' });
  await expectError(grid.api.call('POST', `/api/jobs/nope/preempt`), 404, 'NotFound');
  await expectError(grid.api.call('POST', `/api/jobs/${id}/resume`), 409, 'Conflict', /not preempted/);
  await expectError(grid.api.call('POST', `/api/jobs/${id}/checkpoint`), 409, 'Conflict', /not running/);
  await expectError(grid.api.call('POST', `/api/jobs/${id}/tasks/7/migrate`), 404, 'NotFound');
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
  await expectError(grid.api.call('POST', `/api/jobs/${id}/cancel`), 409, 'Conflict', /cancelled/);
  await expectError(grid.api.call('POST', `/api/jobs/${id}/preempt`), 409, 'Conflict', /cancelled/);
});

test('bad socket events get an error reply or a protocol:error, and the coordinator carries on', async () => {
  const socket = io(`${grid.coordinator.url}/volunteer`, { transports: ['websocket'], forceNew: true, reconnection: false });
  const errors: unknown[] = [];
  socket.on('protocol:error', (e: unknown) => errors.push(e));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const ask = (event: string, ...args: unknown[]) =>
    (socket.timeout(2_000) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<ErrorBody & { ok: boolean }> }).emitWithAck(event, ...args);

  const badHello = await ask('hello', { volunteerId: 'x', name: 5, cores: 1, slots: 1 });
  assert.equal(badHello.ok, false);
  assert.equal(badHello.error.name, 'ValidationError');
  assert.match(badHello.error.message, /volunteerId/);
  assert.equal((await ask('hello', null)).ok, false);
  assert.equal((await ask('hello')).ok, false, 'an ack with no payload');
  assert.equal((await ask('heartbeat', { leases: [] })).error.name, 'Conflict', 'no hello yet');
  assert.equal((await ask('task:finish', { taskId: 'a', lease: 'b', exitCode: 'zero' })).error.name, 'ValidationError');
  socket.emit('task:output', { taskId: 'a', lease: 'b', stream: 'stdout', data: 'not bytes' });
  socket.emit('task:progress', 'garbage');
  socket.emit('no-such-event', 1, 2, 3);
  // Coupled jobs' events (issue 6): binary where binary belongs, ranks in range, counts not negative.
  socket.emit('rank:send', { taskId: 'a', lease: 'b', to: 0, data: 'not bytes' });
  socket.emit('rank:send', { taskId: 'a', lease: 'b', to: -1, data: new Uint8Array(4) });
  socket.emit('rank:send', { taskId: 'a', lease: 'b', to: 0, data: new Uint8Array(0) });
  socket.emit('rank:stats', { taskId: 'a', lease: 'b', sent: -1, resent: 0, discarded: 0 });
  assert.equal((await ask('round:enter', { taskId: 'a', lease: 'b', round: 0, seq: 1 })).error.name, 'ValidationError');
  assert.equal((await ask('round:enter', { taskId: 'a', lease: 'b', round: 1, seq: 1 })).error.name, 'StaleLease');
  await waitFor(() => errors.length >= 7);
  socket.close();

  const v = new ScriptedVolunteer(grid.coordinator.url);
  await v.start();
  const { id } = await grid.api.postJob({ program: 'empty' });
  const [task] = await v.waitForTasks(1);
  await v.finish(task!);
  await grid.api.waitForState(id, 'completed');
  v.close();
});
