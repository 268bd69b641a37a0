/**
 * What a wasm program may import (API.md, Program ABI): the WASI preview1
 * functions the volunteer's shim implements, the `grid` module and its memory
 * as `env.memory`. The coordinator checks a posted program against this list
 * (server/programs/instrument/validate-program.ts) so a missing import is a
 * 400 at posting time, not a failure on some volunteer later; a unit test
 * keeps it equal to what client/runtime provides.
 */

export const WASI_MODULE = 'wasi_snapshot_preview1';
export const GRID_MODULE = 'grid';

export const WASI_FUNCTIONS: readonly string[] = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get',
  'clock_res_get', 'clock_time_get', 'poll_oneoff', 'proc_exit', 'proc_raise', 'random_get', 'sched_yield',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_fdstat_set_rights',
  'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread', 'fd_prestat_dir_name', 'fd_prestat_get',
  'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek', 'fd_sync', 'fd_tell', 'fd_write',
  'path_create_directory', 'path_filestat_get', 'path_filestat_set_times', 'path_link', 'path_open', 'path_readlink',
  'path_remove_directory', 'path_rename', 'path_symlink', 'path_unlink_file',
  'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown',
];

export const GRID_FUNCTIONS: readonly string[] = ['rank', 'size', 'send', 'recv', 'barrier', 'progress'];

/** The grid imports that may block (send too: its window may be full), so the stack must be able to unwind inside them. */
export const BLOCKING_GRID_FUNCTIONS: readonly string[] = ['send', 'recv', 'barrier'];
