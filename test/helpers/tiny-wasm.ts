/**
 * The smallest WASI command: one page of memory and an empty `_start`. Tests
 * that drive the coordinator with scripted volunteers need a valid program to
 * post, not one that computes.
 */
export function emptyCommand(): Uint8Array {
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 0, 0]), // one type: () -> ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0x00, 1]), // one memory, min 1 page, no max
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('_start'), 0x00, 0]),
    ...section(10, [1, 2, 0, 0x0b]), // body: no locals, end
  ]);
}
