/**
 * Issue 7, limits: each named limit holds, with a typed error for the
 * offender, and the coordinator and every other client carry on. Bodies over
 * the limit get 413 before they are sent whole; a socket message over
 * maxHttpBufferSize closes only its connection; connections over the per-IP
 * limit are refused at the handshake; a connection over its event rate gets
 * RateLimited and, if it keeps flooding, is disconnected; stdout is capped per
 * task; checkpoint bytes are capped per checkpoint and per lease; a rank that
 * does not read has relayed batches dropped rather than queued without bound.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { io } from 'socket.io-client';
import { startCoordinator } from '../../server/coordinator.ts';
import type { CoordinatorOptions } from '../../server/coordinator.ts';
import { CHECKPOINT_FORMAT } from '../../shared/checkpoint-format.ts';
import { MAX_JSON_BYTES, MAX_OUTPUT_BYTES, MAX_OUTPUT_CHUNK_BYTES, MAX_PROGRAM_BYTES, MAX_SOCKET_MESSAGE_BYTES } from '../../shared/limits.ts';
import { ApiClient } from '../helpers/api-client.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { TEST_TOKEN } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

const started: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of started) await close();
});

/** A coordinator with some limits lowered, and the program `empty` posted. */
async function grid(options: Partial<CoordinatorOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'grid-limits-'));
  const coordinator = await startCoordinator({ port: 0, dataDir, token: TEST_TOKEN, instrumentBuiltins: false, ...options });
  started.push(async () => {
    await coordinator.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api = new ApiClient(coordinator.url, TEST_TOKEN);
  await api.postProgram(emptyCommand(), 'wasm', 'empty');
  return { coordinator, api };
}

let shared: ReturnType<typeof grid> | undefined;
/** One coordinator with the default limits, for the tests that need nothing lowered. */
const defaultGrid = () => (shared ??= grid());

/** Sends the request head and the first bytes of a body that claims (or grows to) more; resolves with the response head once it comes. */
function partialUpload(url: string, head: string, chunks: Buffer[]): Promise<{ status: number; text: string; sentBytes: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    let sentBytes = 0;
    socket.on('connect', () => {
      socket.write(head);
      for (const chunk of chunks) {
        socket.write(chunk);
        sentBytes += chunk.byteLength;
      }
    });
    socket.on('data', (data) => {
      received += data.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(received.split(' ')[1]);
      socket.destroy();
      resolve({ status, text: received, sentBytes });
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no response within 5 s: ${received}`)), 5_000).unref();
  });
}

test('a body over its limit gets 413 before it is sent whole', async () => {
  const { coordinator } = await defaultGrid();
  const host = new URL(coordinator.url).host;
  const auth = `Authorization: Bearer ${TEST_TOKEN}\r\n`;
  // A Content-Length over the limit: refused on the header, after 16 bytes of a 32 MiB upload.
  const program = await partialUpload(
    coordinator.url,
    `POST /api/programs?name=big HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Type: application/wasm\r\nContent-Length: ${MAX_PROGRAM_BYTES + 1}\r\n\r\n`,
    [Buffer.alloc(16)],
  );
  assert.equal(program.status, 413, program.text);
  assert.match(program.text, /PayloadTooLarge/);
  const job = await partialUpload(
    coordinator.url,
    `POST /api/jobs HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Type: application/json\r\nContent-Length: ${MAX_JSON_BYTES + 1}\r\n\r\n`,
    [Buffer.from('{"program":')],
  );
  assert.equal(job.status, 413, job.text);
  // No Content-Length (chunked): refused once the bytes read pass the limit, the body never finished.
  const chunk = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.byteLength.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
  const chunks = Array.from({ length: MAX_JSON_BYTES / 65_536 + 2 }, () => chunk(Buffer.alloc(65_536, 0x20)));
  const streamed = await partialUpload(coordinator.url, `POST /api/jobs HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, chunks);
  assert.equal(streamed.status, 413, streamed.text);
  // Without the token the body is not read at all.
  const anonymous = await partialUpload(coordinator.url, `POST /api/programs HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/wasm\r\nContent-Length: ${MAX_PROGRAM_BYTES}\r\n\r\n`, [Buffer.alloc(16)]);
  assert.equal(anonymous.status, 401, anonymous.text);
});

test('a socket message over maxHttpBufferSize closes only its own connection', async () => {
  const { coordinator } = await defaultGrid();
  const big = new ScriptedVolunteer(coordinator.url);
  const other = new ScriptedVolunteer(coordinator.url);
  await Promise.all([big.start(), other.start()]);
  const closed = new Promise<string>((resolve) => big.socket.once('disconnect', (reason) => resolve(reason)));
  big.socket.emit('task:output', { taskId: 't', lease: 'l', stream: 'stdout', data: new Uint8Array(MAX_SOCKET_MESSAGE_BYTES + 1024) });
  assert.equal(await closed, 'transport close');
  assert.deepEqual(await other.request('heartbeat', { leases: [] }), { lost: [] }, 'the other connection is untouched');
  big.close();
  other.close();
});

test('connections over the per-IP limit are refused at the handshake, with the reason', async () => {
  const { coordinator } = await grid({ maxConnectionsPerIp: 3 });
  const volunteers = [new ScriptedVolunteer(coordinator.url), new ScriptedVolunteer(coordinator.url)];
  await Promise.all(volunteers.map((v) => v.start()));
  const dashboard = io(`${coordinator.url}/dashboard`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: TEST_TOKEN } });
  await new Promise<void>((resolve) => dashboard.once('connect', () => resolve()));

  const handshake = await fetch(`${coordinator.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 403);
  assert.match(((await handshake.json()) as { message: string }).message, /^RateLimited: too many connections from 127\.0\.0\.1 \(at most 3/);
  const refused = new ScriptedVolunteer(coordinator.url);
  await assert.rejects(refused.start(), /websocket error/);
  refused.close();

  dashboard.close();
  // A slot frees when a connection closes: the next volunteer gets in (the refused polling handshake above never took one).
  let next: ScriptedVolunteer | undefined;
  await waitFor(async () => {
    const attempt = new ScriptedVolunteer(coordinator.url);
    try {
      await attempt.start();
      next = attempt;
      return true;
    } catch {
      attempt.close();
      return false;
    }
  }, 5_000, 'a free connection slot');
  assert.deepEqual(await volunteers[0]!.request('heartbeat', { leases: [] }), { lost: [] }, 'the connections already in are untouched');
  for (const v of [...volunteers, next!]) v.close();
});

type Answer = { ok: boolean; error?: { name: string } };

test('a connection over its event rate gets RateLimited, and one that keeps flooding is cut off; others carry on', async () => {
  const { coordinator } = await grid({ maxEventsPerSecond: 100 });
  const flooder = new ScriptedVolunteer(coordinator.url, { heartbeats: false });
  const honest = new ScriptedVolunteer(coordinator.url);
  await Promise.all([flooder.start(), honest.start()]);
  const ask = (v: ScriptedVolunteer) => (v.socket.timeout(5_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Answer> }).emitWithAck('heartbeat', { leases: [] });

  // A burst of 600: the bucket (2 s worth, 200) lets some through, the rest are refused with a typed error.
  const burst = await Promise.all(Array.from({ length: 600 }, () => ask(flooder)));
  const passed = burst.filter((a) => a.ok).length;
  const limited = burst.filter((a) => a.error?.name === 'RateLimited').length;
  assert.equal(passed + limited, 600);
  assert.ok(passed >= 200 && passed < 300, `${passed} passed`);
  assert.ok(flooder.socket.connected, 'a burst is refused, not cut off');

  // Keeping on over the rate (2,500 a second, no acks) for FLOOD_DISCONNECT_MS: disconnected, told once a second at most.
  const cut = new Promise<string>((resolve) => flooder.socket.once('disconnect', (reason) => resolve(reason)));
  const flood = setInterval(() => {
    for (let i = 0; i < 50; i++) flooder.socket.emit('task:progress', { taskId: 't', lease: 'l', progress: 0 });
  }, 20);
  const started = Date.now();
  try {
    assert.equal(await cut, 'io server disconnect');
  } finally {
    clearInterval(flood);
  }
  assert.ok(Date.now() - started < 8_000, 'cut off within a few seconds');
  const notices = flooder.protocolErrors.filter((e) => (e as { error: { name: string } }).error.name === 'RateLimited');
  assert.ok(notices.length >= 1 && notices.length <= 8, `${notices.length} RateLimited notices`);
  assert.deepEqual(await honest.request('heartbeat', { leases: [] }), { lost: [] }, 'the honest volunteer is untouched');
  flooder.close();
  honest.close();
});

test('under the default rate an honest burst (hundreds of events) passes', async () => {
  const { coordinator } = await defaultGrid();
  const v = new ScriptedVolunteer(coordinator.url);
  await v.start();
  const answers = await Promise.all(Array.from({ length: 1_000 }, () => (v.socket.timeout(5_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Answer> }).emitWithAck('heartbeat', { leases: [] })));
  assert.equal(answers.filter((a) => a.ok).length, 1_000);
  v.close();
});

test('stdout is capped per task, with a note', async () => {
  const { coordinator, api } = await defaultGrid();
  const v = new ScriptedVolunteer(coordinator.url);
  await v.start();
  const { id } = await api.postJob({ program: 'empty' });
  const [task] = await v.waitForTasks(1);
  // A chunk size that does not divide the cap: the chunk that crosses it is cut (one that fills it exactly is a case of its own).
  const chunk = 'y'.repeat(MAX_OUTPUT_CHUNK_BYTES - 1_000);
  for (let sent = 0; sent <= MAX_OUTPUT_BYTES + MAX_OUTPUT_CHUNK_BYTES; sent += chunk.length) v.output(task!, chunk);
  await v.finish(task!);
  await api.waitForState(id, 'completed');
  const { stdout } = (await api.output(id)).tasks[0]!;
  assert.equal(stdout.slice(0, MAX_OUTPUT_BYTES), 'y'.repeat(MAX_OUTPUT_BYTES));
  assert.equal(stdout.slice(MAX_OUTPUT_BYTES), `\n[output truncated at ${MAX_OUTPUT_BYTES} bytes]\n`);
  v.close();
});

/** A segment of `pages` pages of `fill`, its hash, and a manifest naming `segments` (each `pages` pages, one after the other). */
function segment(pages: number, fill: number) {
  const data = new Uint8Array(pages * 4096).fill(fill);
  return { data, hash: createHash('sha256').update(data).digest('hex') };
}
function manifest(taskId: string, seq: number, segments: Array<{ hash: string; data: Uint8Array }>, pages: number) {
  return {
    format: CHECKPOINT_FORMAT,
    taskId,
    seq,
    parent: null,
    pageSize: 4096,
    memoryPages: segments.length * pages,
    extents: segments.map((_, i) => ({ first: i * pages, count: pages, segment: i, offset: 0 })),
    segments: segments.map((s) => ({ hash: s.hash, bytes: s.data.byteLength })),
    state: { output: { stdout: 0, stderr: 0 } },
    dirtyBytes: segments.length * pages * 4096,
    storedBytes: segments.reduce((sum, s) => sum + s.data.byteLength, 0),
    createdAt: Date.now(),
  };
}

test('checkpoint bytes are capped per checkpoint and per lease ahead of a manifest', async () => {
  const PAGES = 25; // 100 KiB segments
  const { coordinator, api } = await grid({ maxCheckpointBytes: 250 * 1024 });
  const v = new ScriptedVolunteer(coordinator.url);
  await v.start();
  const { id } = await api.postJob({ program: 'empty' });
  const [task] = await v.waitForTasks(1);
  const { taskId, lease } = task!;
  const [a, b, c, d] = [1, 2, 3, 4].map((fill) => segment(PAGES, fill));
  const upload = (s: { hash: string; data: Uint8Array }) => v.request('checkpoint:segment', { taskId, lease, hash: s.hash, data: s.data });

  await upload(a!);
  await upload(b!);
  await upload(a!); // the same bytes again cost nothing
  await assert.rejects(upload(c!), /^Error: QuotaExceeded: .*no checkpoint names/, 'a third segment no manifest names');
  await assert.rejects(v.request('checkpoint:manifest', { taskId, lease, manifest: manifest(taskId, 1, [a!, b!, c!], PAGES) }), /^Error: QuotaExceeded: checkpoint 1: 307200 bytes/);
  const huge = { ...manifest(taskId, 1, [], 0), memoryPages: 16_384 * 16 + 1, extents: [], dirtyBytes: 0 };
  await assert.rejects(v.request('checkpoint:manifest', { taskId, lease, manifest: huge }), /^Error: ValidationError: manifest\.memoryPages/);
  await v.request('checkpoint:manifest', { taskId, lease, manifest: manifest(taskId, 1, [a!, b!], PAGES) });
  // Named by a stored checkpoint, those bytes no longer count against the lease.
  await upload(c!);
  await upload(d!);
  assert.equal((await api.job(id)).tasks[0]!.checkpoints, 1);
  v.close();
});

test('a rank that does not read gets relayed batches dropped, not queued without bound', async () => {
  const { coordinator, api } = await defaultGrid();
  const sender = new ScriptedVolunteer(coordinator.url);
  const receiver = new ScriptedVolunteer(coordinator.url);
  await Promise.all([sender.start(), receiver.start()]);
  const { id } = await api.postJob({ program: 'empty', ranks: 2 });
  const [mine] = await sender.waitForTasks(1);
  const [theirs] = await receiver.waitForTasks(1);
  assert.equal((await api.job(id)).state, 'running');
  let delivered = 0;
  receiver.socket.on('rank:deliver', () => delivered++);
  // The receiver stops reading its TCP socket: what the coordinator sends it piles up there, then in the coordinator.
  const tcp = (receiver.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
  tcp.pause();
  const BATCHES = 64;
  const batch = new Uint8Array(1 << 20).fill(7);
  for (let i = 0; i < BATCHES; i++) sender.socket.emit('rank:send', { taskId: mine!.taskId, lease: mine!.lease, to: theirs!.rank, data: batch });
  await sender.request('heartbeat', { leases: [mine!.lease] }); // every batch has been handled once this is answered
  tcp.resume();
  await waitFor(() => receiver.socket.connected && delivered > 0, 5_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(receiver.socket.connected, 'the slow receiver was not cut off');
  assert.ok(delivered < BATCHES, `${delivered} of ${BATCHES} MiB delivered: the rest were dropped`);
  assert.ok(delivered >= 16, `${delivered} delivered: up to the limit got through`);
  sender.close();
  receiver.close();
});
