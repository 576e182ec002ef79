#!/bin/sh
# On a host with an XSAVE area larger than AVX's, where linux.uml 6.1 needs the LD_PRELOAD shim of uml-xstate.c,
# prints two lines: the shim's path (built first if needed), and the line the guest's init runs before anything else
# (AVX-512 off for glibc and Java: the shim keeps that state per host process, not per guest thread). Prints nothing
# on a host that does not need it.
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
off=""
for f in AVX512F AVX512CD AVX512BW AVX512DQ AVX512VL AVX512_VBMI AVX512_VBMI2 AVX512_IFMA AVX512_VNNI AVX512_BITALG \
    AVX512_VPOPCNTDQ AVX512_BF16 AVX512_FP16 AMX_BF16 AMX_TILE AMX_INT8; do off="$off${off:+,}-$f"; done
echo "export GLIBC_TUNABLES=glibc.cpu.hwcaps=$off JAVA_TOOL_OPTIONS=-XX:UseAVX=2"
