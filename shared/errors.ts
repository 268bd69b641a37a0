/**
 * Named errors that cross every boundary (HTTP, socket.io, worker) as
 * `{name, message}` and are rebuilt by name on the other side (CONVENTIONS.md 6).
 */

export const ERROR_STATUS = {
  ValidationError: 400,
  InvalidProgram: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  NotSupported: 409,
  StaleLease: 409,
  PayloadTooLarge: 413,
  InternalError: 500,
  /** Too many events or connections: slow down (issue 7). */
  RateLimited: 429,
  /** A per-task storage quota (checkpoint bytes) is used up (issue 7). */
  QuotaExceeded: 413,
} as const;

export type ErrorName = keyof typeof ERROR_STATUS;

export interface SerializedError {
  name: string;
  message: string;
}

/** The one error class of the grid: a name from a closed set, and its HTTP status. */
export class GridError extends Error {
  override readonly name: ErrorName;
  readonly status: number;

  constructor(name: ErrorName, message: string) {
    super(message);
    this.name = name;
    this.status = ERROR_STATUS[name];
  }
}

export function isErrorName(name: string): name is ErrorName {
  return Object.hasOwn(ERROR_STATUS, name);
}

/** Turns anything thrown into `{name, message}`; unknown errors keep their message. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name || 'Error', message: error.message };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds a serialized error: a GridError when the name is one of ours. */
export function deserializeError(error: SerializedError): Error {
  if (isErrorName(error.name)) return new GridError(error.name, error.message);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
