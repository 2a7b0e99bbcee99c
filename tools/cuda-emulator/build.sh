#!/usr/bin/env bash
# Build the CUDA emulator into DIR (default target/cuda-emulator) as
# libcuda.so.1 and libcublas.so.12, for LD_LIBRARY_PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/cuda-emulator}"
mkdir -p "$out"
python3 "$here/gen.py" "$root" "$out/kernels.cpp"
g++ -std=c++20 -O2 -fPIC -shared -pthread -I"$here" \
    "$here/driver.cpp" "$here/emu.cpp" "$out/kernels.cpp" -o "$out/libstaticnn-cuda-emulator.so"
# Not libcuda.so.1: NVRTC opens that name for its own driver queries, and
# must not find the emulator there. cudarc tries libcuda.so first.
for name in libcuda.so libcublas.so libcublas.so.12; do
    ln -sf libstaticnn-cuda-emulator.so "$out/$name"
done
echo "$out"
