#!/usr/bin/env bash
# Each plugin builds and tests on its own (SPEC section 2): for every
# plugins/<name>, a build with -DDMTCP_PLUGINS=<name> that runs
# `ctest -L <name>`.  A plugin listed in NEEDS_PID (default: file, event,
# sysvipc, socket: they find other processes' fds or objects by pid after a
# restart) is built with pid as well.
#
# One build directory (build-alone/) serves every plugin: it is configured
# again with the next DMTCP_PLUGINS, so the core is compiled once.  Before
# each build the plugin libraries of the previous configuration are
# deleted: dmtcp_launch preloads every libdmtcp_<name>.so it finds next to
# it, and a stale one would make the plugin not alone.
# Run after scripts/setup.sh has installed the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${DMTCP_PRESET:-default}" = ci ] && werror=ON
build=build-alone
needs_pid=" ${NEEDS_PID:-file event sysvipc socket} "
start=$(date +%s)
for dir in plugins/*/; do
  name=$(basename "$dir")
  plugins="$name"
  case "$needs_pid" in *" $name "*) plugins="pid;$name" ;; esac
  echo "== plugin $name alone (DMTCP_PLUGINS=\"$plugins\")"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDMTCP_WERROR="$werror" -DDMTCP_PLUGINS="$plugins" \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
  rm -f "$build"/lib/dmtcp/libdmtcp_*.so
  cmake --build "$build"
  ctest --test-dir "$build" -j2 -L "$name" -LE known_issue --output-on-failure \
    --no-tests=error --timeout 600
done
echo "== every plugin alone: passed in $(($(date +%s) - start)) s"
