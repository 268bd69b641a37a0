/**
 * Makes a WASI command checkpointable without its author's help (issue 4,
 * claim 81): takes the module as share-memory.ts rewrote it (memory imported
 * as shared `env.memory` with a maximum) and adds the write barrier, the
 * safepoint polls and Asyncify, with the imports and exports the volunteer's
 * driver expects (shared/checkpointable-abi.ts). Done once per program, in
 * the coordinator; throws InvalidProgram (HTTP 400) for what it cannot handle.
 */
import { CKPT_MODULE, CkptExport, CkptImport } from '../../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo, GlobalType } from '../../../shared/checkpointable-abi.ts';
import { invalid } from '../wasm-binary.ts';
import { Added } from './added-names.ts';
import { runAsyncify, withOptimizeLevel } from './asyncify.ts';
import { B, binaryen } from './binaryen-api.ts';
import type { Module } from './binaryen-api.ts';
import { recursiveFunctions } from './call-graph.ts';
import type { CallSites } from './call-graph.ts';
import { FunctionWalk } from './instrument-walk.ts';
import type { WalkCounts } from './instrument-walk.ts';
import { resolveOptions } from './instrument-options.ts';
import type { InstrumentOptions, InstrumentReport, ResolvedOptions } from './instrument-options.ts';
import { addMemoryHelpers } from './memory-virtualization.ts';
import { addModuleInfo } from './module-info.ts';
import { polled } from './polls.ts';
import { validateInterface, validateModule } from './validate-program.ts';

/**
 * Features we read and write. Not `Features.All`: V8 rejects some encodings
 * binaryen then chooses (the feasibility probe of issue 4). Multi-memory only
 * when the barrier or the request word needs the tracker memory.
 */
const BASE_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.Atomics |
  binaryen.Features.SIMD128;

const asSource = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

function compile(bytes: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(asSource(bytes));
  } catch (error) {
    throw invalid(`not a valid WebAssembly module: ${(error as Error).message}`);
  }
}

function addImportsAndGlobals(m: Module, o: ResolvedOptions): void {
  const trackerMemory = o.barrier || (o.polls && o.request === 'tracker');
  if (trackerMemory) m.addMemoryImport(Added.tracker, CKPT_MODULE, CkptImport.TRACKER, true);
  if (o.barrier) {
    m.addFunctionImport(Added.markWrite, CKPT_MODULE, CkptImport.MARK_WRITE, B.createType([B.i32, B.i32]), B.none);
    m.addGlobalImport(Added.pageShift, CKPT_MODULE, CkptImport.PAGE_SHIFT, B.i32, false);
    m.addGlobal(Added.epoch, B.i32, true, m.i32.const(0));
    m.addGlobalExport(Added.epoch, CkptExport.EPOCH);
  }
  if (o.polls) {
    m.addFunctionImport(Added.safepoint, CKPT_MODULE, CkptImport.SAFEPOINT, B.none, B.none);
    m.addGlobal(Added.served, B.i32, true, m.i32.const(0));
    m.addGlobalExport(Added.served, CkptExport.SERVED);
    if (o.request === 'global') {
      m.addGlobal(Added.request, B.i32, true, m.i32.const(0));
      m.addGlobalExport(Added.request, CkptExport.REQUEST);
    }
    m.addGlobalExport(Added.reserved, CkptExport.RESERVED_PAGES);
  }
}

/** Exports the program's mutable globals (the stack pointer first of all) before Asyncify, so they can be saved. */
function exportProgramGlobals(m: Module): [string, GlobalType][] {
  const names: [string, GlobalType][] = [];
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const info = B.getGlobalInfo(m.getGlobalByIndex(i));
    if (!info.mutable || info.name.startsWith('ckpt$')) continue;
    const exportName = `${CkptExport.GLOBAL_PREFIX}${names.length}`;
    m.addGlobalExport(info.name, exportName);
    names.push([exportName, globalType(info.type)]);
  }
  return names;
}

function globalType(type: number): GlobalType {
  if (type === B.i32) return 'i32';
  if (type === B.i64) return 'i64';
  if (type === B.f32) return 'f32';
  if (type === B.f64) return 'f64';
  throw invalid('a mutable global of a type a checkpoint cannot save'); // validateModule refused these already
}

function tableFunctions(m: Module): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.getNumElementSegments(); i++) out.push(...B.getElementSegmentInfo(m.getElementSegmentByIndex(i)).data);
  return out;
}

/** Memory pages below the cached barrier's NO_PAGE (2 GiB; the grid's limit is far lower). */
const CACHEABLE_PAGES = 32768;

function walkProgram(m: Module, o: ResolvedOptions, counts: WalkCounts, programMaxPages: number): number {
  const cache = o.cacheBarrier && programMaxPages <= CACHEABLE_PAGES;
  const sites = new Map<string, CallSites>();
  const bodies: { name: string; func: number }[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const func = m.getFunctionByIndex(i);
    const info = B.getFunctionInfo(func);
    if (info.module || info.name.startsWith('ckpt$')) continue;
    const walk = new FunctionWalk(m, func, { barrier: o.barrier, polls: o.polls, request: o.request, cache, skipShort: o.skipShortLoops }, counts);
    const body = walk.visit(info.body);
    if (body !== info.body) B.Function.setBody(func, body);
    sites.set(info.name, walk.sites);
    bodies.push({ name: info.name, func });
  }
  if (!o.polls) return 0;
  const recursive = recursiveFunctions(sites, tableFunctions(m));
  for (const { name, func } of bodies) {
    if (recursive.has(name)) B.Function.setBody(func, polled(m, o.request, B.Function.getBody(func)));
  }
  return recursive.size;
}

/**
 * Instruments `bytes` (see the file comment). `options` selects the parts
 * (all by default); the report counts what was added and times each phase.
 */
export function instrumentProgram(bytes: Uint8Array, options: InstrumentOptions = {}): { bytes: Uint8Array; report: InstrumentReport; info: CkptModuleInfo } {
  const o = resolveOptions(options);
  const t0 = performance.now();
  validateInterface(compile(bytes));
  const m = binaryen.readBinary(bytes);
  try {
    const multiMemory = o.barrier || (o.polls && o.request === 'tracker');
    m.setFeatures(BASE_FEATURES | (multiMemory ? binaryen.Features.MultiMemory : 0));
    if (!m.validate()) throw invalid('binaryen cannot validate the module with the features the grid supports (MVP, bulk memory, atomics, SIMD)');
    validateModule(m);
    const counts: WalkCounts = { stores: 0, bulk: 0, loopPolls: 0, memoryOps: 0 };
    const t1 = performance.now();
    // Before the tracker memory exists: memory.size/grow without a name mean the program's memory.
    const programMaxPages = m.hasMemory() ? (m.getMemoryInfo().max ?? Infinity) : 0;
    if (o.polls) addMemoryHelpers(m);
    addImportsAndGlobals(m, o);
    const globals = exportProgramGlobals(m);
    const functions = m.getNumFunctions();
    const entryPolls = walkProgram(m, o, counts, programMaxPages);
    const t2 = performance.now();
    withOptimizeLevel(o.optimizeLevel, () => {
      if (o.polls && o.asyncify) runAsyncify(m);
    });
    const t3 = performance.now();
    if (o.finalOptimize) withOptimizeLevel(o.optimizeLevel, () => m.optimize());
    const info = addModuleInfo(m, { barrier: o.barrier, polls: o.polls, request: o.polls ? o.request : 'none', globals });
    if (!m.validate()) throw new Error('the instrumented module does not validate (a bug in the instrumentation)');
    const t4 = performance.now();
    const out = m.emitBinary();
    const t5 = performance.now();
    const report: InstrumentReport = {
      inputBytes: bytes.byteLength,
      outputBytes: out.byteLength,
      functions,
      ...counts,
      entryPolls,
      ms: { validate: t1 - t0, walk: t2 - t1, asyncify: t3 - t2, optimize: t4 - t3, emit: t5 - t4, total: t5 - t0 },
    };
    return { bytes: out, report, info };
  } finally {
    m.dispose();
  }
}
