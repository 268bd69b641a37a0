/**
 * Compares what a module imports with what the runtime provides, before
 * instantiating it: a missing import fails the task at once with a message that
 * names it, instead of a LinkError or, worse, a program waiting on something
 * that never comes.
 */
import { TaskError } from './task-error.ts';

function providesKind(value: unknown, kind: WebAssembly.ImportExportKind): boolean {
  switch (kind) {
    case 'function':
      return typeof value === 'function';
    case 'memory':
      return value instanceof WebAssembly.Memory;
    case 'table':
      return value instanceof WebAssembly.Table;
    case 'global':
      return value instanceof WebAssembly.Global || typeof value === 'number' || typeof value === 'bigint';
    default:
      return false;
  }
}

/** The imports of `module` that `imports` does not provide (or provides as another kind). */
export function missingImports(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.ModuleImportDescriptor[] {
  return WebAssembly.Module.imports(module).filter((wanted) => {
    const namespace = imports[wanted.module];
    const value = namespace && Object.hasOwn(namespace, wanted.name) ? namespace[wanted.name] : undefined;
    return !providesKind(value, wanted.kind);
  });
}

/** Throws UnsupportedImport naming the first missing import (and how many more there are). */
export function checkImports(module: WebAssembly.Module, imports: WebAssembly.Imports): void {
  const missing = missingImports(module, imports);
  const [first] = missing;
  if (!first) return;
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
  throw new TaskError(
    'UnsupportedImport',
    `the program imports ${first.module}.${first.name} (${first.kind}), which the grid runtime does not provide${more}`,
  );
}
