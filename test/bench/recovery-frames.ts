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

/** A request of a checkpoint upload sent, or its ack received. */
export interface UploadStep {
  at: number;
  step: 'checkpoint:missing' | 'checkpoint:segment' | 'checkpoint:manifest';
  acked: boolean;
}

/** What a tab recorded; times are wall-clock ms. */
export interface PageFrames {
  /** The tab opened its coordinator websocket. */
  socketAt?: number;
  /** The coordinator answered the tab's hello: it is a volunteer again. */
  welcomeAt?: number;
  /** Each `task:assign` received. */
  readonly assigns: number[];
  /** Each `task:resumed` sent (the coordinator stamps the task's `resumes` entry when it arrives). */
  readonly resumes: number[];
  /** Each binary message received: the segments of a chain being downloaded. */
  readonly binaryIn: { at: number; bytes: number }[];
  readonly uploadSteps: UploadStep[];
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
  return tab.evaluate<PageFrames>(`((f) => ({ ...f, progress: f.progress.filter((p) => p.taskId === ${id}) }))(globalThis.recoveryFrames)`);
}

/** The tab's upload requests and acks. */
export function readUploadSteps(tab: RawTab): Promise<UploadStep[]> {
  return tab.evaluate<UploadStep[]>('globalThis.recoveryFrames.uploadSteps');
}

/** The first progress the tab reported for `taskId` after wall-clock time `after`, or undefined if none yet. */
export function firstProgress(tab: RawTab, taskId: string, after: number): Promise<ProgressFrame | undefined> {
  const expression = `globalThis.recoveryFrames.progress.find((p) => p.taskId === ${JSON.stringify(taskId)} && p.at > ${after}) ?? null`;
  return tab.evaluate<ProgressFrame | null>(expression).then((p) => p ?? undefined);
}

/**
 * When the run whose reports are `frames` passed `progress` (interpolated
 * between the two reports around it); undefined if it did not, or before its
 * first report (which comes after a restore, so its time is not the work's).
 */
export function timeAt(frames: readonly ProgressFrame[], progress: number): number | undefined {
  const i = frames.findIndex((f) => f.progress >= progress);
  if (i < 1) return undefined;
  const [a, b] = [frames[i - 1]!, frames[i]!];
  return a.at + ((b.at - a.at) * (progress - a.progress)) / (b.progress - a.progress);
}

/**
 * Milliseconds per unit of progress over the last `windowMs` of `frames` (a
 * task's run on one tab, checkpoint stops included: the pace at which lost
 * work is done again); undefined if they span less than `minSpanMs`.
 */
export function msPerProgress(frames: readonly ProgressFrame[], windowMs = 5_000, minSpanMs = 1_000): number | undefined {
  const last = frames.at(-1);
  // Never the first report of a run: it comes after the restore.
  const first = frames.slice(1).find((f) => last && f.at >= last.at - windowMs);
  if (!first || !last || last.at - first.at < minSpanMs || last.progress <= first.progress) return undefined;
  return (last.at - first.at) / (last.progress - first.progress);
}
