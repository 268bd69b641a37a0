/**
 * The numbers of WASI preview1 this shim uses.
 * https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/witx/typenames.witx
 */
export const ERRNO = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  NOSYS: 52,
  NOTSOCK: 57,
  NOTSUP: 58,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;

export const FILETYPE_CHARACTER_DEVICE = 2;

export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;

/** Rights of the standard streams. Without FD_SEEK and FD_TELL, wasi-libc's isatty() is true. */
export const RIGHTS = {
  FD_READ: 1n << 1n,
  FD_WRITE: 1n << 6n,
  FD_FILESTAT_GET: 1n << 21n,
  POLL_FD_READWRITE: 1n << 27n,
} as const;

export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const SUBCLOCKFLAG_ABSTIME = 1;

/** Byte sizes of the structures the shim reads or writes. */
export const SIZE = { IOVEC: 8, FDSTAT: 24, FILESTAT: 64, SUBSCRIPTION: 48, EVENT: 32 } as const;

/** The file descriptors that exist: stdin, stdout, stderr. No preopens, so no file system. */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
