/**
 * The volunteer's link to the coordinator: socket.io on `/volunteer`, which
 * reconnects by itself. On every (re)connect it says hello with the leases it
 * still holds and the checkpoints it keeps locally, renews the leases with
 * heartbeats, and takes assignments while it has free slots.
 */
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { HEARTBEAT_MS } from '../../shared/limits.ts';
import type { Hello, ServerToVolunteer, TaskAssignment, VolunteerToServer } from '../../shared/volunteer-protocol.ts';
import { request } from './request.ts';

export type VolunteerSocket = Socket<ServerToVolunteer, VolunteerToServer>;

/** socket.io hands binary to the browser as an ArrayBuffer. */
function asBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0);
}

export interface ConnectionEvents {
  /** A task arrived; return false to refuse it (no free slot). */
  assigned(task: TaskAssignment): boolean;
  /** The coordinator no longer counts these leases as ours: stop their tasks. */
  lost(leases: string[]): void;
  /** The coordinator wants this task halted through a checkpoint (to move it, or to preempt it). */
  halt(taskId: string): void;
  /** The coordinator wants a checkpoint of this task now. */
  checkpointNow(taskId: string): void;
  /** Of the local checkpoints the hello reported, those the coordinator will never resume from. */
  forget(taskIds: string[]): void;
  /** The coordinator stopped this task (job cancelled, lease expired, its coupled job rolls back: then `keepCheckpoints`). */
  cancelled(taskId: string, keepCheckpoints: boolean): void;
  /** Frames for the rank running under `lease`. */
  delivered(lease: string, batch: Uint8Array): void;
  /** Coordinated checkpoint `round` of a rank. */
  roundCheckpoint(taskId: string, round: number): void;
  /** A rank may go on after its coordinated checkpoint. */
  roundRelease(taskId: string): void;
  /** Connected, disconnected, or a hello was answered. */
  changed(): void;
  disconnected?(): void;
}

export interface VolunteerIdentity {
  volunteerId: string;
  /** This browser's secret (identity.ts): without it the coordinator refuses a hello for an id it has seen with one. */
  secret: string;
  name: string;
  cores: number;
}

export class Connection {
  readonly socket: VolunteerSocket;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  welcomed = false;

  constructor(
    private readonly identity: VolunteerIdentity,
    private readonly slots: () => number,
    private readonly leases: () => string[],
    /** The checkpoints this page holds locally, for the hello. */
    private readonly held: () => Promise<Hello['held']>,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = io('/volunteer', { transports: ['websocket'], reconnectionDelayMax: 2_000 });
    this.socket.on('connect', () => void this.#hello());
    this.socket.on('disconnect', () => {
      this.welcomed = false;
      this.events.disconnected?.();
      clearInterval(this.#heartbeat);
      this.events.changed();
    });
    this.socket.on('task:assign', (task, ack) => {
      const accepted = this.welcomed && this.events.assigned(task);
      ack(accepted ? { ok: true, value: null } : { ok: false, error: { name: 'Conflict', message: 'no free slot' } });
    });
    this.socket.on('task:cancel', ({ taskId, keepCheckpoints }) => this.events.cancelled(taskId, keepCheckpoints === true));
    this.socket.on('rank:deliver', ({ lease, data }) => this.events.delivered(lease, asBytes(data)));
    this.socket.on('round:checkpoint', ({ taskId, round }) => this.events.roundCheckpoint(taskId, round));
    this.socket.on('round:release', ({ taskId }) => this.events.roundRelease(taskId));
    this.socket.on('task:halt', ({ taskId }) => this.events.halt(taskId));
    this.socket.on('task:checkpoint-now', ({ taskId }) => this.events.checkpointNow(taskId));
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Tells the coordinator how many tasks this page takes now (0 = paused). */
  async setSlots(slots: number): Promise<void> {
    if (this.socket.connected) await request(this.socket, 'slots', { slots });
  }

  /** Best-effort goodbye from `pagehide`. */
  leave(): void {
    this.socket.emit('leaving');
  }

  close(): void {
    clearInterval(this.#heartbeat);
    this.socket.close();
  }

  async #hello(): Promise<void> {
    try {
      const held = await this.held();
      const welcome = await request(this.socket, 'hello', {
        ...this.identity,
        slots: this.slots(),
        leases: this.leases(),
        held,
      });
      const kept = new Set(welcome.leases);
      this.events.lost(this.leases().filter((l) => !kept.has(l)));
      if (welcome.forget.length > 0) this.events.forget(welcome.forget);
      this.welcomed = true;
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => void this.#beat(), welcome.heartbeatMs || HEARTBEAT_MS);
    } catch (error) {
      console.warn('hello failed; reconnecting', error);
      this.socket.disconnect().connect();
    }
    this.events.changed();
  }

  async #beat(): Promise<void> {
    if (!this.socket.connected) return;
    try {
      const { lost } = await request(this.socket, 'heartbeat', { leases: this.leases() });
      if (lost.length > 0) this.events.lost(lost);
    } catch {
      // A missed heartbeat is retried by the next one; the lease outlives several.
    }
  }
}
