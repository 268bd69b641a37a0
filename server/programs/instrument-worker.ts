/**
 * The instrumentation worker thread's entry point: instruments one program per
 * request (instrument-protocol.ts) and answers with the bytes or the error.
 * Started by instrument-worker-spawn.ts; built to dist/server/instrument-worker.js.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../../shared/errors.ts';
import { instrumentProgram } from './instrument/instrument-program.ts';
import type { InstrumentReply, InstrumentRequest } from './instrument-protocol.ts';

const port = parentPort;
if (!port) throw new Error('instrument-worker.ts runs as a worker thread (see instrument-worker-spawn.ts)');

port.on('message', (request: InstrumentRequest) => {
  let reply: InstrumentReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const { bytes, report } = instrumentProgram(request.bytes);
    // A fresh buffer of exactly the module: binaryen's output may be a view
    // into a larger heap, which a structured clone would copy whole.
    const out = new Uint8Array(bytes);
    transfer.push(out.buffer);
    reply = { type: 'instrumented', id: request.id, bytes: out, report };
  } catch (error) {
    const stack = error instanceof Error ? error.stack : undefined;
    reply = { type: 'failed', id: request.id, error: { ...serializeError(error), ...(stack ? { stack } : {}) } };
  }
  port.postMessage(reply, transfer);
});
