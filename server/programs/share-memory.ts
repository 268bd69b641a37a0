/**
 * Makes a program's linear memory the task's process memory: the module's own
 * memory (defined, or imported under any name) becomes an import `env.memory`
 * that is shared and has a maximum, so the runtime can hand it a
 * SharedArrayBuffer-backed WebAssembly.Memory that the page-dirty tracker and the
 * checkpoint worker can see (DESIGN.md §3–4). Nothing else in the module changes.
 */
import { IMPORT_KIND, Reader, SECTION, encodeName, encodeU32, invalid, readSections, writeSections } from './wasm-binary.ts';
import type { Section } from './wasm-binary.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';


const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const LIMITS_MEMORY64 = 0x04;

function readLimits(reader: Reader): { initial: number; maximum?: number } {
  const flags = reader.byte();
  if (flags & LIMITS_MEMORY64) throw invalid('64-bit memories are not supported');
  const initial = reader.u32();
  return flags & LIMITS_HAS_MAX ? { initial, maximum: reader.u32() } : { initial };
}

function skipImportDesc(reader: Reader, kind: number): void {
  switch (kind) {
    case IMPORT_KIND.function:
      reader.u32(); // type index
      return;
    case IMPORT_KIND.tag:
      reader.byte(); // attribute
      reader.u32(); // type index
      return;
    case IMPORT_KIND.table:
      reader.byte();
      readLimits(reader);
      return;
    case IMPORT_KIND.global:
      reader.byte();
      reader.byte();
      return;
    default:
      throw invalid(`unknown import kind ${kind}`);
  }
}

function memoryImport(limits: MemoryLimits): number[] {
  return [
    ...encodeName('env'),
    ...encodeName('memory'),
    IMPORT_KIND.memory,
    LIMITS_HAS_MAX | LIMITS_SHARED,
    ...encodeU32(limits.initial),
    ...encodeU32(limits.maximum),
  ];
}

function clampLimits(found: { initial: number; maximum?: number }, maxPages: number): MemoryLimits {
  if (found.initial > maxPages) {
    throw invalid(`the program needs ${found.initial} memory pages at start; the limit is ${maxPages}`);
  }
  return { initial: found.initial, maximum: Math.min(found.maximum ?? maxPages, maxPages) };
}

/** Rewrites the import section: every import copied, a memory import replaced or appended. */
function rewriteImports(body: Uint8Array | undefined, limitsFromDefined: (() => MemoryLimits) | null, maxPages: number) {
  const entries: number[][] = [];
  let limits: MemoryLimits | null = null;
  if (body) {
    const reader = new Reader(body);
    const count = reader.u32();
    for (let i = 0; i < count; i++) {
      const start = reader.offset;
      reader.name();
      reader.name();
      const kind = reader.byte();
      if (kind === IMPORT_KIND.memory) {
        if (limits) throw invalid('the program has more than one memory');
        limits = clampLimits(readLimits(reader), maxPages);
        entries.push(memoryImport(limits));
      } else {
        skipImportDesc(reader, kind);
        entries.push([...body.subarray(start, reader.offset)]);
      }
    }
  }
  if (limitsFromDefined) {
    if (limits) throw invalid('the program has more than one memory');
    limits = limitsFromDefined();
    entries.push(memoryImport(limits));
  }
  if (!limits) throw invalid('the program has no memory; a WASI command exports one');
  const out = [...encodeU32(entries.length), ...entries.flat()];
  return { body: Uint8Array.from(out), limits };
}

/** Returns the module with its memory imported as shared `env.memory`, and that memory's limits. */
export function shareMemory(bytes: Uint8Array, maxPages: number): { bytes: Uint8Array; memory: MemoryLimits } {
  const sections = readSections(bytes);
  const memoryIndex = sections.findIndex((s) => s.id === SECTION.memory);
  let defined: (() => MemoryLimits) | null = null;
  if (memoryIndex >= 0) {
    const reader = new Reader(sections[memoryIndex]!.body);
    const count = reader.u32();
    if (count > 1) throw invalid('the program has more than one memory');
    if (count === 1) {
      const found = readLimits(reader);
      defined = () => clampLimits(found, maxPages);
    }
  }
  const importIndex = sections.findIndex((s) => s.id === SECTION.import);
  const { body, limits } = rewriteImports(sections[importIndex]?.body, defined, maxPages);
  const rewritten: Section[] = sections.filter((s) => s.id !== SECTION.memory && s.id !== SECTION.import);
  // The import section goes after the type section and before every other non-custom one.
  const firstAfterImports = rewritten.findIndex((s) => s.id !== SECTION.custom && s.id !== SECTION.type);
  rewritten.splice(firstAfterImports < 0 ? rewritten.length : firstAfterImports, 0, { id: SECTION.import, body });
  return { bytes: writeSections(rewritten), memory: limits };
}
