#!/usr/bin/env bash
# Builds the fuzz targets with clang, AddressSanitizer, UndefinedBehavior-
# Sanitizer and libFuzzer in build-fuzz/, then runs each for a bounded time
# on its seed corpus (generated: real images, real coordinator messages)
# plus every input that once broke it (fuzz/regressions/<corpus>/).  Exit
# status non-zero on any finding; the input is kept in
# build-fuzz/artifacts/<target>/ (copy it into fuzz/regressions/<corpus>/).
#
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]   (default 60, all)
#
# Targets: image_reader_fuzz (corpus "image"), inspect_fuzz ("image"),
# coordinator_msg_fuzz ("coordinator").  docs/fuzzing.md says what each one covers.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(image_reader_fuzz inspect_fuzz coordinator_msg_fuzz)
fi
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DDMTCP_FUZZ=ON \
  -DDMTCP_PLUGINS= \
  "-DCMAKE_C_FLAGS=$san -fsanitize=fuzzer-no-link" \
  "-DCMAKE_CXX_FLAGS=$san -fsanitize=fuzzer-no-link" >/dev/null

# A leak is not a finding here: the reader is short-lived in dmtcp_restart,
# and the coordinator harness builds a fresh coordinator per input.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
for target in "${targets[@]}"; do
  case $target in
    image_reader_fuzz|inspect_fuzz)
      corpus=image seeds=make_image_seeds
      extra=() ;;
    coordinator_msg_fuzz)
      corpus=coordinator seeds=make_coordinator_seeds
      # -close_fd_mask=2: the coordinator's own error lines (a failed
      # restart, ...) would flood the log; libFuzzer and the sanitizers
      # still report on a copy of stderr.
      extra=(-max_len=8192 -close_fd_mask=2) ;;
    *)
      echo "fuzz/run.sh: unknown target $target" >&2
      exit 2 ;;
  esac
  cmake --build build-fuzz --target "$target" "$seeds"
  mkdir -p "build-fuzz/corpus/$corpus" "build-fuzz/artifacts/$target" \
    "fuzz/regressions/$corpus"
  "build-fuzz/bin/$seeds" "build-fuzz/corpus/$corpus"
  echo "== $target: ${secs}s"
  set +e
  "build-fuzz/bin/$target" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
    -artifact_prefix="build-fuzz/artifacts/$target/" \
    "build-fuzz/corpus/$corpus" "fuzz/regressions/$corpus" 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|INFO: Running with|#[0-9]+ +DONE)|runtime error|^artifact_prefix|Test unit written|^coordinator sent"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "== $target: FINDING (exit $rc); input kept in build-fuzz/artifacts/$target/"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz/run.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
