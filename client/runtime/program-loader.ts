/**
 * Gets a task's program. On a volunteer page the page has fetched the bytes
 * and passes them in the spec (the compute worker has no network: its CSP
 * and global-lockdown.ts): wasm is compiled from them, and a JS module is
 * imported from a blob: URL made of them, the one kind of script the
 * worker's CSP allows. Without bytes (Node tests, harness workers) the
 * loader fetches wasm (streaming when it is labelled application/wasm) and
 * imports JS modules by URL.
 */
import type { JsProgram } from './js-program.ts';
import { asJsProgram } from './js-program.ts';
import { TaskError } from './task-error.ts';

export interface ProgramLoader {
  /** `bytes`: the program as the page fetched it from `url`; absent, the loader fetches it. */
  wasm(url: string, bytes?: ArrayBuffer): Promise<WebAssembly.Module>;
  js(url: string, bytes?: ArrayBuffer): Promise<JsProgram>;
}

async function fetchProgram(url: string): Promise<Response> {
  let response: Response;
  try {
    if (typeof fetch !== 'function') throw new Error('this worker has no network: the page must pass the program bytes');
    response = await fetch(url);
  } catch (error) {
    throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: HTTP ${response.status}`);
  return response;
}

async function compile(source: Response | ArrayBuffer): Promise<WebAssembly.Module> {
  try {
    if (source instanceof ArrayBuffer) return await WebAssembly.compile(source);
    const type = source.headers.get('Content-Type') ?? '';
    if (type.startsWith('application/wasm')) return await WebAssembly.compileStreaming(source);
    return await WebAssembly.compile(await source.arrayBuffer());
  } catch (error) {
    if (error instanceof TaskError) throw error;
    throw new TaskError('InvalidProgram', `not a valid WebAssembly module: ${(error as Error).message}`);
  }
}

/** Imports an ES module from its source text (a blob: URL, revoked once loaded). */
async function importSource(bytes: ArrayBuffer): Promise<unknown> {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'text/javascript' }));
  try {
    return await import(/* @vite-ignore */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

export const fetchLoader: ProgramLoader = {
  wasm: async (url, bytes) => compile(bytes ?? (await fetchProgram(url))),
  js: async (url, bytes) => {
    let namespace: unknown;
    try {
      namespace = await (bytes ? importSource(bytes) : import(url));
    } catch (error) {
      throw new TaskError('InvalidProgram', `cannot load the JS program ${url}: ${(error as Error).message}`);
    }
    return asJsProgram(namespace);
  },
};
