/** Named limits and timings shared by the coordinator and the pages. */

/** Largest program accepted by `POST /api/programs`. */
export const MAX_PROGRAM_BYTES = 32 * 1024 * 1024;
/** Largest JSON body accepted by any other route. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Most independent tasks one job may have. */
export const MAX_TASKS_PER_JOB = 100_000;
/** Most ranks of one coupled job. */
export const MAX_RANKS = 1_024;
/** Output kept per task and stream; the rest is dropped with a note. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Largest output chunk a volunteer may send in one event. */
export const MAX_OUTPUT_CHUNK_BYTES = 64 * 1024;
/** Largest JSON result of a task. */
export const MAX_RESULT_BYTES = 1024 * 1024;
/** Largest socket.io message; a bigger one closes the connection (socket.io's maxHttpBufferSize). */
export const MAX_SOCKET_MESSAGE_BYTES = 2 * MAX_RESULT_BYTES;
/** A checkpoint segment as uploaded: ~1 MiB (SEGMENT_TARGET_BYTES) plus one page it may run over by, at most 64 KiB. */
export const MAX_SEGMENT_BYTES = (1 << 20) + 65_536;

/** A lease not renewed for this long is lost and its task requeued. */
export const LEASE_MS = 5_000;
/** How often a volunteer renews its leases. */
export const HEARTBEAT_MS = 1_000;
/** socket.io's own liveness check, tuned so a silent tab is noticed within ~3 s. */
export const PING_INTERVAL_MS = 1_000;
export const PING_TIMEOUT_MS = 2_000;
/** Every request/response over a socket times out after this. */
export const ACK_TIMEOUT_MS = 5_000;

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5_000;
export const DEFAULT_PAGE_SIZE = 4096;
/** Upper bound of a task's process memory, in 64 KiB wasm pages (1 GiB). */
export const MAX_MEMORY_PAGES = 16_384;

/** One `rank:send` / `rank:deliver` batch of message-layer frames: a largest message (1 MiB) and its header fit. */
export const MAX_RELAY_BYTES = (1 << 20) + 65_536;
/** How long a coordinated checkpoint's barrier waits for every rank before the round is aborted. */
export const ROUND_TIMEOUT_MS = 20_000;
