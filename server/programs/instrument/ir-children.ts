/**
 * The children of every expression kind the instrumentation may meet, as
 * getter/setter pairs of binaryen.js, so one walk can visit and replace any
 * subexpression. Kinds of features we never enable (GC, exceptions, strings,
 * stack switching) are refused: a module using them was rejected when read.
 */
import { B, expressionClass } from './binaryen-api.ts';
import type { Ref } from './binaryen-api.ts';
import { invalid } from '../wasm-binary.ts';

type Slot = { get: (e: Ref) => Ref; set: (e: Ref, v: Ref) => void };

function slots(className: string, fields: readonly string[]): Slot[] {
  const wrapper = expressionClass(className);
  return fields.map((field) => {
    const get = wrapper[`get${field}`] as ((e: Ref) => Ref) | undefined;
    const set = wrapper[`set${field}`] as ((e: Ref, v: Ref) => void) | undefined;
    if (!get || !set) throw new Error(`binaryen.js lacks ${className}.get/set${field}`);
    return { get, set };
  });
}

/** Fixed-arity kinds: their child fields, in evaluation order. */
const FIXED: ReadonlyMap<number, Slot[]> = new Map([
  [B.IfId, slots('If', ['Condition', 'IfTrue', 'IfFalse'])],
  [B.LoopId, slots('Loop', ['Body'])],
  [B.BreakId, slots('Break', ['Value', 'Condition'])],
  [B.SwitchId, slots('Switch', ['Value', 'Condition'])],
  [B.LocalSetId, slots('LocalSet', ['Value'])],
  [B.GlobalSetId, slots('GlobalSet', ['Value'])],
  [B.LoadId, slots('Load', ['Ptr'])],
  [B.StoreId, slots('Store', ['Ptr', 'Value'])],
  [B.AtomicRMWId, slots('AtomicRMW', ['Ptr', 'Value'])],
  [B.AtomicCmpxchgId, slots('AtomicCmpxchg', ['Ptr', 'Expected', 'Replacement'])],
  [B.AtomicWaitId, slots('AtomicWait', ['Ptr', 'Expected', 'Timeout'])],
  [B.AtomicNotifyId, slots('AtomicNotify', ['Ptr', 'NotifyCount'])],
  [B.SIMDExtractId, slots('SIMDExtract', ['Vec'])],
  [B.SIMDReplaceId, slots('SIMDReplace', ['Vec', 'Value'])],
  [B.SIMDShuffleId, slots('SIMDShuffle', ['Left', 'Right'])],
  [B.SIMDTernaryId, slots('SIMDTernary', ['A', 'B', 'C'])],
  [B.SIMDShiftId, slots('SIMDShift', ['Vec', 'Shift'])],
  [B.SIMDLoadId, slots('SIMDLoad', ['Ptr'])],
  [B.SIMDLoadStoreLaneId, slots('SIMDLoadStoreLane', ['Ptr', 'Vec'])],
  [B.MemoryInitId, slots('MemoryInit', ['Dest', 'Offset', 'Size'])],
  [B.MemoryCopyId, slots('MemoryCopy', ['Dest', 'Source', 'Size'])],
  [B.MemoryFillId, slots('MemoryFill', ['Dest', 'Value', 'Size'])],
  [B.UnaryId, slots('Unary', ['Value'])],
  [B.BinaryId, slots('Binary', ['Left', 'Right'])],
  [B.SelectId, slots('Select', ['IfTrue', 'IfFalse', 'Condition'])],
  [B.DropId, slots('Drop', ['Value'])],
  [B.ReturnId, slots('Return', ['Value'])],
  [B.MemoryGrowId, slots('MemoryGrow', ['Delta'])],
  [B.RefIsNullId, slots('RefIsNull', ['Value'])],
  [B.RefEqId, slots('RefEq', ['Left', 'Right'])],
  [B.TableGetId, slots('TableGet', ['Index'])],
  [B.TableSetId, slots('TableSet', ['Index', 'Value'])],
  [B.TableGrowId, slots('TableGrow', ['Value', 'Delta'])],
  [B.TupleExtractId, slots('TupleExtract', ['Tuple'])],
]);

/** Kinds without children. */
const LEAVES: ReadonlySet<number> = new Set([
  B.NopId, B.LocalGetId, B.GlobalGetId, B.ConstId, B.MemorySizeId, B.UnreachableId,
  B.AtomicFenceId, B.DataDropId, B.RefNullId, B.RefFuncId, B.TableSizeId,
]);

type Indexed = { count: (e: Ref) => number; get: (e: Ref, i: number) => Ref; set: (e: Ref, i: number, v: Ref) => void };

const BLOCK: Indexed = { count: (e) => B.Block.getNumChildren(e), get: (e, i) => B.Block.getChildAt(e, i), set: (e, i, v) => B.Block.setChildAt(e, i, v) };
const CALL: Indexed = { count: (e) => B.Call.getNumOperands(e), get: (e, i) => B.Call.getOperandAt(e, i), set: (e, i, v) => B.Call.setOperandAt(e, i, v) };
const CALL_INDIRECT: Indexed = {
  count: (e) => B.CallIndirect.getNumOperands(e),
  get: (e, i) => B.CallIndirect.getOperandAt(e, i),
  set: (e, i, v) => B.CallIndirect.setOperandAt(e, i, v),
};
const tupleMake = expressionClass('TupleMake');
const TUPLE: Indexed = {
  count: (e) => (tupleMake.getNumOperands as (e: Ref) => number)(e),
  get: (e, i) => (tupleMake.getOperandAt as (e: Ref, i: number) => Ref)(e, i),
  set: (e, i, v) => (tupleMake.setOperandAt as (e: Ref, i: number, v: Ref) => void)(e, i, v),
};

/**
 * Calls `visit` on each child of `expr` in evaluation order and stores what it
 * returns in the child's place (when it differs). Throws InvalidProgram on a
 * kind outside the features we accept.
 */
export function replaceChildren(expr: Ref, visit: (child: Ref) => Ref): void {
  const id = B.getExpressionId(expr);
  const fixed = FIXED.get(id);
  if (fixed) {
    for (const slot of fixed) {
      const child = slot.get(expr);
      if (!child) continue; // optional fields (a br without value, an if without else)
      const next = visit(child);
      if (next !== child) slot.set(expr, next);
    }
    return;
  }
  if (LEAVES.has(id)) return;
  const indexed = id === B.BlockId ? BLOCK : id === B.CallId ? CALL : id === B.CallIndirectId ? CALL_INDIRECT : id === B.TupleMakeId ? TUPLE : null;
  if (!indexed) throw invalid(`the program uses an instruction the instrumentation does not support (binaryen expression id ${id})`);
  const count = indexed.count(expr);
  for (let i = 0; i < count; i++) {
    const child = indexed.get(expr, i);
    const next = visit(child);
    if (next !== child) indexed.set(expr, i, next);
  }
  if (id === B.CallIndirectId) {
    // The table index is evaluated after the operands.
    const target = B.CallIndirect.getTarget(expr);
    const next = visit(target);
    if (next !== target) B.CallIndirect.setTarget(expr, next);
  }
}
