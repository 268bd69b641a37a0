/**
 * The fd_* functions. Only stdin (always at end of file), stdout and stderr
 * exist; they are character devices, so seeking is ESPIPE, and everything a
 * stream lacks the rights for is ENOTCAPABLE. No preopens, so libc sees no file system.
 */
import { concatBytes } from '../../../shared/bytes.ts';
import { ERRNO, FILETYPE_CHARACTER_DEVICE, RIGHTS, SIZE, STDIN } from './constants.ts';
import { isStdio, onStdio } from './wasi-context.ts';
import type { WasiContext, WasiFunction } from './wasi-context.ts';

function gather(context: WasiContext, iovs: number, count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const buf = context.memory.u32(iovs + i * SIZE.IOVEC);
    const length = context.memory.u32(iovs + i * SIZE.IOVEC + 4);
    if (length > 0) parts.push(context.memory.read(buf, length));
  }
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}

function rightsOf(fd: number): bigint {
  const base = RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_FILESTAT_GET;
  return fd === STDIN ? base | RIGHTS.FD_READ : base | RIGHTS.FD_WRITE;
}

export function fdImports(context: WasiContext): Record<string, WasiFunction> {
  const { memory } = context;
  return {
    fd_write(fd: number, iovs: number, iovsLength: number, writtenPtr: number): number {
      if (!isStdio(context, fd)) return ERRNO.BADF;
      if (fd === STDIN) return ERRNO.NOTCAPABLE;
      const bytes = gather(context, iovs, iovsLength);
      memory.writeU32(writtenPtr, bytes.length);
      if (bytes.length > 0) context.write(fd as 1 | 2, bytes);
      return ERRNO.SUCCESS;
    },
    fd_read(fd: number, _iovs: number, _iovsLength: number, readPtr: number): number {
      if (!isStdio(context, fd)) return ERRNO.BADF;
      if (fd !== STDIN) return ERRNO.NOTCAPABLE;
      memory.writeU32(readPtr, 0); // end of file
      return ERRNO.SUCCESS;
    },
    fd_pread: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_pwrite: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_seek: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_tell: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_advise: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_allocate: (fd: number) => onStdio(context, fd, ERRNO.SPIPE),
    fd_sync: (fd: number) => onStdio(context, fd, ERRNO.INVAL),
    fd_datasync: (fd: number) => onStdio(context, fd, ERRNO.INVAL),
    fd_close(fd: number): number {
      if (!isStdio(context, fd)) return ERRNO.BADF;
      context.closed.add(fd);
      return ERRNO.SUCCESS;
    },
    fd_fdstat_get(fd: number, ptr: number): number {
      if (!isStdio(context, fd)) return ERRNO.BADF;
      memory.fill(ptr, SIZE.FDSTAT);
      memory.writeU8(ptr, FILETYPE_CHARACTER_DEVICE);
      memory.writeU64(ptr + 8, rightsOf(fd));
      return ERRNO.SUCCESS;
    },
    fd_fdstat_set_flags: (fd: number, flags: number) => onStdio(context, fd, flags === 0 ? ERRNO.SUCCESS : ERRNO.NOTSUP),
    fd_fdstat_set_rights: (fd: number) => onStdio(context, fd, ERRNO.NOTSUP),
    fd_filestat_get(fd: number, ptr: number): number {
      if (!isStdio(context, fd)) return ERRNO.BADF;
      memory.fill(ptr, SIZE.FILESTAT);
      memory.writeU8(ptr + 16, FILETYPE_CHARACTER_DEVICE);
      return ERRNO.SUCCESS;
    },
    fd_filestat_set_size: (fd: number) => onStdio(context, fd, ERRNO.NOTCAPABLE),
    fd_filestat_set_times: (fd: number) => onStdio(context, fd, ERRNO.NOTCAPABLE),
    fd_readdir: (fd: number) => onStdio(context, fd, ERRNO.NOTCAPABLE),
    fd_renumber: (from: number, to: number) =>
      isStdio(context, from) && isStdio(context, to) ? ERRNO.NOTSUP : ERRNO.BADF,
    // No preopened directories: libc's lookups of a file system end here.
    fd_prestat_get: () => ERRNO.BADF,
    fd_prestat_dir_name: () => ERRNO.BADF,
  };
}
