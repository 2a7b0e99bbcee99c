#!/usr/bin/env bash
# The GPU bundle's runner (copied to DIR/run.sh by scripts/gpu-bundle.sh).
#
#     bash run.sh              # on a machine with an NVIDIA GPU and its driver
#     bash run.sh --emulator   # on a CPU machine, against tools/cuda-emulator
#
# Needs nothing but the driver: cuBLAS and NVRTC of CUDA 12 or 13 are found
# by the backend itself (LD_LIBRARY_PATH, STATICNN_CUDA_LIB_DIR, the nvidia
# wheels of any Python, CUDA toolkits). In order, each step logged to
# $OUT (default: logs/ beside this file):
#   1. the GPU, the driver, and the cuBLAS and NVRTC found (path, version);
#   2. the runtime's kernel tests: every kernel compiled for sm_90, ptxas's
#      registers and shared memory per kernel;
#   3. every GPU test (bin/cuda-tests) in its own process, under a timeout,
#      so one illegal address (sticky in CUDA) fails only its own test;
#   4. (emulator) library discovery from a made-up wheel folder, and the
#      emulator's planted-bug tests (tools/cuda-emulator/planted.py);
#   5. the mnist and lenet examples trained with --device cuda, accuracy
#      checked as CI checks it on the CPU (0.92 and 0.95);
#   6. benchmarks: W1, W2, W3 and the ResNet on the CPU (1 thread and every
#      core) and the GPU, and PyTorch on the same GPU with TF32 off where
#      `import torch` sees CUDA; one table of samples per second.
# Exits non-zero when any check fails; the summary lists which.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=gpu
for arg in "$@"; do
    case "$arg" in
        --emulator) mode=emulator ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done
OUT="${OUT:-$here/logs}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
start=$(date +%s)
failures=()
fail() { failures+=("$1"); echo "FAILED: $1"; }
elapsed() { echo $(($(date +%s) - start)); }
bin="$here/bin"
export STATICNN_DATA_DIR="$here/data"
export STATICNN_REQUIRE_GPU=1 STATICNN_REQUIRE_NVRTC=1
export CRITERION_HOME="$OUT/criterion"
# No TF32 in cuBLAS or cuDNN, for staticnn and PyTorch alike (cuBLAS's
# default math mode has none; this also overrides a library's own choice).
export NVIDIA_TF32_OVERRIDE=0
cores=$(nproc 2>/dev/null || echo 2)

if [ "$mode" = emulator ]; then
    nvrtc="${STATICNN_NVRTC_DIR:-$HOME/.cache/staticnn/nvrtc-12.9.86}/nvidia/cuda_nvrtc/lib"
    [ -e "$nvrtc/libnvrtc.so.12" ] || { echo "no NVRTC at $nvrtc: run scripts/gpu-bundle.sh, which installs it" >&2; exit 1; }
    export LD_LIBRARY_PATH="$here/emulator${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export STATICNN_CUDA_LIB_DIR="$nvrtc"
fi

echo "== staticnn GPU bundle, commit $(cat "$here/COMMIT" 2>/dev/null), mode $mode, logs in $OUT"

echo "== 1. device and libraries"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader \
        | tee "$OUT/nvidia-smi.log"
fi
timeout 120 "$bin/cuda-tests" --exact device_and_libraries --nocapture >"$OUT/device.log" 2>&1 \
    || fail "device and libraries (see $OUT/device.log)"
sed -n 's/^\(GPU\|kernels\|driver\|cuBLAS\|NVRTC\|emulated\): /  &/p' "$OUT/device.log"

echo "== 2. kernels compile for sm_90 (NVRTC, ptxas figures in $OUT/kernels.log)"
timeout 300 "$bin/runtime-tests" backend::cuda ops::cuda_kernels --nocapture --test-threads 1 >"$OUT/kernels.log" 2>&1 \
    || fail "kernel compilation (see $OUT/kernels.log)"
grep -E "^source +kernel|^[a-z_0-9]+ +[a-z_0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$|^test result" "$OUT/kernels.log" \
    | sed 's/^/  /'

echo "== 3. GPU tests, one process each"
mkdir -p "$OUT/tests"
tests=$("$bin/cuda-tests" --list 2>/dev/null | sed -n 's/: test$//p')
[ -n "$tests" ] || fail "bin/cuda-tests lists no tests"
passed=0
for t in $tests; do
    log="$OUT/tests/$t.log"
    t0=$(date +%s)
    if timeout 240 "$bin/cuda-tests" --exact "$t" --nocapture >"$log" 2>&1; then
        passed=$((passed + 1))
        printf '  ok      %-48s %3ss\n' "$t" $(($(date +%s) - t0))
    else
        rc=$?
        printf '  FAILED  %-48s %3ss (exit %s%s)\n' "$t" $(($(date +%s) - t0)) "$rc" \
            "$([ $rc -eq 124 ] && echo ', timed out')"
        fail "GPU test $t (see $log)"
    fi
done
echo "  $passed of $(wc -w <<<"$tests") passed"

if [ "$mode" = emulator ]; then
    echo "== 4. library discovery from a Python wheel layout (nothing on LD_LIBRARY_PATH but libcuda)"
    fake=$(mktemp -d)
    sp="$fake/venv/lib/python3.12/site-packages/nvidia"
    mkdir -p "$fake/venv/bin" "$sp/cu13/lib" "$sp/cuda_nvrtc" "$fake/home"
    printf '#!/bin/sh\nexit 1\n' >"$fake/venv/bin/python3" && chmod +x "$fake/venv/bin/python3"
    cp "$here/emulator/wheel-cu13/libcublas.so.13" "$sp/cu13/lib/"
    ln -s "$STATICNN_CUDA_LIB_DIR" "$sp/cuda_nvrtc/lib"
    env -u STATICNN_CUDA_LIB_DIR LD_LIBRARY_PATH="$here/emulator/driver-only" HOME="$fake/home" \
        PATH="$fake/venv/bin:$PATH" timeout 120 "$bin/cuda-tests" --exact device_and_libraries --nocapture \
        >"$OUT/discovery.log" 2>&1 || fail "discovery from wheels (see $OUT/discovery.log)"
    if [ "$(grep -c 'via Python wheel' "$OUT/discovery.log")" -ne 2 ]; then
        fail "cuBLAS and NVRTC were not both found in the wheel folders (see $OUT/discovery.log)"
    fi
    grep -E "^(cuBLAS|NVRTC): " "$OUT/discovery.log" | sed 's/^/  /'
    # With no wheel folders, the error lists what was tried.
    env -u STATICNN_CUDA_LIB_DIR LD_LIBRARY_PATH="$here/emulator/driver-only" HOME="$fake/home" \
        timeout 120 "$bin/cuda-tests" --exact device_and_libraries --nocapture \
        >"$OUT/discovery-missing.log" 2>&1
    if grep -q "was not found. Tried" "$OUT/discovery-missing.log"; then
        echo "  without them: $(grep -o '[A-Za-z]* ([a-z]*) was not found. Tried[^;]*' "$OUT/discovery-missing.log" | head -n 1 | cut -c1-150)..."
    elif ! grep -q "via " "$OUT/discovery-missing.log"; then
        fail "a missing library gave no list of what was tried (see $OUT/discovery-missing.log)"
    fi
    rm -rf "$fake"
fi

if [ "$mode" = emulator ]; then
    echo "== 4b. the emulator catches one planted bug of each class (tools/cuda-emulator/planted.py)"
    timeout 400 python3 "$here/emulator/src/planted.py" "$bin/cuda-tests" "$here/emulator/kernels" \
        2>&1 | tee "$OUT/planted.log" | sed -n 's/^  \(caught\|MISSED\|STALE\)/&/p'
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail "a planted bug went unnoticed (see $OUT/planted.log)"
fi

echo "== 5. training examples on the GPU"
accuracy() { sed -n 's/^validation accuracy \([0-9.]*\).*/\1/p' "$1" | tail -n 1; }
train() { # NAME THRESHOLD ARGS...
    local name=$1 threshold=$2
    shift 2
    local log="$OUT/$name.log" t0
    t0=$(date +%s)
    timeout 400 "$bin/$name" --device cuda --out "$OUT/$name.safetensors" "$@" >"$log" 2>&1 \
        || { fail "$name --device cuda exited with an error (see $log)"; return; }
    grep -q "^device: cuda" "$log" || fail "$name did not train on the GPU (see $log)"
    local acc
    acc=$(accuracy "$log")
    printf '  %-6s validation accuracy %s (at least %s), %ss\n' "$name" "${acc:-?}" "$threshold" $(($(date +%s) - t0))
    awk -v a="${acc:-0}" -v t="$threshold" 'BEGIN { exit !(a >= t) }' \
        || fail "$name validation accuracy ${acc:-?} is below $threshold"
}
if [ "$mode" = gpu ]; then
    train mnist 0.92
    train lenet 0.95
else
    # The emulator runs kernels on the CPU, slowly: one epoch of the MLP,
    # a lower bar. LeNet's GPU training is covered by the GPU tests
    # (lenet_trains_alike); a second example would cost CI a minute.
    train mnist 0.85 --epochs 1
fi

echo "== 6. benchmarks (criterion; samples per second)"
if [ "$mode" = gpu ]; then
    filter='^((W1|W2|W3|ResNet)/threads|GPU/)'
    workloads="W1 W2 W3 ResNet"
else
    # On the emulator only W1's GPU group, so that the path is exercised.
    filter='^(W1/threads|GPU/W1$)'
    workloads="W1"
fi
STATICNN_BENCH_THREADS="1,$cores" timeout 420 "$bin/workloads" --bench --noplot \
    --warm-up-time 1 --measurement-time 2 "$filter" >"$OUT/bench.log" 2>&1 \
    || fail "benchmarks (see $OUT/bench.log)"

# PyTorch: the first Python that has it with CUDA.
torch_about="PyTorch: not run (no Python with PyTorch and CUDA)"
: >"$OUT/torch.log"
for py in ${STATICNN_PYTHON:-} python3 /opt/*/.venv/bin/python3 /opt/*/bin/python3 /usr/local/bin/python3 /usr/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    if timeout 120 "$py" "$here/torch/gpu_torch.py" "${workloads// /,}" >"$OUT/torch.log" 2>&1; then
        torch_about="PyTorch: $(sed -n 's/.*"torch": "\([^"]*\)", "cuda": "\([^"]*\)", "device": "\([^"]*\)".*/\1 (CUDA \2) on \3/p' "$OUT/torch.log") via $py, TF32 off"
        break
    fi
done

mean_seconds() { # criterion's mean time per iteration, in seconds
    local f="$CRITERION_HOME/$1/new/estimates.json"
    [ -s "$f" ] || return 0
    sed -n 's/.*"mean":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.e+-]*\).*/\1/p' "$f" \
        | awk '{ printf "%.12f", $1 * 1e-9 }'
}
rate() { # BATCH SECONDS -> samples per second, or -
    if [ -n "$2" ]; then awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s }'; else echo -; fi
}
ratio() { if [ "$1" != - ] && [ "$2" != - ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo -; fi; }
torch_rate() {
    sed -n "s/.*\"workload\": \"$1\", \"samples_per_s\": \([0-9.]*\).*/\1/p" "$OUT/torch.log" \
        | awk '{ printf "%.0f", $1 }' | grep . || echo -
}
gpu_name=$(sed -n 's/^GPU: //p' "$OUT/device.log" | head -n 1)
{
    echo
    echo "samples per second, training steps (forward, loss, backward, SGD), f32; GPU: ${gpu_name:-?}; CPU: $cores cores"
    echo "$torch_about"
    echo
    echo "| workload | batch | CPU 1 thread | CPU $cores threads | GPU | PyTorch GPU | GPU / best CPU | GPU / PyTorch |"
    echo "|---|---|---|---|---|---|---|---|"
    for w in $workloads; do
        case $w in W2) batch=128 ;; *) batch=64 ;; esac
        one=$(rate $batch "$(mean_seconds "$w/threads/1")")
        many=$(rate $batch "$(mean_seconds "$w/threads/$cores")")
        gpu=$(rate $batch "$(mean_seconds "GPU/$w")")
        torch=$(torch_rate "$w")
        best=$one
        [ "$many" != - ] && { [ "$best" = - ] || [ "$many" -gt "$best" ]; } && best=$many
        echo "| $w | $batch | $one | $many | $gpu | $torch | $(ratio "$gpu" "$best") | $(ratio "$gpu" "$torch") |"
        [ "$gpu" = - ] && fail "no GPU benchmark result for $w (see $OUT/bench.log)"
    done
} | tee "$OUT/table.md"

echo
echo "== done in $(elapsed) s ($mode)"
if [ ${#failures[@]} -gt 0 ]; then
    printf '%s\n' "failures:" "${failures[@]/#/  }"
    exit 1
fi
echo "all checks passed"
