/**
 * Runs inside a volunteer page (bundled by recovery-raw.ts, added as a
 * script): stamps the page's own checkpoint uploads with the time they
 * ended, and measures what a bare socket.io link from the same page carries
 * in the same shape (binary messages the size of its segments, 4 in flight,
 * each acked, websocket only), for recovery.bench.ts's `upload_efficiency`.
 */
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { UploadRecord } from '../../client/volunteer/checkpoint-uploader.ts';

/** An upload record as main.ts pushes it, plus when it was pushed (the page's `performance.now()`). */
export interface TimedUpload extends UploadRecord {
  endedAt: number;
}

export interface RawRun {
  /** The page's `performance.now()` at the first message. */
  startedAt: number;
  ms: number;
  bytes: number;
}

export interface RawOptions {
  url: string;
  runs: number;
  inFlight: number;
  /** Size the messages like the page's first upload of at least this many bytes. */
  minUploadBytes: number;
  /** How long to wait for one of the page's own uploads to end. */
  waitMs: number;
}

export interface RawResult {
  messages: number;
  messageBytes: number;
  runs: RawRun[];
}

export interface RecoveryRawHarness {
  watchUploads(): void;
  uploads(): TimedUpload[];
  raw(options: RawOptions): Promise<RawResult>;
}

const ACK_TIMEOUT_MS = 10_000;
const timed: TimedUpload[] = [];
const waiters: (() => void)[] = [];
let watching = false;

function watchUploads(): void {
  if (watching) return;
  const stats = (globalThis as { volunteerStats?: { uploads: UploadRecord[] } }).volunteerStats;
  if (!stats) throw new Error('this page has no volunteerStats (not a volunteer page, or not started yet)');
  const push = stats.uploads.push.bind(stats.uploads);
  // main.ts pushes each finished upload into this very array: stamping the push times it without touching the page's code.
  stats.uploads.push = (...records: UploadRecord[]) => {
    const endedAt = performance.now();
    for (const record of records) timed.push({ ...record, endedAt });
    for (const wake of waiters.splice(0)) wake();
    return push(...records);
  };
  watching = true;
}

/** Resolves when the page's next upload ends, or after `timeoutMs` (the measurement then goes ahead anyway). */
function nextUpload(timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    waiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function send(socket: Socket, data: Uint8Array, messages: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < messages) {
      const i = next++;
      // The same fields as the uploader's `checkpoint:segment`, so the two frames are alike on the wire.
      await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('checkpoint:segment', { taskId: 'raw', lease: 'raw', hash: i.toString(16).padStart(64, '0'), data });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, messages) }, lane));
}

function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(error));
  });
}

async function raw(options: RawOptions): Promise<RawResult> {
  watchUploads();
  const socket = await connect(options.url);
  try {
    const deadline = performance.now() + options.waitMs;
    let model = timed.find((u) => u.bytes >= options.minUploadBytes);
    while (!model) {
      if (performance.now() > deadline) throw new Error(`no upload of ${options.minUploadBytes} bytes or more within ${options.waitMs} ms`);
      await nextUpload(options.waitMs);
      model = timed.find((u) => u.bytes >= options.minUploadBytes);
    }
    const messages = model.segments;
    const messageBytes = Math.round(model.bytes / model.segments);
    const data = new Uint8Array(messageBytes);
    for (let at = 0; at < data.length; at += 65_536) crypto.getRandomValues(data.subarray(at, at + 65_536));
    await send(socket, data, 4, 1);
    const runs: RawRun[] = [];
    for (let run = 0; run < options.runs; run++) {
      // Right after one of the page's uploads ends its link is idle until the next checkpoint commits.
      await nextUpload(options.waitMs);
      const startedAt = performance.now();
      await send(socket, data, messages, options.inFlight);
      runs.push({ startedAt, ms: performance.now() - startedAt, bytes: messages * messageBytes });
    }
    return { messages, messageBytes, runs };
  } finally {
    socket.disconnect();
  }
}

const harness: RecoveryRawHarness = { watchUploads, uploads: () => timed, raw };
Object.assign(globalThis, { recoveryRaw: harness });
