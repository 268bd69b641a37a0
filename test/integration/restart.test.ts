/** Jobs, tasks, programs, volunteers and outputs survive a restart of the coordinator. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCoordinator } from '../../server/coordinator.ts';
import { ApiClient } from '../helpers/api-client.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { TEST_TOKEN, startTestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';

test('a restarted coordinator has every job and output it acknowledged, requeues what was running, and carries on', async () => {
  const first = await startTestCoordinator();
  const program = await first.api.postProgram(emptyCommand(), 'wasm', 'empty');
  const v1 = new ScriptedVolunteer(first.coordinator.url, { slots: 2, volunteerId: 'volunteer-restart-1' });
  await v1.start();
  const { id } = await first.api.postJob({ program: program.id, name: 'survivor', tasks: [{ args: ['0'] }, { args: ['1'] }, { args: ['2'] }] });
  const [done, running] = await v1.waitForTasks(2);
  v1.output(done!, 'finished before the restart\n');
  await v1.finish(done!, 0, { ok: 1 });
  v1.output(running!, 'written before the restart\n');
  await v1.request('task:progress', { taskId: running!.taskId, lease: running!.lease, progress: 0.5 }).catch(() => {});
  // The output event is acknowledged only by the next request on the same socket.
  await v1.request('heartbeat', { leases: [running!.lease] });
  await v1.waitForTasks(2); // the third task took the finished one's slot
  const held = [...v1.tasks.values()];
  const before = await first.api.job(id);
  await first.stop();
  v1.close();

  const second = await startCoordinator({ port: 0, dataDir: first.dataDir, token: TEST_TOKEN });
  const api = new ApiClient(second.url, TEST_TOKEN);
  try {
    const after = await api.job(id);
    assert.equal(after.name, 'survivor');
    assert.equal(after.program, program.id);
    assert.deepEqual(
      after.tasks.map((t) => [t.index, t.state]),
      before.tasks.map((t) => [t.index, t.state === 'running' ? 'queued' : t.state]),
    );
    assert.ok((await api.call('GET', '/api/programs')).status === 200);
    assert.ok((await api.volunteers()).some((v) => v.id === 'volunteer-restart-1' && !v.connected));
    const output = await api.output(id);
    assert.equal(output.tasks[0]!.stdout, 'finished before the restart\n');
    assert.deepEqual(output.tasks[0]!.result, { ok: 1 });

    // The same volunteer comes back holding its running tasks' leases. They are gone: output it sent in the
    // batch the crash did not commit (or before this hello) would be missing, so every running task was
    // requeued from its newest checkpoint (none here: from the start) and is handed out again.
    const v2 = new ScriptedVolunteer(second.url, { slots: 2, volunteerId: 'volunteer-restart-1' });
    await new Promise<void>((resolve) => v2.socket.once('connect', () => resolve()));
    const welcome = await v2.request<{ leases: string[] }>('hello', {
      volunteerId: 'volunteer-restart-1',
      secret: v2.secret,
      name: 'back',
      cores: 2,
      slots: 2,
      leases: held.map((t) => t.lease),
    });
    assert.deepEqual(welcome.leases, [], 'no lease survives a restart');
    const again = await v2.waitForTasks(2);
    assert.deepEqual(again.map((t) => t.taskId).sort(), held.map((t) => t.taskId).sort());
    for (const task of again) {
      v2.output(task, 'written after the restart\n');
      await v2.finish(task);
    }
    const final = await api.waitForState(id, 'completed');
    assert.deepEqual(final.tasks.map((t) => t.restarts), [0, 1, 1], 'the tasks running at the crash ran again');
    assert.equal((await api.output(id)).tasks[1]!.stdout, 'written after the restart\n', 'the lost run left no output behind');
    v2.close();
  } finally {
    await second.close();
    await first.close();
  }
});

test('a running task whose volunteer never comes back after a restart is requeued at once', async () => {
  const first = await startTestCoordinator();
  await first.api.postProgram(emptyCommand(), 'wasm', 'empty');
  const v1 = new ScriptedVolunteer(first.coordinator.url);
  await v1.start();
  const { id } = await first.api.postJob({ program: 'empty' });
  await v1.waitForTasks(1);
  await first.stop();
  v1.close();
  const second = await startCoordinator({ port: 0, dataDir: first.dataDir, token: TEST_TOKEN });
  const api = new ApiClient(second.url, TEST_TOKEN);
  try {
    const job = await api.waitForJob(id, (j) => j.tasks[0]!.state === 'queued', 10_000);
    assert.equal(job.tasks[0]!.restarts, 1);
  } finally {
    await second.close();
    await first.close();
  }
});
