/**
 * binaryen's Asyncify pass, limited to the imports where the stack may
 * unwind: the safepoint, and the grid's blocking calls (so a later runtime can
 * suspend inside them). Functions that cannot reach one of those are left
 * alone. Indirect calls are assumed to reach one (the default): ignoring them
 * is only safe when no poll is reachable through a table, which we do not
 * prove. Optimize level 2, as the feasibility probe found level 0 far slower.
 * https://github.com/WebAssembly/binaryen/blob/main/src/passes/Asyncify.cpp
 */
import { CKPT_MODULE, CkptImport } from '../../../shared/checkpointable-abi.ts';
import { BLOCKING_GRID_FUNCTIONS, GRID_MODULE } from '../../../shared/program-imports.ts';
import { binaryen } from './binaryen-api.ts';
import type { Module } from './binaryen-api.ts';

/** Runs `work` with binaryen's global optimize settings set, and restores them (they are process-wide). */
export function withOptimizeLevel<T>(level: number, work: () => T): T {
  const optimize = binaryen.getOptimizeLevel();
  const shrink = binaryen.getShrinkLevel();
  binaryen.setOptimizeLevel(level);
  binaryen.setShrinkLevel(0);
  try {
    return work();
  } finally {
    binaryen.setOptimizeLevel(optimize);
    binaryen.setShrinkLevel(shrink);
  }
}

export function runAsyncify(m: Module): void {
  const unwindable = [`${CKPT_MODULE}.${CkptImport.SAFEPOINT}`, ...BLOCKING_GRID_FUNCTIONS.map((name) => `${GRID_MODULE}.${name}`)];
  binaryen.setPassArgument('asyncify-imports', unwindable.join(','));
  try {
    m.runPasses(['asyncify']);
  } finally {
    binaryen.setPassArgument('asyncify-imports', null);
  }
}
