/**
 * A wasm global's value to JSON and back, exactly: i64 through a decimal
 * string (a bigint is not JSON), floats through their bit patterns (JSON has
 * no NaN, no infinities and no -0). A NaN's payload survives only as far as
 * the engine hands it to JS unchanged, which the spec does not promise.
 */
import type { GlobalType, GlobalValue } from '../../../shared/checkpointable-abi.ts';

const scratch = new DataView(new ArrayBuffer(8));

export function saveGlobal(global: WebAssembly.Global, type: GlobalType): GlobalValue {
  const value = global.value as number | bigint;
  switch (type) {
    case 'i32':
      return { type, value: value as number };
    case 'i64':
      return { type, value: (value as bigint).toString() };
    case 'f32':
      scratch.setFloat32(0, value as number, true);
      return { type, bits: scratch.getUint32(0, true) };
    case 'f64':
      scratch.setFloat64(0, value as number, true);
      return { type, bits: scratch.getBigUint64(0, true).toString(16) };
  }
}

export function loadGlobal(global: WebAssembly.Global, saved: GlobalValue): void {
  switch (saved.type) {
    case 'i32':
      global.value = saved.value;
      return;
    case 'i64':
      global.value = BigInt(saved.value);
      return;
    case 'f32':
      scratch.setUint32(0, saved.bits, true);
      global.value = scratch.getFloat32(0, true);
      return;
    case 'f64':
      scratch.setBigUint64(0, BigInt(`0x${saved.bits}`), true);
      global.value = scratch.getFloat64(0, true);
      return;
  }
}
