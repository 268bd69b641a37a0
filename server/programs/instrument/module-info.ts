/**
 * What the driver needs to know about an instrumented module, written into a
 * custom section (`CKPT_SECTION`) so a worker reads it with
 * `WebAssembly.Module.customSections` instead of parsing the binary: chiefly
 * the ranges the active data segments overwrite at instantiation, which a
 * restore must put back (the memory already holds the checkpoint's bytes)
 * and which a fresh start must mark dirty (the tracker never saw those writes).
 */
import { CHECKPOINTABLE_ABI, CKPT_SECTION } from '../../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo } from '../../../shared/checkpointable-abi.ts';
import { invalid } from '../wasm-binary.ts';
import { dataSegments } from './binaryen-api.ts';
import type { Module } from './binaryen-api.ts';

export function addModuleInfo(m: Module, info: Omit<CkptModuleInfo, 'abi' | 'dataRanges'>): CkptModuleInfo {
  const dataRanges: [number, number][] = [];
  for (const segment of dataSegments(m)) {
    if (segment.passive || segment.data.byteLength === 0) continue;
    if (segment.offset === null) throw invalid(`data segment ${segment.name} has a non-constant offset`);
    dataRanges.push([segment.offset >>> 0, segment.data.byteLength]);
  }
  const full: CkptModuleInfo = { abi: CHECKPOINTABLE_ABI, ...info, dataRanges };
  m.addCustomSection(CKPT_SECTION, new TextEncoder().encode(JSON.stringify(full)));
  return full;
}
