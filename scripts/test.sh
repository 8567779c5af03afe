#!/usr/bin/env bash
# Sets up and builds (scripts/setup.sh), then runs the whole test suite.
# Extra arguments go to ctest (e.g. -L core, -R memory).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
preset=${DMTCP_PRESET:-default}
# Tests labelled known_issue fail now and then for a reason not fixed yet
# (tests/CMakeLists.txt says which); run them with -L known_issue.
ctest --preset "$preset" -j2 -LE known_issue "$@"
