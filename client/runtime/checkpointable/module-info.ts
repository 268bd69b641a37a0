/**
 * Reads what the coordinator's instrumentation recorded about a module (its
 * custom section, shared/checkpointable-abi.ts): which parts it has, where
 * the data segments land, the program's mutable globals.
 */
import { CHECKPOINTABLE_ABI, CKPT_SECTION } from '../../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo } from '../../../shared/checkpointable-abi.ts';
import { TaskError } from '../task-error.ts';

export function readModuleInfo(module: WebAssembly.Module): CkptModuleInfo {
  const [section] = WebAssembly.Module.customSections(module, CKPT_SECTION);
  if (!section) throw new TaskError('InvalidProgram', `the module was not instrumented for checkpoints (no ${CKPT_SECTION} section)`);
  const info = JSON.parse(new TextDecoder().decode(section)) as CkptModuleInfo;
  if (info.abi !== CHECKPOINTABLE_ABI) {
    throw new TaskError('InvalidProgram', `the module was instrumented for checkpoint ABI ${info.abi}; this runtime speaks ${CHECKPOINTABLE_ABI}`);
  }
  return info;
}
