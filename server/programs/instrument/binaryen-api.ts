/**
 * binaryen.js, typed for what the instrumentation uses. Its index.d.ts omits
 * the per-expression getters and setters (`binaryen.Store.getPtr`…) that the
 * JS exposes, and they are what makes a walk over a large module fast: one
 * call per field, where `getExpressionInfo` builds a whole object per node
 * (seconds on big modules, as the feasibility probe of issue 4 measured).
 * https://github.com/AssemblyScript/binaryen.js
 */
import binaryen from 'binaryen';

export type Ref = number;
export type Module = binaryen.Module;

type Get = (expr: Ref) => Ref;
type Set = (expr: Ref, value: Ref) => void;

/** The wrappers of one expression class: every getter and setter by name (only those we call are listed). */
interface ExpressionClass {
  [accessor: string]: ((...args: never[]) => unknown) | undefined;
}

interface Accessors {
  Block: { getNumChildren(e: Ref): number; getChildAt(e: Ref, i: number): Ref; setChildAt(e: Ref, i: number, v: Ref): void };
  Call: { getNumOperands(e: Ref): number; getOperandAt(e: Ref, i: number): Ref; setOperandAt(e: Ref, i: number, v: Ref): void; getTarget(e: Ref): string };
  CallIndirect: { getNumOperands(e: Ref): number; getOperandAt(e: Ref, i: number): Ref; setOperandAt(e: Ref, i: number, v: Ref): void; getTarget: Get; setTarget: Set };
  Store: { getPtr: Get; getValue: Get; getBytes(e: Ref): number; getOffset(e: Ref): number; getValueType(e: Ref): number };
  AtomicRMW: { getPtr: Get; getValue: Get; getBytes(e: Ref): number; getOffset(e: Ref): number };
  AtomicCmpxchg: { getPtr: Get; getExpected: Get; getReplacement: Get; getBytes(e: Ref): number; getOffset(e: Ref): number };
  SIMDLoadStoreLane: { getPtr: Get; getVec: Get; getOp(e: Ref): number; getOffset(e: Ref): number; isStore(e: Ref): boolean };
  MemoryFill: { getDest: Get; getValue: Get; getSize: Get };
  MemoryCopy: { getDest: Get; getSource: Get; getSize: Get };
  MemoryInit: { getDest: Get; getOffset: Get; getSize: Get; getSegment(e: Ref): string };
  MemoryGrow: { getDelta: Get };
  Loop: { getBody: Get; setBody: Set };
  Const: { getValueI32(e: Ref): number };
  Function: { getBody(f: number): Ref; setBody(f: number, body: Ref): void };
}

/** Accessors by class name, for the table-driven walk (ir-children.ts). */
export function expressionClass(name: string): ExpressionClass {
  const found = (binaryen as unknown as Record<string, ExpressionClass | undefined>)[name];
  if (!found) throw new Error(`binaryen.js has no ${name} wrapper (version mismatch?)`);
  return found;
}

export const B = binaryen as unknown as typeof binaryen & Accessors & {
  _BinaryenFunctionAddVar(func: number, type: number): number;
};

/** A data segment as binaryen.js's (untyped) `Module#getDataSegmentInfo` returns it. */
export interface DataSegmentInfo {
  name: string;
  offset: number | null;
  data: ArrayBuffer;
  passive: boolean;
}

/** The module's data segments (active ones with their constant offset). */
export function dataSegments(module: Module): DataSegmentInfo[] {
  const m = module as unknown as { getNumDataSegments(): number; getDataSegmentByIndex(i: number): number; getDataSegmentInfo(ref: number): DataSegmentInfo };
  const out: DataSegmentInfo[] = [];
  for (let i = 0; i < m.getNumDataSegments(); i++) out.push(m.getDataSegmentInfo(m.getDataSegmentByIndex(i)));
  return out;
}

export { binaryen };
