#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (docs/sanitizers.md):
#  1. builds the whole tree in build-asan/ with both sanitizers (gcc; the
#     libFuzzer targets of fuzz/run.sh are the clang side);
#  2. runs every unit test there (label unit): the coordinator's tests drive
#     the sanitized dmtcp_coordinator itself;
#  3. runs end-to-end tests of the ordinary build (build/, made by
#     scripts/test.sh) with the sanitized dmtcp_coordinator, dmtcp_command
#     and dmtcp_launch; the preloaded runtime, the plugins and dmtcp_restart
#     stay those of build/ (they take over or replace the address space,
#     where the sanitizer's shadow memory cannot follow; docs say why).
# Any sanitizer report fails the step (halt_on_error, exit status non-zero).
#
#   scripts/sanitize.sh [extra ctest arguments for step 3]
# Run after scripts/setup.sh and a build in build/ (DMTCP_PRESET picks it).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${DMTCP_PRESET:-default}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DDMTCP_UNIT_TIMEOUT=900 \
  "-DCMAKE_C_FLAGS=$san" "-DCMAKE_CXX_FLAGS=$san" \
  "-DCMAKE_EXE_LINKER_FLAGS=$san" "-DCMAKE_SHARED_LINKER_FLAGS=$san" \
  >/dev/null
cmake --build build-asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
echo "== unit tests, sanitized"
ctest --test-dir build-asan -j2 -L unit --output-on-failure --no-tests=error

# The mixed tool set: sanitized front-end tools next to build/'s runtime.
# Tools find the runtime at <their dir>/../lib/dmtcp, so they are copied
# (not linked: /proc/self/exe would lead back to build-asan/).
mixed=build-asan/mixed
rm -rf "$mixed"
mkdir -p "$mixed/bin" "$mixed/lib"
for t in dmtcp_coordinator dmtcp_command dmtcp_launch; do
  cp build-asan/bin/$t "$mixed/bin/"
done
for t in build/bin/*; do
  [ -e "$mixed/bin/$(basename "$t")" ] || cp -P "$t" "$mixed/bin/"
done
ln -s "$PWD/build/lib/dmtcp" "$mixed/lib/dmtcp"

# The sanitizer options reach the programs under test too; they ignore
# them (not built with a sanitizer).  A report stops the tool that made it
# (halt_on_error), which fails its test; the report itself goes to a file
# in $logs (ASan) or, for UBSan (which does not take log_path when linked
# with ASan), to the daemon coordinator's log in $DMTCP_TMPDIR: any report
# in either fails the step.  Leaks are the unit tests' business (a
# daemon's exit is not a test's).
logs="$PWD/build-asan/reports"
rm -rf "$logs"
mkdir -p "$logs"
export DMTCP_TMPDIR="$PWD/build-asan/tmp"
rm -rf "$DMTCP_TMPDIR"
mkdir -m 0700 "$DMTCP_TMPDIR"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=99:log_path=$logs/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99:log_path=$logs/ubsan
echo "== end-to-end tests (restart mode) with sanitized tools"
status=0
DMTCP_TEST_BIN="$PWD/$mixed/bin" ctest --preset "$preset" -j2 \
  -L e2e -LE known_issue -R '\.restart$' "$@" || status=$?
found=$(grep -rlE 'runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' \
  "$logs" "$DMTCP_TMPDIR" || true)
if [ -n "$found" ]; then
  for f in $found; do
    echo "== sanitizer report in $f:"
    head -n 40 "$f"
  done
  exit 1
fi
exit "$status"
