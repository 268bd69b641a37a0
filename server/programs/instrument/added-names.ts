/**
 * Internal (binaryen) names of what the instrumentation adds to a module. The
 * `ckpt$` prefix cannot clash with names binaryen reads from a binary, which
 * are either from the name section (C identifiers have no `$`) or numbered.
 */
export const Added = {
  safepoint: 'ckpt$safepoint',
  markWrite: 'ckpt$mark_write',
  tracker: 'ckpt$tracker',
  pageShift: 'ckpt$page_shift',
  epoch: 'ckpt$epoch',
  served: 'ckpt$served',
  request: 'ckpt$request',
  reserved: 'ckpt$reserved_pages',
  memorySize: 'ckpt$memory_size',
  memoryGrow: 'ckpt$memory_grow',
} as const;
