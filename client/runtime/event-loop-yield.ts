/**
 * Lets a long run of synchronous steps give the worker's event loop a turn (so
 * timers fire and messages, such as a later checkpoint request, are handled).
 * A MessageChannel round trip is a macrotask without setTimeout's 4 ms clamp.
 * https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers (nesting clamp)
 */
export interface Yielder {
  yield(): Promise<void>;
  /** Closes the channel (in Node an open port keeps the process alive). */
  close(): void;
}

export function createYielder(): Yielder {
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return {
    yield: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(null);
      }),
    close: () => {
      channel.port1.close();
      channel.port2.close();
    },
  };
}
