/**
 * A volunteer that speaks the real protocol over socket.io-client but runs no
 * program: the test decides what each task does. Used by integration tests and
 * by the dispatch benchmark's simulated volunteers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { Reply, ServerToVolunteer, TaskAssignment, VolunteerToServer, Welcome } from '../../shared/volunteer-protocol.ts';

export type VolunteerClientSocket = Socket<ServerToVolunteer, VolunteerToServer>;

export type TaskScript = (task: TaskAssignment, volunteer: ScriptedVolunteer) => void;

export interface ScriptedVolunteerOptions {
  slots?: number;
  name?: string;
  volunteerId?: string;
  /**
   * The secret its hello carries (server/scheduler/volunteer-secret.ts); null sends none, like an old client.
   * @default base64url SHA-256 of `scripted:<volunteerId>`, so a test reconnecting with the same id is the same browser
   */
  secret?: string | null;
  /** Called for each assignment; the default holds the task until the test acts. */
  onTask?: TaskScript;
  /** Send heartbeats (default true); false simulates a silent, frozen tab. */
  heartbeats?: boolean;
}

/** The secret a scripted volunteer with this id sends unless told otherwise: the same for every connection with that id. */
export function scriptedSecret(volunteerId: string): string {
  return createHash('sha256').update(`scripted:${volunteerId}`).digest('base64url');
}

export class ScriptedVolunteer {
  readonly socket: VolunteerClientSocket;
  readonly volunteerId: string;
  readonly secret: string | null;
  readonly tasks = new Map<string, TaskAssignment>();
  readonly cancelled: string[] = [];
  readonly protocolErrors: unknown[] = [];
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly url: string,
    readonly options: ScriptedVolunteerOptions = {},
  ) {
    this.volunteerId = options.volunteerId ?? `v${randomBytes(8).toString('hex')}`;
    this.secret = options.secret === undefined ? scriptedSecret(this.volunteerId) : options.secret;
    this.socket = io(`${url}/volunteer`, { transports: ['websocket'], forceNew: true, reconnection: false });
    this.socket.on('task:assign', (task, ack) => {
      this.tasks.set(task.taskId, task);
      ack({ ok: true, value: null });
      this.options.onTask?.(task, this);
    });
    this.socket.on('task:cancel', ({ taskId }) => {
      this.cancelled.push(taskId);
      this.tasks.delete(taskId);
    });
    this.socket.on('protocol:error', (e) => this.protocolErrors.push(e));
  }

  /** Connects and says hello; resolves with the welcome. */
  async start(): Promise<Welcome> {
    await new Promise<void>((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
    const welcome = await this.request<Welcome>('hello', {
      volunteerId: this.volunteerId,
      ...(this.secret !== null ? { secret: this.secret } : {}),
      name: this.options.name ?? 'scripted',
      cores: 2,
      slots: this.options.slots ?? 1,
      leases: [],
    });
    if (this.options.heartbeats !== false) {
      this.#heartbeat = setInterval(() => {
        void this.request('heartbeat', { leases: [...this.tasks.values()].map((t) => t.lease) }).catch(() => {});
      }, welcome.heartbeatMs);
    }
    return welcome;
  }

  /** Emits an event with an ack and unwraps the reply (throws `Name: message` on an error reply). */
  async request<T = unknown>(event: string, payload?: unknown): Promise<T> {
    const untyped = this.socket.timeout(5_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Reply<T>> };
    const reply = await untyped.emitWithAck(event, payload);
    if (!reply.ok) throw new Error(`${reply.error.name}: ${reply.error.message}`);
    return reply.value;
  }

  output(task: TaskAssignment, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.socket.emit('task:output', { taskId: task.taskId, lease: task.lease, stream, data: new TextEncoder().encode(text) });
  }

  async finish(task: TaskAssignment, exitCode = 0, result?: unknown): Promise<void> {
    this.tasks.delete(task.taskId);
    await this.request('task:finish', { taskId: task.taskId, lease: task.lease, exitCode, ...(result !== undefined ? { result } : {}) });
  }

  /** Resolves once `count` tasks have been assigned to this volunteer in total. */
  async waitForTasks(count: number, timeoutMs = 10_000): Promise<TaskAssignment[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.tasks.size < count) {
      if (Date.now() > deadline) throw new Error(`volunteer ${this.volunteerId}: ${this.tasks.size} of ${count} tasks`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return [...this.tasks.values()];
  }

  close(): void {
    clearInterval(this.#heartbeat);
    this.socket.close();
  }
}
