/**
 * The coordinator's HTTP API (API.md) as typed functions: JSON in and out,
 * the bearer token on every request that has one, and server errors rebuilt
 * as ApiError with the server's own name and message.
 */
import type {
  JobOutput,
  JobSummary,
  JobView,
  PostJobBody,
  ProgramInfo,
  VolunteerView,
} from '../../shared/http-api.ts';
import { getToken, rejectToken } from './token.ts';

/** A request that has not answered by then is abandoned with an error. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Uploads of programs up to 32 MiB get longer. */
const UPLOAD_TIMEOUT_MS = 120_000;

/** An error answered by the server (`{error: {name, message}}`) or met on the way. */
export class ApiError extends Error {
  override readonly name: string;
  readonly status: number;

  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.status = status;
  }
}

interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: BodyInit;
  contentType?: string;
  timeoutMs?: number;
}

async function readError(response: Response): Promise<ApiError> {
  let name = 'HttpError';
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    const error = (body as { error?: { name?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.name === 'string') name = error.name;
    if (typeof error?.message === 'string') message = error.message;
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  return new ApiError(name, message, response.status);
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.contentType) headers['Content-Type'] = options.contentType;

  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body ?? null,
      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    throw new ApiError(
      'NetworkError',
      timedOut ? 'The coordinator did not answer in time.' : 'Cannot reach the coordinator.',
      0,
    );
  }

  if (!response.ok) {
    const error = await readError(response);
    if (response.status === 401) {
      rejectToken(token ? 'The coordinator refused this token.' : 'That needs the coordinator’s token.');
    }
    throw error;
  }
  return (await response.json()) as T;
}

function postJson<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, { method: 'POST', body: JSON.stringify(body), contentType: 'application/json' });
}

const jobPath = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

export const listPrograms = () => request<ProgramInfo[]>('/api/programs');
export const listJobs = () => request<JobSummary[]>('/api/jobs');
export const getJob = (id: string) => request<JobView>(jobPath(id));
export const getJobOutput = (id: string) => request<JobOutput>(`${jobPath(id)}/output`);
export const listVolunteers = () => request<VolunteerView[]>('/api/volunteers');

export const postJob = (body: PostJobBody) => postJson<{ id: string }>('/api/jobs', body);

export type JobAction = 'preempt' | 'resume' | 'cancel' | 'checkpoint';

/** Asks the coordinator to act on a job; it answers 202 once it has taken the request. */
export const postJobAction = (id: string, action: JobAction) =>
  postJson<{ ok: true }>(`${jobPath(id)}/${action}`, {});

/** Checkpoint, halt and resume one task on another volunteer. */
export const migrateTask = (id: string, index: number) =>
  postJson<{ ok: true }>(`${jobPath(id)}/tasks/${index}/migrate`, {});

export interface UploadedProgram {
  id: string;
  name: string;
  format: 'wasm' | 'js';
  size: number;
}

/** Uploads a `.wasm` or `.js` file as raw bytes; the format follows the file name. */
export function uploadProgram(file: File): Promise<UploadedProgram> {
  const isJs = /\.m?js$/i.test(file.name);
  return request<UploadedProgram>(`/api/programs?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    body: file,
    contentType: isJs ? 'text/javascript' : 'application/wasm',
    timeoutMs: UPLOAD_TIMEOUT_MS,
  });
}

/** The message to show for anything a call threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
