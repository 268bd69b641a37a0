#!/usr/bin/env bash
# Rebuilds the committed .wasm files of the examples and test fixtures from their
# C sources: examples/*/program.c, test/fixtures/*/program.c, the checkpoint
# fixtures test/fixtures/ckpt/*/program.c and the instrumentation benchmark's
# kernels test/bench/kernels/*/program.c. A `cflags` file beside a program adds
# its own compiler flags (e.g. -mbulk-memory). Not run by
# `npm install` (the .wasm files are committed); run it after changing a program.
#
# Needs clang, wasm-ld and wasi-libc (Debian: apt-get install clang lld wasi-libc).
# Debian's clang 14 ships no compiler-rt builtins for wasm32
# (libclang_rt.builtins-wasm32.a, in libclang-rt-14-dev-wasm32), so when they are
# missing we link crt1 and libc by hand; our programs need no builtins (no long
# double, no 128-bit integers, no strtol family).
#
# usage: scripts/build-programs.sh [DIR...]   (default: every program)
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-clang}
WASI_LIBDIR=${WASI_LIBDIR:-/usr/lib/wasm32-wasi}
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Werror -Iexamples/include)
# Keeps the name section (function names in trap stacks), drops DWARF.
LDFLAGS=(-Wl,--strip-debug)

builtins=$("$CC" --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null || true)
BEFORE=()
AFTER=()
if [[ -z "$builtins" || ! -f "$builtins" ]]; then
  BEFORE=(-nostdlib "$WASI_LIBDIR/crt1-command.o")
  AFTER=(-L"$WASI_LIBDIR" -lc)
fi

if [[ $# -gt 0 ]]; then
  dirs=("$@")
else
  dirs=()
  for source in examples/*/program.c test/fixtures/*/program.c test/fixtures/ckpt/*/program.c test/bench/kernels/*/program.c; do dirs+=("$(dirname "$source")"); done
fi

for dir in "${dirs[@]}"; do
  extra=()
  if [[ -f "$dir/cflags" ]]; then read -r -a extra <"$dir/cflags"; fi
  "$CC" "${CFLAGS[@]}" "${extra[@]}" "${BEFORE[@]}" "$dir/program.c" "${AFTER[@]}" "${LDFLAGS[@]}" -o "$dir/program.wasm"
  echo "built $dir/program.wasm ($(wc -c <"$dir/program.wasm") bytes)"
done
