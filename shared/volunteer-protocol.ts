/**
 * The `/volunteer` socket.io namespace: event maps for both directions and the
 * schemas the coordinator validates every inbound payload with. The page and the
 * coordinator take the same maps reversed (socket.io's typed events).
 */
import { z } from 'zod';
import type { SerializedError } from './errors.ts';
import type { CheckpointManifest } from './checkpoint-format.ts';
import { MAX_OUTPUT_CHUNK_BYTES, MAX_RANKS, MAX_RELAY_BYTES, MAX_RESULT_BYTES, MAX_SEGMENT_BYTES } from './limits.ts';
import type { ProgramFormat } from './states.ts';

/** Every request/response over a socket answers with one of these. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: SerializedError };
export type Ack<T> = (reply: Reply<T>) => void;

const id = z.string().min(1).max(128);

/** Binary data (socket.io hands it over as a Buffer, a Uint8Array) of `min` to `max` bytes. */
const bytes = (min: number, max: number) =>
  z
    .custom<Uint8Array>((d) => d instanceof Uint8Array, 'expected binary data')
    .refine((d) => d.byteLength >= min && d.byteLength <= max, { message: min === 0 ? `expected at most ${max} bytes` : `expected ${min} to ${max} bytes` });

export const helloSchema = z.strictObject({
  /** Stable per browser profile and tab slot (kept in localStorage, claimed with a Web Lock). */
  volunteerId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8–64 characters from A–Z, a–z, 0–9, _ and -'),
  /**
   * A random secret kept next to the browser id in localStorage: the first
   * hello that carries one pins it to the volunteer id, and a later hello for
   * that id must carry it too, so a public volunteer id cannot be used to
   * replace another browser's session. Optional for old clients (an id with no
   * pinned secret stays open to any hello).
   */
  secret: z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'expected 22–128 characters from A–Z, a–z, 0–9, _ and -').optional(),
  name: z.string().max(100),
  cores: z.number().int().min(1).max(1024),
  /** Tasks it will run at once. */
  slots: z.number().int().min(0).max(256),
  /** Leases it still holds from before a reconnect (the coordinator keeps the valid ones). */
  leases: z.array(id).max(256).default([]),
  /**
   * The newest checkpoint of each task in its IndexedDB (a reopened tab): the
   * coordinator gives such a task back to it when that is the task's newest
   * acknowledged checkpoint, to resume with no download.
   */
  held: z
    .array(z.strictObject({ taskId: id, seq: z.number().int().min(1), digest: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256') }))
    .max(4096)
    .default([]),
});
export type Hello = z.input<typeof helloSchema>;
/** A hello as the coordinator sees it, after validation and defaults. */
export type ParsedHello = z.output<typeof helloSchema>;

export interface Welcome {
  volunteerId: string;
  heartbeatMs: number;
  leaseMs: number;
  /** Of the leases reported in `hello`, the ones still valid: keep running those tasks. */
  leases: string[];
  /** Of the tasks `held` names, those no checkpoint held here will resume: their local checkpoints can go. */
  forget: string[];
}

export const slotsSchema = z.strictObject({ slots: z.number().int().min(0).max(256) });

export const heartbeatSchema = z.strictObject({ leases: z.array(id).max(256) });

export const progressSchema = z.strictObject({
  taskId: id,
  lease: id,
  progress: z.number().min(0).max(1),
});

export const outputSchema = z.strictObject({
  taskId: id,
  lease: id,
  stream: z.enum(['stdout', 'stderr']),
  data: bytes(0, MAX_OUTPUT_CHUNK_BYTES),
});

const jsonValue: z.ZodType<unknown> = z.unknown().refine((v) => {
  try {
    return JSON.stringify(v ?? null).length <= MAX_RESULT_BYTES;
  } catch {
    return false;
  }
}, `expected a JSON value of at most ${MAX_RESULT_BYTES} bytes`);

export const finishSchema = z.strictObject({
  taskId: id,
  lease: id,
  exitCode: z.number().int().min(-2147483648).max(4294967295),
  result: jsonValue.optional(),
});

export const failSchema = z.strictObject({
  taskId: id,
  lease: id,
  error: z.strictObject({ name: z.string().max(200), message: z.string().max(10_000) }),
});

/** A checkpoint the volunteer committed locally (its IndexedDB): what the job page shows. */
export const checkpointReportSchema = z.strictObject({
  taskId: id,
  lease: id,
  seq: z.number().int().min(1),
  pages: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** Suspension to resume, in ms. */
  stopMs: z.number().min(0).max(3_600_000),
  /** Suspension to the manifest being durable, in ms. */
  saveMs: z.number().min(0).max(3_600_000),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

/** Which of these checkpoint segments the coordinator lacks (an upload sends only those). */
export const segmentsMissingSchema = z.strictObject({ taskId: id, lease: id, hashes: z.array(sha256).max(100_000) });

/** One checkpoint segment; the coordinator checks `hash` against the bytes before keeping them. */
export const segmentUploadSchema = z.strictObject({
  taskId: id,
  lease: id,
  hash: sha256,
  data: bytes(1, MAX_SEGMENT_BYTES),
});

/** A checkpoint's manifest, after its segments: acknowledged once durable on the coordinator (checkpoint-format.ts validates it). */
export const manifestUploadSchema = z.strictObject({ taskId: id, lease: id, manifest: z.unknown() });

/** A segment of a checkpoint the coordinator asked this volunteer to resume from. */
export const segmentFetchSchema = z.strictObject({ taskId: id, lease: id, hash: sha256 });

/** The volunteer stopped the task after checkpoint `seq`, which the coordinator acknowledged (migration). */
export const haltedSchema = z.strictObject({ taskId: id, lease: id, seq: z.number().int().min(1) });

/** The task continues from checkpoint `seq` rather than from the start. */
export const resumedSchema = z.strictObject({ taskId: id, lease: id, seq: z.number().int().min(1), from: z.enum(['local', 'coordinator']) });

/** Give a task back without finishing it (pause, page closing): it is requeued at once. */
export const releaseSchema = z.strictObject({ taskId: id, lease: id });

const rank = z.number().int().min(0).max(MAX_RANKS - 1);

/**
 * Frames of the message layer (client/messaging/frames.ts) from one rank to
 * another, relayed by the coordinator as they are: it checks the sender's
 * lease and forwards them to whoever holds rank `to`'s lease now (or drops
 * them; the sender resends what stays unacknowledged).
 */
export const rankSendSchema = z.strictObject({
  taskId: id,
  lease: id,
  to: rank,
  data: bytes(1, MAX_RELAY_BYTES),
});

/** The rank stopped for coordinated checkpoint `round` (its checkpoint `seq`) and waits in the round's barrier. */
export const roundEnterSchema = z.strictObject({ taskId: id, lease: id, round: z.number().int().min(1), seq: z.number().int().min(1) });

const count = z.number().int().min(0).max(1e9);
/** Message-layer counters of one rank since its last report (the dashboard sums them per job). */
export const rankStatsSchema = z.strictObject({ taskId: id, lease: id, sent: count, resent: count, discarded: count });

/** Limits of a process memory, in 64 KiB wasm pages. */
export interface MemoryLimits {
  initial: number;
  maximum: number;
}

export interface TaskAssignment {
  taskId: string;
  jobId: string;
  jobName: string;
  index: number;
  lease: string;
  program: { id: string; name: string; format: ProgramFormat; url: string };
  args: string[];
  env: Record<string, string>;
  rank: number;
  ranks: number;
  /** Seeds the deterministic `random_get` of this task. */
  seed: number;
  pageSize: number;
  checkpointIntervalMs: number;
  /** Limits of the process memory in 64 KiB pages (for wasm: those of its `env.memory` import). */
  memory: MemoryLimits;
  /**
   * Continue from this checkpoint held by the coordinator instead of starting:
   * its chain, base first, ending at `seq`. The segments it names are fetched
   * with `checkpoint:fetch`.
   */
  resume?: {
    seq: number;
    chain: CheckpointManifest[];
    /** The checkpoint's digest as uploaded: a volunteer whose newest local checkpoint of the task has it resumes from that, downloading nothing. */
    digest?: string;
  };
  /** A rank of a coupled job: its messages carry the job's epoch (its rollback count); frames of other epochs are stale. */
  coupled?: { epoch: number };
}

export interface VolunteerToServer {
  hello: (hello: Hello, ack: Ack<Welcome>) => void;
  slots: (payload: z.input<typeof slotsSchema>, ack: Ack<null>) => void;
  heartbeat: (payload: z.input<typeof heartbeatSchema>, ack: Ack<{ lost: string[] }>) => void;
  'task:progress': (payload: z.input<typeof progressSchema>) => void;
  'task:output': (payload: z.input<typeof outputSchema>) => void;
  'task:finish': (payload: z.input<typeof finishSchema>, ack: Ack<null>) => void;
  'task:fail': (payload: z.input<typeof failSchema>, ack: Ack<null>) => void;
  'task:release': (payload: z.input<typeof releaseSchema>, ack: Ack<null>) => void;
  'task:checkpoint': (payload: z.input<typeof checkpointReportSchema>, ack: Ack<null>) => void;
  'checkpoint:missing': (payload: z.input<typeof segmentsMissingSchema>, ack: Ack<{ missing: string[] }>) => void;
  'checkpoint:segment': (payload: z.input<typeof segmentUploadSchema>, ack: Ack<null>) => void;
  'checkpoint:manifest': (payload: z.input<typeof manifestUploadSchema>, ack: Ack<null>) => void;
  'checkpoint:fetch': (payload: z.input<typeof segmentFetchSchema>, ack: Ack<Uint8Array>) => void;
  'task:halted': (payload: z.input<typeof haltedSchema>, ack: Ack<null>) => void;
  'task:resumed': (payload: z.input<typeof resumedSchema>, ack: Ack<null>) => void;
  'rank:send': (payload: z.input<typeof rankSendSchema>) => void;
  /** Answered once recorded; a Conflict when the round is no longer open (the rank then goes on at once). */
  'round:enter': (payload: z.input<typeof roundEnterSchema>, ack: Ack<null>) => void;
  'rank:stats': (payload: z.input<typeof rankStatsSchema>) => void;
  /** Best-effort goodbye from `pagehide`: every lease of this connection ends now. */
  leaving: () => void;
}

export interface ServerToVolunteer {
  'task:assign': (task: TaskAssignment, ack: Ack<null>) => void;
  /** Stop this task now (job cancelled, or lease lost): its results would be refused. */
  'task:cancel': (payload: { taskId: string; reason: string; keepCheckpoints?: boolean }) => void;
  /**
   * Checkpoint this task now, upload the checkpoint, then halt it and say
   * `task:halted`: it resumes later (preempt) or on another volunteer (migrate).
   */
  'task:halt': (payload: { taskId: string; reason: 'migrate' | 'preempt' }) => void;
  /** Take a checkpoint of this task now (it is uploaded like every other). */
  'task:checkpoint-now': (payload: { taskId: string }) => void;
  /** Frames for the rank this volunteer runs under `lease`, from rank `from` of the same job. */
  'rank:deliver': (payload: { taskId: string; lease: string; from: number; data: Uint8Array }) => void;
  /** Coordinated checkpoint `round` of a coupled job: stop at the next safepoint, checkpoint, say `round:enter`, wait for `round:release`. */
  'round:checkpoint': (payload: { taskId: string; round: number }) => void;
  /** Every rank entered `round` (or it was aborted: a rank was lost or too slow): go on. */
  'round:release': (payload: { taskId: string; round: number; aborted: boolean }) => void;
  /** A fire-and-forget event that failed validation or processing. */
  'protocol:error': (payload: { event: string; error: SerializedError }) => void;
}

type PayloadOf<F> = F extends (payload: infer P, ack: Ack<unknown>) => void ? P : never;
type ReplyOf<F> = F extends (payload: never, ack: Ack<infer T>) => void ? T : never;

/** Volunteer events that expect an answer. */
export type VolunteerRequest = {
  [E in keyof VolunteerToServer]: ReplyOf<VolunteerToServer[E]> extends never ? never : E;
}[keyof VolunteerToServer];
export type RequestPayload<E extends VolunteerRequest> = PayloadOf<VolunteerToServer[E]>;
export type RequestReply<E extends VolunteerRequest> = ReplyOf<VolunteerToServer[E]>;
