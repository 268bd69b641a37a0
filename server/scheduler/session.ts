/** One connected volunteer page, as the scheduler sees it. */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';

/** What the scheduler needs from a volunteer's connection (a socket.io socket in production). */
export interface VolunteerLink {
  /** Sends a task; resolves when the volunteer accepted it, rejects if it refused or timed out. */
  assign(task: TaskAssignment): Promise<void>;
  /** Tells the volunteer to stop a task whose lease it no longer holds. */
  cancel(taskId: string, reason: string): void;
  /** Asks the volunteer to checkpoint this task, upload the checkpoint and halt it (migration). */
  migrate(taskId: string): void;
}

export class VolunteerSession {
  /** Tokens of the leases this session holds. */
  readonly leases = new Set<string>();
  paused = false;

  constructor(
    readonly volunteerId: string,
    public name: string,
    public cores: number,
    public slots: number,
    readonly link: VolunteerLink,
  ) {}

  get free(): number {
    return this.paused ? 0 : Math.max(0, this.slots - this.leases.size);
  }
}
