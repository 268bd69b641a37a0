/**
 * Runs in a volunteer tab before its own scripts (Page.addScriptToEvaluateOnNewDocument,
 * bundled by recovery-frames.ts): records what the page says on its
 * coordinator socket, with wall-clock times (`performance.timeOrigin +
 * performance.now()`, comparable with the bench's `Date.now()`): when the
 * socket opened, when the hello was answered, and every progress report.
 * It subclasses WebSocket (engine.io-client takes `globalThis.WebSocket` when
 * the page's bundle loads, after this script) and looks at text frames only.
 */
import type { PageFrames } from './recovery-frames.ts';

/** An event or an ack of the socket.io protocol in an engine.io message: `4` + type + `/nsp,` + id + JSON. */
const PACKET = /^4([23])(?:\/[^,[]*,)?(\d*)(\[[\s\S]*\])$/;

const frames: PageFrames = { progress: [] };
const wall = () => performance.timeOrigin + performance.now();
const watched = new WeakSet<WebSocket>();
let helloId: string | undefined;

function sent(text: string): void {
  const packet = PACKET.exec(text);
  if (packet?.[1] !== '2') return;
  if (text.includes('"task:progress"')) {
    const [, body] = JSON.parse(packet[3]!) as [string, { taskId: string; progress: number }];
    frames.progress.push({ at: wall(), taskId: body.taskId, progress: body.progress });
  } else if (text.includes('"hello"')) {
    helloId = packet[2];
  }
}

function received(text: string): void {
  const packet = PACKET.exec(text);
  if (packet?.[1] === '3' && helloId !== undefined && packet[2] === helloId) frames.welcomeAt ??= wall();
}

const Native = globalThis.WebSocket;

class WatchedWebSocket extends Native {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    if (new URL(String(url), location.href).host !== location.host) return;
    frames.socketAt ??= wall();
    watched.add(this);
    this.addEventListener('message', (event: MessageEvent) => typeof event.data === 'string' && received(event.data));
  }

  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string' && watched.has(this)) sent(data);
    super.send(data);
  }
}

globalThis.WebSocket = WatchedWebSocket;
Object.assign(globalThis, { recoveryFrames: frames });
