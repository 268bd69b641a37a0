/**
 * Benchmark helpers in child Node processes (so that load generators and the
 * coordinator do not share one event loop), talking over the IPC channel with
 * `{type, …}` messages. Children run TypeScript through tsx like the runner.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Message {
  type: string;
}

/** How long a child gets to exit after `close` before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000;

export interface ChildOptions {
  env?: Record<string, string>;
  /** Extra Node flags (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

/** The parent's end of a child process. `In` is what the child sends, `Out` what it receives. */
export class Child<In extends Message, Out extends Message> {
  readonly #process: ChildProcess;
  readonly #waiting = new Map<string, Array<{ resolve(m: In): void; reject(e: Error): void }>>();
  readonly #listeners = new Map<string, Array<(m: In) => void>>();
  #exited: Error | undefined;
  readonly #exit: Promise<void>;

  constructor(
    readonly label: string,
    file: URL,
    options: ChildOptions = {},
  ) {
    this.#process = fork(file, [], {
      execArgv: ['--import', 'tsx', ...(options.nodeArgs ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#process.on('message', (message: In) => {
      for (const listener of this.#listeners.get(message.type) ?? []) listener(message);
      const next = this.#waiting.get(message.type)?.shift();
      next?.resolve(message);
    });
    this.#exit = new Promise((resolve) => {
      this.#process.once('exit', (code, signal) => {
        this.#exited = new Error(`${label} exited (${signal ?? `code ${code}`})`);
        for (const waiters of this.#waiting.values()) for (const w of waiters.splice(0)) w.reject(this.#exited);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  send(message: Out): void {
    if (!this.#exited) this.#process.send(message);
  }

  on<T extends In['type']>(type: T, listener: (message: Extract<In, { type: T }>) => void): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener as (m: In) => void);
    this.#listeners.set(type, list);
  }

  /** The next message of that type (rejects if the child exits first or the time runs out). */
  next<T extends In['type']>(type: T, timeoutMs = 30_000): Promise<Extract<In, { type: T }>> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: In) => {
          clearTimeout(timer);
          resolve(m as Extract<In, { type: T }>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const list = this.#waiting.get(type) ?? [];
        list.splice(list.indexOf(waiter), 1);
        reject(new Error(`${this.label}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(type, [...(this.#waiting.get(type) ?? []), waiter]);
    });
  }

  /** Sends `request` and waits for the answer of type `reply`. */
  async ask<T extends In['type']>(request: Out, reply: T, timeoutMs?: number): Promise<Extract<In, { type: T }>> {
    const answer = this.next(reply, timeoutMs);
    this.send(request);
    return answer;
  }

  /** Asks the child to close (`{type: 'close'}` must be in `Out`), then kills it if it lingers. */
  async close(closeMessage: Out): Promise<void> {
    if (this.#exited) return;
    this.send(closeMessage);
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.#exit;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.#exited) this.#process.kill('SIGKILL');
  }
}

/** The child's end: messages to and from the parent; it exits if the parent goes away. */
export function parentChannel<In extends Message, Out extends Message>(handle: (message: In) => void | Promise<void>) {
  if (!process.send) throw new Error('this module runs as a child process with an IPC channel (see Child)');
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: In) => {
    Promise.resolve(handle(message)).catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  return {
    send(message: Out): void {
      process.send!(message);
    },
  };
}
