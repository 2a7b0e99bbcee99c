#!/usr/bin/env bash
# Build the CUDA emulator into DIR (default target/cuda-emulator), for
# LD_LIBRARY_PATH: libcuda.so and libcublas.so(.12) are links to one
# library. Also, for the library-discovery check of the GPU bundle:
#   DIR/driver-only/libcuda.so      the driver alone;
#   DIR/wheel-cu13/libcublas.so.13  the emulator under CUDA 13's soname, as
#                                   in PyTorch's nvidia/cu13/lib wheel folder.
# SRC (optional) replaces runtime/src as the kernels' source (planted.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/cuda-emulator}"
src="${2:-$root/runtime/src}"
mkdir -p "$out/driver-only" "$out/wheel-cu13"
python3 "$here/gen.py" "$root" "$out/kernels.cpp" "$src"
flags=(-std=c++20 -O2 -fPIC -pthread -I"$here")
for f in driver emu; do g++ "${flags[@]}" -c "$here/$f.cpp" -o "$out/$f.o"; done
g++ "${flags[@]}" -c "$out/kernels.cpp" -o "$out/kernels.o"
objs=("$out/driver.o" "$out/emu.o" "$out/kernels.o")
g++ -shared -pthread "${objs[@]}" -o "$out/libstaticnn-cuda-emulator.so"
g++ -shared -pthread -Wl,-soname,libcublas.so.13 "${objs[@]}" -o "$out/wheel-cu13/libcublas.so.13"
# Not libcuda.so.1: NVRTC opens that name for its own driver queries, and
# must not find the emulator there. cudarc tries libcuda.so first.
for name in libcuda.so libcublas.so libcublas.so.12; do
    ln -sf libstaticnn-cuda-emulator.so "$out/$name"
done
ln -sf ../libstaticnn-cuda-emulator.so "$out/driver-only/libcuda.so"
echo "$out"
