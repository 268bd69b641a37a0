/**
 * What a volunteer tab said on its coordinator socket, as recovery-frames.page.ts
 * records it inside the tab: its bundle, the reads of it, and the pace of a
 * task's progress derived from it.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { RawTab } from './recovery-tabs.ts';

export interface ProgressFrame {
  /** Wall-clock ms (the tab's `performance.timeOrigin + now()`) when it was sent. */
  at: number;
  taskId: string;
  progress: number;
}

export interface PageFrames {
  /** The tab opened its coordinator websocket. */
  socketAt?: number;
  /** The coordinator answered the tab's hello: it is a volunteer again. */
  welcomeAt?: number;
  readonly progress: ProgressFrame[];
}

export async function bundleFrameRecorder(): Promise<string> {
  const entry = fileURLToPath(new URL('./recovery-frames.page.ts', import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  return out.outputFiles[0]!.text;
}

/** Everything the tab recorded, progress of `taskId` only. */
export function readFrames(tab: RawTab, taskId: string): Promise<PageFrames> {
  const id = JSON.stringify(taskId);
  return tab.evaluate<PageFrames>(`(({ socketAt, welcomeAt, progress }) => ({ socketAt, welcomeAt, progress: progress.filter((p) => p.taskId === ${id}) }))(globalThis.recoveryFrames)`);
}

/** The first progress the tab reported for `taskId` after wall-clock time `after`, or undefined if none yet. */
export function firstProgress(tab: RawTab, taskId: string, after: number): Promise<ProgressFrame | undefined> {
  const expression = `globalThis.recoveryFrames.progress.find((p) => p.taskId === ${JSON.stringify(taskId)} && p.at > ${after}) ?? null`;
  return tab.evaluate<ProgressFrame | null>(expression).then((p) => p ?? undefined);
}

/**
 * Milliseconds per unit of progress over `frames` (a task's run on one tab,
 * checkpoint stops included: the pace at which lost work is done again);
 * undefined if they span less than `minSpanMs`.
 */
export function msPerProgress(frames: readonly ProgressFrame[], minSpanMs = 1_000): number | undefined {
  // The first report after a start or resume comes after the restore: start the span at the second.
  const first = frames[1];
  const last = frames.at(-1);
  if (!first || !last || last.at - first.at < minSpanMs || last.progress <= first.progress) return undefined;
  return (last.at - first.at) / (last.progress - first.progress);
}
