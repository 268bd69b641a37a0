/**
 * path_* and sock_* functions. There are no directory or socket descriptors:
 * the standard streams are not capable of either, any other descriptor is EBADF.
 */
import { ERRNO } from './constants.ts';
import { onStdio } from './wasi-context.ts';
import type { WasiContext, WasiFunction } from './wasi-context.ts';

const PATH_FUNCTIONS = [
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
] as const;

const SOCK_FUNCTIONS = ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown'] as const;

export function pathSockImports(context: WasiContext): Record<string, WasiFunction> {
  const imports: Record<string, WasiFunction> = {};
  // path_symlink's descriptor is its third argument; the others take it first.
  for (const name of PATH_FUNCTIONS) {
    imports[name] =
      name === 'path_symlink'
        ? (_old: number, _oldLength: number, fd: number) => onStdio(context, fd, ERRNO.NOTCAPABLE)
        : (fd: number) => onStdio(context, fd, ERRNO.NOTCAPABLE);
  }
  for (const name of SOCK_FUNCTIONS) imports[name] = (fd: number) => onStdio(context, fd, ERRNO.NOTSOCK);
  return imports;
}
