/**
 * Runs in a volunteer tab before its own scripts (Page.addScriptToEvaluateOnNewDocument,
 * bundled by recovery-frames.ts): records what the page says on its
 * coordinator socket, with wall-clock times (`performance.timeOrigin +
 * performance.now()`, comparable with the bench's `Date.now()`): when the
 * socket opened, when the hello was answered, each assignment received and
 * resume reported, each binary message received (a download's segments),
 * each request of an upload sent and acked, and every progress report.
 * It subclasses WebSocket (engine.io-client takes `globalThis.WebSocket` when
 * the page's bundle loads, after this script); of binary frames it keeps
 * only sizes.
 */
import type { PageFrames, UploadStep } from './recovery-frames.ts';

/**
 * A socket.io packet in an engine.io message: `4`, its type (2 event, 3 ack, 5 and 6 the same with
 * binary attachments, whose count and `-` follow), `/nsp,`, the ack id, the JSON.
 */
const PACKET = /^4([2356])(?:\d+-)?(?:\/[^,[]*,)?(\d*)(\[[\s\S]*\])$/;
/** The requests of an upload, whose sending and acks are recorded. */
const UPLOAD_STEPS: readonly UploadStep['step'][] = ['checkpoint:missing', 'checkpoint:segment', 'checkpoint:manifest'];

const frames: PageFrames = { assigns: [], resumes: [], binaryIn: [], uploadSteps: [], progress: [] };
const asked = new Map<string, UploadStep['step']>();
const wall = () => performance.timeOrigin + performance.now();
const watched = new WeakSet<WebSocket>();
let helloId: string | undefined;

function sent(text: string): void {
  const packet = PACKET.exec(text);
  if (packet?.[1] !== '2' && packet?.[1] !== '5') return;
  const step = UPLOAD_STEPS.find((name) => text.startsWith(`["${name}"`, packet[0].length - packet[3]!.length));
  if (step) {
    frames.uploadSteps.push({ at: wall(), step, acked: false });
    if (packet[2]) asked.set(packet[2], step);
  } else if (text.includes('"task:progress"')) {
    const [, body] = JSON.parse(packet[3]!) as [string, { taskId: string; progress: number }];
    frames.progress.push({ at: wall(), taskId: body.taskId, progress: body.progress });
  } else if (text.includes('"task:resumed"')) {
    frames.resumes.push(wall());
  } else if (text.includes('"hello"')) {
    helloId = packet[2];
  }
}

function received(data: unknown): void {
  if (data instanceof ArrayBuffer) {
    frames.binaryIn.push({ at: wall(), bytes: data.byteLength });
    return;
  }
  if (typeof data !== 'string') return;
  const packet = PACKET.exec(data);
  const step = packet?.[1] === '3' ? asked.get(packet[2]!) : undefined;
  if (step) {
    asked.delete(packet![2]!);
    frames.uploadSteps.push({ at: wall(), step, acked: true });
  } else if (packet?.[1] === '3' && helloId !== undefined && packet[2] === helloId) frames.welcomeAt ??= wall();
  else if (packet?.[1] === '2' && data.includes('"task:assign"')) frames.assigns.push(wall());
}

const Native = globalThis.WebSocket;

class WatchedWebSocket extends Native {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    if (new URL(String(url), location.href).host !== location.host) return;
    frames.socketAt ??= wall();
    watched.add(this);
    this.addEventListener('message', (event: MessageEvent) => received(event.data));
  }

  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string' && watched.has(this)) sent(data);
    super.send(data);
  }
}

globalThis.WebSocket = WatchedWebSocket;
Object.assign(globalThis, { recoveryFrames: frames });
