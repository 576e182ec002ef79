#!/bin/sh
# Prints the path of the LD_PRELOAD shim linux.uml 6.1 needs on a host with an XSAVE area larger than AVX's (see
# uml-xstate.c), building it first if needed; prints nothing on a host that does not need it.
#   src/uml/uml-xstate.sh OUT_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out_dir=$1
# CPUID's AVX-512 or AMX flags mean a larger area than the 832 bytes linux.uml 6.1 handles
grep -qwE 'avx512f|amx_tile' /proc/cpuinfo || exit 0
lib=$out_dir/uml-xstate.so
if [ ! -f "$lib" ] || [ "$here/uml-xstate.c" -nt "$lib" ]; then
  command -v cc >/dev/null || { echo "uml-xstate.sh: cc is missing: apt-get install gcc libc6-dev" >&2; exit 1; }
  mkdir -p "$out_dir"
  cc -O2 -shared -fPIC -o "$lib.tmp" "$here/uml-xstate.c" -ldl && mv "$lib.tmp" "$lib"
fi
echo "$lib"
