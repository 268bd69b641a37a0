/** The HTTP API as tests and scripts use it: JSON in, JSON out, the token on every call. */
import type { JobOutput, JobSummary, JobView, PostJobBody, ProgramInfo, VolunteerView } from '../../shared/http-api.ts';

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = {
      method,
      headers: {
        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined && !(body instanceof Uint8Array) ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
    };
    if (body instanceof Uint8Array) init.body = body as Uint8Array<ArrayBuffer>;
    else if (typeof body === 'string') init.body = body;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(this.baseUrl + path, init);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** Like `call`, but any status other than `expected` throws with the error body. */
  async ok<T>(method: string, path: string, body?: unknown, expected = 200, headers?: Record<string, string>): Promise<T> {
    const response = await this.call<T>(method, path, body, headers);
    if (response.status !== expected) {
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  postProgram(bytes: Uint8Array, format: 'wasm' | 'js', name: string) {
    const type = format === 'wasm' ? 'application/wasm' : 'text/javascript';
    return this.ok<ProgramInfo>('POST', `/api/programs?name=${encodeURIComponent(name)}`, bytes, 201, { 'Content-Type': type });
  }

  postJob(body: PostJobBody) {
    return this.ok<{ id: string }>('POST', '/api/jobs', body, 201);
  }

  job(id: string) {
    return this.ok<JobView>('GET', `/api/jobs/${id}`);
  }

  jobs() {
    return this.ok<JobSummary[]>('GET', '/api/jobs');
  }

  output(id: string) {
    return this.ok<JobOutput>('GET', `/api/jobs/${id}/output`);
  }

  volunteers() {
    return this.ok<VolunteerView[]>('GET', '/api/volunteers');
  }

  /** Polls the job until `done` says so (or the time runs out). */
  async waitForJob(id: string, done: (job: JobView) => boolean, timeoutMs = 30_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`timed out waiting for job ${id}: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  waitForState(id: string, state: JobView['state'], timeoutMs?: number) {
    return this.waitForJob(id, (job) => job.state === state, timeoutMs);
  }
}
