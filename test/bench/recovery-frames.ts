/**
 * What a volunteer page says on its coordinator socket, read from the frames
 * Chromium reports (the page is not touched): when the socket opened and the
 * hello was answered, and every progress report with the time it was sent.
 * Times are the bench process's `Date.now()` when Playwright delivered the
 * frame (the coordinator runs in this process: the same clock as its ISO
 * times).
 */
import type { Page } from 'playwright-core';

export interface ProgressFrame {
  at: number;
  taskId: string;
  progress: number;
}

/** An event or an ack of the socket.io protocol in an engine.io message: `4` + type + `/nsp,` + id + JSON. */
const PACKET = /^4([23])(?:\/[^,[]*,)?(\d*)(\[[\s\S]*\])$/;

export class FrameLog {
  /** The page opened its coordinator websocket. */
  socketAt: number | undefined;
  /** The coordinator answered the page's hello: it is a volunteer again. */
  welcomeAt: number | undefined;
  readonly progress: ProgressFrame[] = [];
  #helloId: string | undefined;

  /** Records `page`'s frames on sockets to `coordinatorUrl`; call before the page loads. */
  constructor(page: Page, coordinatorUrl: string) {
    const host = new URL(coordinatorUrl).host;
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== host) return;
      this.socketAt ??= Date.now();
      ws.on('framesent', ({ payload }) => typeof payload === 'string' && this.#sent(payload));
      ws.on('framereceived', ({ payload }) => typeof payload === 'string' && this.#received(payload));
    });
  }

  #sent(payload: string): void {
    const packet = PACKET.exec(payload);
    if (packet?.[1] !== '2') return;
    if (payload.includes('"task:progress"')) {
      const [, body] = JSON.parse(packet[3]!) as [string, { taskId: string; progress: number }];
      this.progress.push({ at: Date.now(), taskId: body.taskId, progress: body.progress });
    } else if (payload.includes('"hello"')) {
      this.#helloId = packet[2];
    }
  }

  #received(payload: string): void {
    const packet = PACKET.exec(payload);
    if (packet?.[1] === '3' && packet[2] === this.#helloId) this.welcomeAt ??= Date.now();
  }

  /** The task's progress reports, oldest first. */
  of(taskId: string): ProgressFrame[] {
    return this.progress.filter((p) => p.taskId === taskId);
  }
}

/**
 * Milliseconds per unit of progress over the reports in `frames` (a task's run
 * on one page, checkpoint stops included: the pace at which lost work is
 * redone); undefined if they span less than `minSpanMs`.
 */
export function msPerProgress(frames: readonly ProgressFrame[], minSpanMs = 1_000): number | undefined {
  // The first report after a start or resume comes after the restore: start the span at the second.
  const first = frames[1];
  const last = frames.at(-1);
  if (!first || !last || last.at - first.at < minSpanMs || last.progress <= first.progress) return undefined;
  return (last.at - first.at) / (last.progress - first.progress);
}
