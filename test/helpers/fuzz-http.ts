/**
 * Random and adversarial HTTP requests for every route of the coordinator:
 * GET and POST (and methods no route has), with the token, without it or
 * with a wrong one, with random JSON, bytes, invalid UTF-8, nesting too deep
 * to parse cheaply, and ids of real jobs and programs mixed with made-up ones.
 */
import { deepJson, adversarialValue, int, pick, randomBytes, randomString } from './fuzz-values.ts';
import type { Rng } from './fuzz-values.ts';

export interface HttpTargets {
  jobIds: string[];
  programIds: string[];
  token: string;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const NASTY_SEGMENTS = ['..', '%2e%2e', '%E0%A4%A', '%00', '__proto__', 'constructor', 'NaN', '-1', '1e309', '9'.repeat(30), ' ', '%20', '😀'];

/** encodeURIComponent throws on a lone surrogate: those become U+FFFD first. */
const encode = (text: string) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));

function id(rng: Rng, real: string[]): string {
  return rng() < 0.6 && real.length ? pick(rng, real) : encode(pick(rng, [...NASTY_SEGMENTS.map(decodeSafe), randomString(rng, 6)]));
}

function decodeSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function path(rng: Rng, t: HttpTargets): string {
  const job = () => id(rng, t.jobIds);
  const templates = [
    () => '/api/health',
    () => '/api/jobs',
    () => `/api/jobs/${job()}`,
    () => `/api/jobs/${job()}/output`,
    () => `/api/jobs/${job()}/${pick(rng, ['cancel', 'preempt', 'resume', 'checkpoint'])}`,
    () => `/api/jobs/${job()}/tasks/${pick(rng, ['0', '1', '-1', '1e3', 'x', '99999999999999999999'])}/migrate`,
    () => `/api/programs${rng() < 0.5 ? `?name=${encode(randomString(rng, int(rng, 0, 300)))}` : ''}`,
    () => `/api/programs/${id(rng, t.programIds)}/bytes`,
    () => '/api/volunteers',
    () => pick(rng, ['/', '/volunteer', '/index.html', '/build/', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/%E0%A4%A', '/api/', '/api/nope']),
    () => `/${pick(rng, NASTY_SEGMENTS)}/${pick(rng, NASTY_SEGMENTS)}`,
  ];
  return pick(rng, templates)();
}

function body(rng: Rng, t: HttpTargets): { body?: string | Uint8Array; type?: string } {
  const roll = rng();
  const job = { program: pick(rng, ['empty', ...t.programIds, randomString(rng, 5)]), args: ['x'], tasks: [{ args: [] }] };
  if (roll < 0.3) {
    const mutated: Record<string, unknown> = { ...job };
    mutated[pick(rng, ['program', 'args', 'tasks', 'ranks', 'priority', 'env', 'pageSize', 'redundancy', '__proto__', 'extra'])] = adversarialValue(rng);
    return { body: JSON.stringify(mutated), type: 'application/json' };
  }
  if (roll < 0.55) return { body: JSON.stringify(adversarialValue(rng)) ?? '', type: 'application/json' };
  if (roll < 0.65) return { body: deepJson(int(rng, 100, 200_000), rng() < 0.5), type: 'application/json' };
  if (roll < 0.75) return { body: randomBytes(rng, int(rng, 0, 4096)), type: pick(rng, ['application/wasm', 'text/javascript', 'application/octet-stream']) };
  if (roll < 0.82) return { body: Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0x7b]), type: pick(rng, ['application/json', 'text/javascript']) };
  if (roll < 0.9) return { body: 'function init() {} // no step', type: 'text/javascript' };
  return {};
}

export function fuzzRequest(rng: Rng, t: HttpTargets): FuzzRequest {
  const roll = rng();
  const method = roll < 0.4 ? 'GET' : roll < 0.95 ? 'POST' : pick(rng, ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
  const headers: Record<string, string> = {};
  const auth = rng();
  if (auth < 0.5) headers.Authorization = `Bearer ${t.token}`;
  else if (auth < 0.75) headers.Authorization = pick(rng, ['Bearer wrong', 'Bearer ', 'Basic dGVzdA==', `Bearer ${t.token}x`, `bearer ${t.token}`]);
  const request: FuzzRequest = { method, path: path(rng, t), headers };
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const { body: payload, type } = body(rng, t);
    if (payload !== undefined) request.body = payload;
    if (type) headers['Content-Type'] = type;
  }
  return request;
}
