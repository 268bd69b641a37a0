/** Validation errors name the field, in the form API.md and the tests rely on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GridError, deserializeError, serializeError } from '../../shared/errors.ts';
import { postJobSchema } from '../../shared/http-api.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import { helloSchema, outputSchema } from '../../shared/volunteer-protocol.ts';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GridError);
    assert.equal(error.name, 'ValidationError');
    assert.equal(error.status, 400);
    return error.message;
  }
  assert.fail('expected a ValidationError');
}

test('paths are written as tasks[2].args[0]', () => {
  const message = messageOf(() => parseOrThrow(postJobSchema, { program: 'p', tasks: [{ args: [] }, { args: [] }, { args: [7] }] }));
  assert.match(message, /^tasks\[2\]\.args\[0\]: .*string/);
});

test('a valid job body passes unchanged, defaults are left to the service', () => {
  const body = { program: 'montecarlo-pi', tasks: [{ args: ['1', '100'] }], priority: 3, checkpointIntervalMs: 1000, pageSize: 65536 };
  assert.deepEqual(parseOrThrow(postJobSchema, body), body);
});

test('page sizes are powers of two from 4 KiB to 64 KiB', () => {
  for (const ok of [4096, 8192, 65536]) parseOrThrow(postJobSchema, { program: 'p', pageSize: ok });
  for (const bad of [2048, 5000, 131072]) assert.match(messageOf(() => parseOrThrow(postJobSchema, { program: 'p', pageSize: bad })), /^pageSize: /);
});

test('socket payloads: ids, counts and binary data are checked', () => {
  assert.match(messageOf(() => parseOrThrow(helloSchema, { volunteerId: 'short', name: '', cores: 1, slots: 1 }, 'hello')), /^hello: volunteerId: /);
  assert.deepEqual(parseOrThrow(helloSchema, { volunteerId: 'abcdefgh-1', name: 'n', cores: 2, slots: 1 }).leases, []);
  assert.match(messageOf(() => parseOrThrow(outputSchema, { taskId: 't', lease: 'l', stream: 'stdout', data: 'text' })), /data: expected binary/);
  assert.match(
    messageOf(() => parseOrThrow(outputSchema, { taskId: 't', lease: 'l', stream: 'stdout', data: new Uint8Array(70_000) })),
    /data: expected at most/,
  );
});

test('errors cross boundaries by name', () => {
  const rebuilt = deserializeError(serializeError(new GridError('StaleLease', 'gone')));
  assert.ok(rebuilt instanceof GridError);
  assert.equal(rebuilt.status, 409);
  const foreign = deserializeError({ name: 'ProgramTrap', message: 'unreachable' });
  assert.equal(foreign.name, 'ProgramTrap');
  assert.ok(!(foreign instanceof GridError));
});
