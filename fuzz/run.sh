#!/usr/bin/env bash
# Builds the fuzz targets with clang, AddressSanitizer, UndefinedBehavior-
# Sanitizer and libFuzzer in build-fuzz/, then runs each for a bounded time
# on a seed corpus of real images plus every input that once broke it
# (fuzz/regressions/<target>/).  Exit status non-zero on any finding; the
# input is kept in build-fuzz/artifacts/ (copy it into fuzz/regressions/).
#
#   fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DDMTCP_FUZZ=ON \
  -DDMTCP_PLUGINS= \
  "-DCMAKE_C_FLAGS=$san -fsanitize=fuzzer-no-link" \
  "-DCMAKE_CXX_FLAGS=$san -fsanitize=fuzzer-no-link" >/dev/null
cmake --build build-fuzz --target image_reader_fuzz make_image_seeds
mkdir -p build-fuzz/corpus/image build-fuzz/artifacts
build-fuzz/bin/make_image_seeds build-fuzz/corpus/image
# A leak is not a finding here: the reader is short-lived in dmtcp_restart.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-fuzz/bin/image_reader_fuzz -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/artifacts/ \
  build-fuzz/corpus/image fuzz/regressions/image 2>&1 |
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|INFO: Running with|#[0-9]+ +DONE)|runtime error" || true
test "${PIPESTATUS[0]}" -eq 0
