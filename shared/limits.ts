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
/**
 * socket.io's own liveness check: a connection silent for this long is
 * closed (within 10 s). A silent tab's tasks do not wait for it: its leases
 * lapse after LEASE_MS. Pings every second cost the coordinator as much as
 * the heartbeats (`npm run bench -- load`: with 5,000 volunteers,
 * heartbeat p99 412 ms and 2,383 ping-timeout disconnects at 1 s / 2 s,
 * against 117–186 ms and none at 5 s / 5 s).
 */
export const PING_INTERVAL_MS = 5_000;
export const PING_TIMEOUT_MS = 5_000;
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

// ---- Access and limits (issue 7): what one client may cost the coordinator ----

/** Live socket.io connections from one remote address; the next handshake is refused (a NAT'd lab shares one address). */
export const MAX_CONNECTIONS_PER_IP = 256;
/**
 * Inbound events per second one connection may send on average (a token bucket). Generous: a tab running
 * several coupled ranks sends a `rank:send` per destination per turn, and the messaging bench's unbatched
 * mode sends ~4,000 a second per rank; a flood is many times that.
 */
export const MAX_EVENTS_PER_SECOND = 10_000;
/** Events a connection may send at once above its rate (the bucket's size), as a multiple of the rate. */
export const EVENT_BURST_SECONDS = 2;
/** A connection that stays over its rate this long (every event refused meanwhile) is disconnected. */
export const FLOOD_DISCONNECT_MS = 3_000;
/**
 * Largest checkpoint one manifest may add to storage: a full 1 GiB memory (MAX_MEMORY_PAGES) plus one segment of slack.
 * Also the most bytes of new segments one lease may upload that no stored manifest names yet (they come before their manifest).
 */
export const MAX_CHECKPOINT_BYTES = MAX_MEMORY_PAGES * 65_536 + MAX_SEGMENT_BYTES;
/** Outgoing bytes queued for one volunteer's socket above which relayed `rank:deliver` batches are dropped (the sender resends). */
export const MAX_PENDING_DELIVERY_BYTES = 16 * 1024 * 1024;

// ---- Result validation (issue 7): redundancy ----

/** Most replicas one task index of a job with redundancy k may run before it fails for want of a majority: 2k + 1. */
export const maxReplicas = (redundancy: number): number => 2 * redundancy + 1;

// ---- Sandbox (issue 7): job code in a volunteer's browser ----

/** A compute worker that shows no sign of life this long (a JS step that does not return; wasm that neither returns, calls the runtime nor answers a safepoint probe) is stopped and its task fails as Unresponsive. */
export const STEP_WATCHDOG_MS = 10_000;
/** Deepest nesting of arrays and objects in a JSON body or socket message: parsing a 2 MiB one a million levels deep blocks the coordinator for a second. */
export const MAX_JSON_DEPTH = 64;
