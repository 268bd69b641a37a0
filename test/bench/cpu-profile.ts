/**
 * Reads a V8 CPU profile (`.cpuprofile`, from node:inspector or `--cpu-prof`)
 * and says where the time went: self time by function and by package or
 * source file. Benchmarks print it when asked (`BENCH_PROFILE=1`).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: Array<{ name: string; ms: number }>;
  byArea: Array<{ name: string; ms: number }>;
}

/** `node_modules/socket.io/…` → `socket.io`; a project file → its path; Node internals → `node:…`. */
function area(url: string, root: string): string {
  if (!url) return '(native/V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url.split('/')[0]!;
  if (url.startsWith('file://')) return relative(root, new URL(url).pathname);
  return url;
}

function top(map: Map<string, number>, n: number) {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000 }));
}

export function summarizeProfile(file: string, root: string, n = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = nodes.get(id)!.callFrame;
    const where = area(frame.url, root);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byArea.set(frame.url ? where : name, (byArea.get(frame.url ? where : name) ?? 0) + us);
    total += us;
  });
  return { totalMs: total / 1000, byFunction: top(byFunction, n), byArea: top(byArea, n) };
}

export function formatSummary(summary: ProfileSummary): string[] {
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)} %`;
  return [
    `CPU profile: ${summary.totalMs.toFixed(0)} ms sampled`,
    '  by area:',
    ...summary.byArea.map((e) => `    ${pct(e.ms)}  ${e.name}`),
    '  by function (self time):',
    ...summary.byFunction.map((e) => `    ${pct(e.ms)}  ${e.name}`),
  ];
}
