/** A volunteer page's program download: an unreachable coordinator gives the task back; an error answer fails it. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ProgramUnreachable, fetchProgramBytes } from '../../client/volunteer/program-bytes.ts';

test('no answer is ProgramUnreachable (give the task back); an HTTP error is ProgramUnavailable (fail it); bytes come whole', async () => {
  const server = createServer((request, response) => {
    if (request.url === '/ok') return void response.end(Buffer.from([0, 97, 115, 109]));
    response.statusCode = request.url === '/broken' ? 500 : 404;
    response.end('{"error":{"name":"NotFound","message":"no such program"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.deepEqual([...new Uint8Array(await fetchProgramBytes(`${base}/ok`))], [0, 97, 115, 109]);
    await assert.rejects(fetchProgramBytes(`${base}/missing`), { name: 'ProgramUnavailable', message: /HTTP 404/ });
    await assert.rejects(fetchProgramBytes(`${base}/broken`), { name: 'ProgramUnavailable', message: /HTTP 500/ });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  // The same port, now closed: the coordinator is down.
  await assert.rejects(fetchProgramBytes(`${base}/ok`), (error: unknown) => error instanceof ProgramUnreachable);
});
