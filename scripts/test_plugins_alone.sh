#!/usr/bin/env bash
# Each plugin builds and tests on its own (SPEC section 2): for every
# plugins/<name>, a build with -DDMTCP_PLUGINS=<name> (plus pid for a plugin
# listed in NEEDS_PID (default: file and socket, whose fd passing between
# processes finds them by pid after a restart) that runs `ctest -L <name>`.
# Run after scripts/setup.sh has installed the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${DMTCP_PRESET:-default}" = ci ] && werror=ON
for dir in plugins/*/; do
  name=$(basename "$dir")
  plugins="$name"
  case " ${NEEDS_PID:-file socket} " in *" $name "*) plugins="pid;$name" ;; esac
  build="build-alone-$name"
  echo "== plugin $name alone (DMTCP_PLUGINS=\"$plugins\")"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDMTCP_WERROR="$werror" -DDMTCP_PLUGINS="$plugins" \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
  cmake --build "$build"
  ctest --test-dir "$build" -j2 -L "$name" -LE known_issue --output-on-failure \
    --no-tests=error --timeout 600
done
