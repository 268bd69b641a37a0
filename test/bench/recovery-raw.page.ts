/**
 * Runs inside a volunteer page (bundled by recovery-raw.ts, evaluated in the
 * tab): stamps the page's own checkpoint uploads with the time they ended,
 * and measures what a bare socket.io link from the same page carries in the
 * same shape (as many binary messages as an upload sends, of its segments'
 * size, 4 in flight, each acked, websocket only), for recovery.bench.ts's
 * `upload_efficiency`.
 */
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { UploadRecord } from '../../client/volunteer/checkpoint-uploader.ts';

/** An upload record as main.ts pushes it, plus when it was pushed (wall-clock ms: `performance.timeOrigin + now()`). */
export interface TimedUpload extends UploadRecord {
  endedAt: number;
}

export interface RawRun {
  /** Wall-clock ms at the first message. */
  startedAt: number;
  ms: number;
  bytes: number;
}

export interface RawOptions {
  url: string;
  /** As many messages of the size of the page's own segments as one of its uploads sends. */
  messages: number;
  messageBytes: number;
  inFlight: number;
}

export interface RecoveryRawHarness {
  watchUploads(): void;
  uploads(): TimedUpload[];
  raw(options: RawOptions): Promise<RawRun>;
}

const ACK_TIMEOUT_MS = 10_000;
const wall = () => performance.timeOrigin + performance.now();
const timed: TimedUpload[] = [];
let watching = false;

function watchUploads(): void {
  if (watching) return;
  const stats = (globalThis as { volunteerStats?: { uploads: UploadRecord[] } }).volunteerStats;
  if (!stats) throw new Error('this page has no volunteerStats (not a volunteer page, or not started yet)');
  const push = stats.uploads.push.bind(stats.uploads);
  // main.ts pushes each finished upload into this very array: stamping the push times it without touching the page's code.
  stats.uploads.push = (...records: UploadRecord[]) => {
    const endedAt = wall();
    for (const record of records) timed.push({ ...record, endedAt });
    return push(...records);
  };
  watching = true;
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

async function raw(options: RawOptions): Promise<RawRun> {
  const socket = await connect(options.url);
  try {
    const data = new Uint8Array(options.messageBytes);
    for (let at = 0; at < data.length; at += 65_536) crypto.getRandomValues(data.subarray(at, at + 65_536));
    await send(socket, data, 1, 1);
    const startedAt = wall();
    await send(socket, data, options.messages, options.inFlight);
    return { startedAt, ms: wall() - startedAt, bytes: options.messages * options.messageBytes };
  } finally {
    socket.disconnect();
  }
}

const harness: RecoveryRawHarness = { watchUploads, uploads: () => timed, raw };
Object.assign(globalThis, { recoveryRaw: harness });
