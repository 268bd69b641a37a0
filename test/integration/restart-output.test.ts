/**
 * Issue 7, crash safety: output is not lost across a coordinator crash. A
 * volunteer page's socket.io-client sends what it buffered while the
 * coordinator was down as soon as it reconnects, before its hello; a
 * restarted coordinator must not then let the task carry on under its old
 * lease with that output dropped. (The coordinator runs in a child process,
 * killed with SIGKILL.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { io } from 'socket.io-client';
import type { Reply, Welcome } from '../../shared/volunteer-protocol.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';
import { startCoordinatorChild } from '../helpers/coordinator-child.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

test('output sent after a kill -9 and restart but before the hello is never silently dropped from a task that completes', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'grid-restart-output-'));
  let grid = await startCoordinatorChild({ dataDir, token: 'restart-output' });
  try {
    const program = await grid.api.postProgram(readFileSync(fixturePath('hello')), 'wasm', 'hello');
    const { id } = await grid.api.postJob({ program: program.id });
    const before = new ScriptedVolunteer(grid.url, { volunteerId: 'restart-output-volunteer' });
    await before.start();
    const [task] = await before.waitForTasks(1);
    before.output(task!, 'one\n');
    await grid.api.waitForJob(id, (j) => j.tasks[0]!.state === 'running');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await grid.kill();
    before.close();

    grid = await startCoordinatorChild({ dataDir, token: 'restart-output', port: grid.port });
    const socket = io(`${grid.url}/volunteer`, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    const ask = async <T>(event: string, payload: unknown) =>
      (await (socket.timeout(5_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Reply<T>> }).emitWithAck(event, payload));
    // What the page buffered while the coordinator was down goes out first, then the hello naming the lease.
    socket.emit('task:output', { taskId: task!.taskId, lease: task!.lease, stream: 'stdout', data: bytes('two\n') });
    await ask<Welcome>('hello', { volunteerId: 'restart-output-volunteer', secret: before.secret, name: 'r', cores: 2, slots: 1, leases: [task!.lease], held: [] });
    socket.emit('task:output', { taskId: task!.taskId, lease: task!.lease, stream: 'stdout', data: bytes('three\n') });
    const finished = await ask<null>('task:finish', { taskId: task!.taskId, lease: task!.lease, exitCode: 0 });
    socket.close();

    const output = (await grid.api.output(id)).tasks[0]!;
    if (finished.ok) assert.equal(output.stdout, 'one\ntwo\nthree\n', 'a task that completes has all of its output');
    else assert.notEqual(output.state, 'completed', 'the old lease could not finish the task: it runs again');
  } finally {
    await grid.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
