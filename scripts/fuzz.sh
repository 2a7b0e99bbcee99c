#!/usr/bin/env bash
# Run the cargo-fuzz targets in fuzz/ (nightly Rust and `cargo install
# cargo-fuzz`), each for SECONDS (default 30), starting from the committed
# seeds in fuzz/seeds/TARGET and growing fuzz/corpus/TARGET. Fails on the
# first crash, leak, timeout, or single allocation over 512 MB; the input
# that caused it is left in fuzz/artifacts/TARGET/.
#
#   bash scripts/fuzz.sh            # every target for 30 s (what CI runs)
#   bash scripts/fuzz.sh 3600       # every target for an hour
#   bash scripts/fuzz.sh 600 csv    # one target
#
# STATICNN_FUZZ_BUILD=dev builds without optimisation: under half the
# build time (80 s against 180 s on two cores) and 10 to 20 times fewer
# executions a second; CI's short runs use it, long runs should not.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(safetensors_load idx csv request_body image)
fi
build=--release
[ "${STATICNN_FUZZ_BUILD:-release}" = dev ] && build=--dev
cd fuzz
cargo +nightly fuzz build $build
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "-- fuzz $t for ${seconds}s"
    log=$(mktemp)
    if ! cargo +nightly fuzz run $build "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus=$(ls "corpus/$t" | wc -l)
    echo "$t: ${runs:-?} executions in ${seconds}s, no crash; corpus of $corpus inputs"
    rm -f "$log"
done
