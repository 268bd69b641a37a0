/**
 * Gets a task's program: the worker fetches and compiles wasm itself (streaming
 * when the server labels it application/wasm) and imports JS modules by URL.
 */
import type { JsProgram } from './js-program.ts';
import { asJsProgram } from './js-program.ts';
import { TaskError } from './task-error.ts';

export interface ProgramLoader {
  wasm(url: string): Promise<WebAssembly.Module>;
  js(url: string): Promise<JsProgram>;
}

async function fetchProgram(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new TaskError('ProgramUnavailable', `cannot fetch ${url}: HTTP ${response.status}`);
  return response;
}

async function compile(response: Response): Promise<WebAssembly.Module> {
  try {
    const type = response.headers.get('Content-Type') ?? '';
    if (type.startsWith('application/wasm')) return await WebAssembly.compileStreaming(response);
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof TaskError) throw error;
    throw new TaskError('InvalidProgram', `not a valid WebAssembly module: ${(error as Error).message}`);
  }
}

export const fetchLoader: ProgramLoader = {
  wasm: async (url) => compile(await fetchProgram(url)),
  js: async (url) => {
    let namespace: unknown;
    try {
      namespace = await import(url);
    } catch (error) {
      throw new TaskError('InvalidProgram', `cannot load the JS program ${url}: ${(error as Error).message}`);
    }
    return asJsProgram(namespace);
  },
};
