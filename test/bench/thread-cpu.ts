/**
 * Per-thread CPU time of Chromium's Web Worker threads, from /proc (Linux).
 * Throughput on this shared 2-core machine swings by 2× between identical
 * phases (LIMITS.md), so benchmarks that must resolve a few percent measure
 * what the compute thread itself spent instead: CPU time, sampled every
 * `everyMs`, interpolated at the phase boundaries the page reports.
 *
 * Only renderers descended from this process count (Playwright launches the
 * browser as our child), so another browser on the machine is ignored. The
 * compute worker is told apart as the busiest worker thread: it spins a
 * whole core, the checkpoint worker does not.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports utime and stime in clock ticks of 1/100 s on every platform Node supports here. */
const TICK_MS = 10;
const WORKER_THREAD = /^DedicatedWorker/;

interface Sample {
  at: number;
  cpuMs: Map<string, number>;
}

function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]; // state, then ppid
  } catch {
    return undefined; // gone since the listing
  }
}

/** Chromium renderer processes among the descendants of this process. */
function rendererPids(): string[] {
  const pids = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid));
  const parent = new Map(pids.map((pid) => [pid, parentOf(pid)]));
  const ours = (pid: string): boolean => {
    for (let p: string | undefined = pid, hops = 0; p && p !== '0' && hops < 64; p = parent.get(p), hops++) {
      if (p === String(process.pid)) return true;
    }
    return false;
  };
  return pids.filter((pid) => {
    try {
      return ours(pid) && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('--type=renderer');
    } catch {
      return false;
    }
  });
}

function readWorkerThreads(pids: readonly string[]): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
        // comm is in parentheses and may hold spaces: fields count from the last ')'.
        const close = stat.lastIndexOf(')');
        if (!WORKER_THREAD.test(stat.slice(stat.indexOf('(') + 1, close))) continue;
        const fields = stat.slice(close + 2).split(' ');
        cpu.set(`${pid}/${tid}`, (Number(fields[11]) + Number(fields[12])) * TICK_MS); // utime, stime
      } catch {
        // the thread ended between the listing and the read
      }
    }
  }
  return cpu;
}

export class ThreadCpuSampler {
  private readonly samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private pids: string[] = [];

  constructor(private readonly everyMs = 50) {}

  /** Call once the page is open (its renderer exists). */
  start(): void {
    this.pids = rendererPids();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** The worker thread that spent the most CPU over the samples. */
  busiest(): string | undefined {
    const last = this.samples.at(-1)?.cpuMs;
    if (!last) return undefined;
    return [...last].sort((a, b) => b[1] - a[1])[0]?.[0];
  }

  /** CPU ms `thread` spent between wall-clock times `from` and `to` (epoch ms), linearly interpolated. */
  cpuBetween(thread: string, from: number, to: number): number {
    return this.cpuAt(thread, to) - this.cpuAt(thread, from);
  }

  private sample(): void {
    this.samples.push({ at: Date.now(), cpuMs: readWorkerThreads(this.pids) });
  }

  private cpuAt(thread: string, at: number): number {
    const i = this.samples.findIndex((s) => s.at >= at);
    if (i <= 0) throw new RangeError(`no CPU samples around ${new Date(at).toISOString()}`);
    const a = this.samples[i - 1]!;
    const b = this.samples[i]!;
    const cpu = (s: Sample) => s.cpuMs.get(thread) ?? 0;
    return cpu(a) + ((cpu(b) - cpu(a)) * (at - a.at)) / Math.max(1, b.at - a.at);
  }
}
