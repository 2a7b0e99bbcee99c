#!/usr/bin/env bash
# Build, on a CPU machine like CI's, everything the GPU check needs, into
# DIR: a folder to copy to a GPU machine that has only the NVIDIA driver
# and a Python (no Rust, no network), and run there with `bash DIR/run.sh`.
#
#     bash scripts/gpu-bundle.sh DIR        # build the bundle
#     bash DIR/run.sh                       # on the GPU machine
#     bash DIR/run.sh --emulator            # here, on tools/cuda-emulator
#
# The bundle (see scripts/gpu-run.sh for what the runner does):
#   bin/cuda-tests     tests/cuda.rs, the GPU against the CPU
#   bin/runtime-tests  the runtime's unit tests (kernel compilation for sm_90)
#   bin/workloads      benches/workloads.rs (criterion), CPU and GPU groups
#   bin/mnist, bin/lenet  the training examples, for --device cuda
#   data/              the bundled digits the examples read
#   torch/             PyTorch's twins of the benchmark networks
#   emulator/          the CUDA emulator, for run.sh --emulator, with its
#                      sources and the kernels' (its planted-bug tests)
# All release builds with --features cuda, stripped; under 64 MiB.
#
# The emulator needs NVRTC (it compiles the kernels as a GPU would, then
# runs its own C++ build of them): when none is found, this installs PyPI's
# nvidia-cuda-nvrtc-cu12 into ~/.cache/staticnn, where run.sh looks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir="$1"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
cd "$root"

features=(--release --features cuda)
# Each command prints cargo's JSON messages; the executables are what the
# runner needs.
executables() {
    python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m.get("executable"):
            print(m["target"]["name"], m["executable"])
'
}

echo "== building (cargo ${features[*]})" >&2
artifacts=$(
    {
        cargo test "${features[@]}" --test cuda --no-run --message-format=json
        cargo test "${features[@]}" -p staticnn-runtime --lib --no-run --message-format=json
        cargo bench --features cuda --bench workloads --no-run --message-format=json
        cargo build "${features[@]}" --example mnist --example lenet --message-format=json
    } | executables
)

rm -rf "$dir/bin" "$dir/data" "$dir/torch" "$dir/emulator"
mkdir -p "$dir/bin" "$dir/data" "$dir/torch"
copy() { # NAME-IN-CARGO NAME-IN-BUNDLE
    local path
    path=$(awk -v n="$1" '$1 == n { print $2 }' <<<"$artifacts" | tail -n 1)
    [ -n "$path" ] || { echo "cargo built no executable named $1" >&2; exit 1; }
    cp "$path" "$dir/bin/$2"
    strip "$dir/bin/$2"
}
copy cuda cuda-tests
copy staticnn_runtime runtime-tests
copy workloads workloads
copy mnist mnist
copy lenet lenet

cp data/mnist_5k.csv.gz data/README.md "$dir/data/"
cp scripts/gpu_torch.py scripts/compare.py "$dir/torch/"
cp scripts/gpu-run.sh "$dir/run.sh"
tools/cuda-emulator/build.sh "$dir/emulator" >/dev/null
# The emulator's sources and the kernels', for its planted-bug tests.
mkdir -p "$dir/emulator/src" "$dir/emulator/kernels/backend" "$dir/emulator/kernels/ops"
cp tools/cuda-emulator/{build.sh,gen.py,emu.h,emu.cpp,driver.cpp,planted.py} "$dir/emulator/src/"
cp runtime/src/backend/prelude.cu "$dir/emulator/kernels/backend/"
(cd runtime/src && find ops -name '*.cu' -exec cp --parents {} "$dir/emulator/kernels/" \;)
rm -f "$dir/emulator/"*.o "$dir/emulator/kernels.cpp"

# NVRTC for the emulator (the GPU machine has its own, in PyTorch's wheels).
nvrtc="${STATICNN_NVRTC_DIR:-$HOME/.cache/staticnn/nvrtc-12.9.86}"
if [ ! -e "$nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so.12" ]; then
    echo "== NVRTC for the emulator: pip install nvidia-cuda-nvrtc-cu12 into $nvrtc" >&2
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$nvrtc" "nvidia-cuda-nvrtc-cu12==12.9.86" >&2
fi

git rev-parse HEAD >"$dir/COMMIT" 2>/dev/null || echo unknown >"$dir/COMMIT"
size=$(du -sm "$dir" | cut -f1)
echo "bundle: $dir, ${size} MiB, commit $(cat "$dir/COMMIT")" >&2
if [ "$size" -ge 64 ]; then
    echo "the bundle is ${size} MiB; the GPU machine takes at most 64" >&2
    exit 1
fi
