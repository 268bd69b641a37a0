/** One connected volunteer page, as the scheduler sees it. */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';

/** What the scheduler needs from a volunteer's connection (a socket.io socket in production). */
export interface VolunteerLink {
  /** Sends a task; resolves when the volunteer accepted it, rejects if it refused or timed out. */
  assign(task: TaskAssignment): Promise<void>;
  /**
   * Tells the volunteer to stop a task whose lease it no longer holds.
   * `keepCheckpoints`: the task may come back to it (a coupled job's rollback), so its local checkpoints stay.
   */
  cancel(taskId: string, reason: string, keepCheckpoints?: boolean): void;
  /** Asks the volunteer to checkpoint this task, upload the checkpoint and halt it (migration, preemption). */
  halt(taskId: string, reason: 'migrate' | 'preempt'): void;
  /** Asks the volunteer to take a checkpoint of this task now. */
  checkpointNow(taskId: string): void;
  /** Message-layer frames for rank task `taskId` (held under `lease`) from rank `from`. */
  deliver(taskId: string, lease: string, from: number, data: Uint8Array): void;
  /** Coordinated checkpoint `round`: stop, checkpoint, enter the round's barrier. */
  roundCheckpoint(taskId: string, round: number): void;
  /** The round's barrier is open (or the round was aborted): go on. */
  roundRelease(taskId: string, round: number, aborted: boolean): void;
}

/** A checkpoint a volunteer said it holds locally (its hello). */
export interface HeldCheckpoint {
  seq: number;
  digest: string;
}

export class VolunteerSession {
  /** Tokens of the leases this session holds. */
  readonly leases = new Set<string>();
  paused = false;
  /**
   * A lease of it lapsed for want of heartbeats while it stayed connected (a
   * hung tab: its socket closes only at socket.io's ping timeout). It gets no
   * work until it heartbeats again.
   */
  silent = false;
  /** By task id: checkpoints it holds that the coordinator may give back to it to resume with no download. */
  readonly held = new Map<string, HeldCheckpoint>();

  constructor(
    readonly volunteerId: string,
    public name: string,
    public cores: number,
    public slots: number,
    readonly link: VolunteerLink,
  ) {}

  get free(): number {
    return this.paused || this.silent ? 0 : Math.max(0, this.slots - this.leases.size);
  }
}
