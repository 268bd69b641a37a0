/**
 * Just enough of the WebAssembly binary format to split a module into sections
 * and to read and write the LEB128 integers and names inside them.
 * https://webassembly.github.io/spec/core/binary/modules.html
 */
import { concatBytes } from '../../shared/bytes.ts';
import { GridError } from '../../shared/errors.ts';

export const SECTION = { custom: 0, type: 1, import: 2, function: 3, memory: 5 } as const;
export const IMPORT_KIND = { function: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;

export interface Section {
  id: number;
  body: Uint8Array;
}

/** A cursor over bytes that throws InvalidProgram when it runs off the end. */
export class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw invalid('unexpected end of module');
    return this.bytes[this.offset++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw invalid('malformed LEB128 integer');
  }

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw invalid('unexpected end of module');
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  name(): string {
    return new TextDecoder().decode(this.take(this.u32()));
  }
}

export function invalid(message: string): GridError {
  return new GridError('InvalidProgram', message);
}

export function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

export function encodeName(name: string): number[] {
  const bytes = new TextEncoder().encode(name);
  return [...encodeU32(bytes.length), ...bytes];
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || HEADER.some((b, i) => bytes[i] !== b)) {
    throw invalid('not a WebAssembly module (bad magic number or version)');
  }
  const reader = new Reader(bytes.subarray(8));
  const sections: Section[] = [];
  while (!reader.done) {
    const id = reader.byte();
    sections.push({ id, body: reader.take(reader.u32()) });
  }
  return sections;
}

export function writeSections(sections: readonly Section[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from(HEADER)];
  for (const s of sections) parts.push(Uint8Array.from([s.id, ...encodeU32(s.body.length)]), s.body);
  return concatBytes(parts);
}

/** The payload of the first custom section called `name` (the instrumentation's `ckpt.info`), if any; no compile needed. */
export function customSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  for (const section of readSections(bytes)) {
    if (section.id !== SECTION.custom) continue;
    const reader = new Reader(section.body);
    if (reader.name() === name) return section.body.subarray(reader.offset);
  }
  return undefined;
}
