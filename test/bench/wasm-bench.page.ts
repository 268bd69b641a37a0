/**
 * The page side of the instrumentation benchmark (wasm.bench.ts), bundled at
 * run time and run in a cross-origin-isolated Chromium page (multi-memory and
 * shared memories). It compiles each variant of one program once, then runs
 * rounds of one fresh instance per variant, timing `_start` alone, and
 * returns what each run printed so the benchmark can check the instrumented
 * modules print exactly what the original does.
 *
 * Instrumented modules are instantiated here, not through the volunteer's
 * driver (CheckpointableProgram): the polls-only variant has no Asyncify, so
 * no `asyncify_*` exports the driver needs, and every variant must be timed
 * the same way. What the driver would do that matters for speed is done
 * here too: a real PageTracker behind `ckpt.mark_write`, and the barrier's E
 * set to the tracker's interval (otherwise every store would take the slow
 * path). No checkpoint is ever requested, so `ckpt.safepoint` is never
 * called; if it is, the poll is wrong, and the run fails.
 *
 * The checkpointed runs (`checkpointedRun`, wasm-checkpoint.page.ts) are the
 * other way round: tasks run through the volunteer's own runtime and workers.
 */
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { createTrackerMemory } from '../../client/runtime/checkpointable/tracker-memory.ts';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { seedPrng } from '../../client/runtime/wasi/prng.ts';
import { ProcExit } from '../../client/runtime/wasi/proc-exit.ts';
import { createWasiImports } from '../../client/runtime/wasi/wasi-shim.ts';
import { CKPT_MODULE, CkptExport, CkptImport } from '../../shared/checkpointable-abi.ts';
import { checkpointedRun } from './wasm-checkpoint.page.ts';

const WASM_PAGE = 65536;
/** The smallest tracking page a job may choose: the most slow paths, the worst case for the barrier. */
const PAGE_SIZE = 4096;

export interface BenchProgram {
  variants: { label: string; wasm: number[] }[];
  argv: string[];
  initialPages: number;
  maxPages: number;
}

export interface RunResult {
  ms: number;
  stdout: string;
  exitCode: number;
}

let loaded: { program: BenchProgram; modules: Map<string, WebAssembly.Module> } | undefined;

/** Compiles every variant of one program (replacing the previous program's). */
async function load(program: BenchProgram): Promise<void> {
  const modules = new Map<string, WebAssembly.Module>();
  for (const v of program.variants) modules.set(v.label, await WebAssembly.compile(new Uint8Array(v.wasm)));
  loaded = { program, modules };
}

function ckptImports(memory: WebAssembly.Memory, maxPages: number): { imports: Record<string, WebAssembly.ImportValue>; tracker: PageTracker } {
  const { memory: trackerMemory, buffers } = createTrackerMemory({ maxBytes: maxPages * WASM_PAGE, pageSize: PAGE_SIZE });
  const tracker = new PageTracker(buffers, memory);
  const imports = {
    [CkptImport.TRACKER]: trackerMemory,
    [CkptImport.PAGE_SHIFT]: Math.log2(PAGE_SIZE),
    [CkptImport.MARK_WRITE]: (address: number, length: number) => tracker.markWrite(address >>> 0, length >>> 0),
    [CkptImport.SAFEPOINT]: () => {
      throw new Error('ckpt.safepoint was called though no checkpoint was requested');
    },
  };
  return { imports, tracker };
}

/** Runs one fresh instance of `label` to its end. */
async function runOnce(label: string): Promise<RunResult> {
  if (!loaded) throw new Error('load() a program first');
  const { program, modules } = loaded;
  const module = modules.get(label);
  if (!module) throw new Error(`no variant ${label}`);
  const memory = new WebAssembly.Memory({ initial: program.initialPages, maximum: program.maxPages, shared: true });
  const chunks: string[] = [];
  const decoder = new TextDecoder('latin1');
  const wasi = createWasiImports({ argv: program.argv, env: {}, memory: new GuestMemory(memory), prng: seedPrng(1), write: (_fd, bytes) => void chunks.push(decoder.decode(bytes)) });
  const instrumented = WebAssembly.Module.imports(module).some((i) => i.module === CKPT_MODULE);
  const ckpt = instrumented ? ckptImports(memory, program.maxPages) : undefined;
  const instance = await WebAssembly.instantiate(module, { env: { memory }, wasi_snapshot_preview1: wasi, ...(ckpt ? { [CKPT_MODULE]: ckpt.imports } : {}) });
  const epoch = instance.exports[CkptExport.EPOCH];
  if (ckpt && epoch instanceof WebAssembly.Global) epoch.value = ckpt.tracker.interval;
  let exitCode = 0;
  const t = performance.now();
  try {
    (instance.exports._start as () => void)();
  } catch (error) {
    if (!(error instanceof ProcExit)) throw error;
    exitCode = error.code;
  }
  const ms = performance.now() - t;
  return { ms, stdout: chunks.join(''), exitCode };
}

/** One round: a run of each variant, in the order given (the caller rotates it so no variant always runs first). */
async function round(order: string[]): Promise<Record<string, RunResult>> {
  const out: Record<string, RunResult> = {};
  for (const label of order) out[label] = await runOnce(label);
  return out;
}

export const harness = { load, round, checkpointedRun, isolated: () => crossOriginIsolated };
export type Harness = typeof harness;
(globalThis as unknown as { wasmBenchHarness: Harness }).wasmBenchHarness = harness;
