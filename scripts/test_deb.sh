#!/usr/bin/env bash
# The Debian package end to end (docs/packaging.md):
#  1. builds the tree and `cpack -G DEB` in build/ (man pages required);
#  2. installs the .deb: as root `apt-get install ./dmtcp-cpp_*.deb`;
#     otherwise (or with TEST_DEB_EXTRACT=1) `dpkg-deb -x` into a
#     temporary root;
#  3. runs the README's demo (scripts/demo.sh: a live program checkpointed,
#     killed and restarted) with ONLY the installed tools, checks the
#     runtime the program got is the installed one, `man -w` finds the
#     pages, the bash completion completes options, pkg-config finds us;
#  4. as root, `apt-get remove` and checks nothing of ours is left under
#     /usr (every path the package had, and no new *dmtcp* name).
# Run after scripts/setup.sh (DMTCP_PRESET picks the preset, as there).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${DMTCP_PRESET:-default}
src=$PWD
fail() { echo "test_deb: FAIL: $*" >&2; exit 1; }
installed() {
  dpkg-query -W -f='${Status}' dmtcp-cpp 2>/dev/null | grep -q 'ok installed'
}

echo "== building the package"
cmake --preset "$preset" -DDMTCP_MAN_PAGES=ON >/dev/null
cmake --build --preset "$preset" >/dev/null
rm -f build/dmtcp-cpp_*.deb
(cd build && cpack -G DEB >/dev/null)
debs=(build/dmtcp-cpp_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] \
  || fail "no single .deb: ${debs[*]}"
deb=$PWD/${debs[0]}
echo "   $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/dmtcp_launch /usr/bin/dmtcp_checkpoint \
         /usr/bin/dmtcp_restart /usr/bin/dmtcp_command \
         /usr/bin/dmtcp_coordinator /usr/bin/dmtcp_inspect \
         /usr/bin/dmtcp_nocheckpoint /usr/lib/dmtcp/libdmtcp.so \
         /usr/include/dmtcp.h /usr/include/dmtcp/plugin.h \
         /usr/share/man/man1/dmtcp_launch.1.gz \
         /usr/share/man/man7/dmtcp-plugins.7.gz \
         /usr/share/bash-completion/completions/dmtcp_launch \
         /usr/share/doc/dmtcp-cpp/README.md; do
  grep -qx "$f" <<<"$contents" || fail "not in the package: $f"
done
for h in core/include/dmtcp/*.h; do
  grep -qx "/usr/include/dmtcp/$(basename "$h")" <<<"$contents" \
    || fail "public header not in the package: $h"
done

work=$(mktemp -d /tmp/dmtcp-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ "$(id -u)" -eq 0 ] && [ "${TEST_DEB_EXTRACT:-0}" != 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if installed; then
    echo "== removing a dmtcp-cpp installed before this test"
    apt-get remove -y -q dmtcp-cpp >/dev/null
  fi
  find /usr -xdev -name '*dmtcp*' | sort >"$work/before"
  echo "== apt-get install ./$(basename "$deb")"
  (cd "$(dirname "$deb")" && apt-get install -y -q "./$(basename "$deb")") \
    >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get install"; }
  dpkg-query -W -f='${Status}\n' dmtcp-cpp | grep -qx "install ok installed" \
    || fail "dmtcp-cpp not installed"
  root=""
  man_args=()
else
  echo "== dpkg-deb -x into a temporary root (not installed)"
  root=$work/root
  dpkg-deb -x "$deb" "$root"
  man_args=(-M "$root/usr/share/man")
fi
usr=$root/usr

echo "== the demo with the installed tools ($usr/bin)"
# Through a pipe, not into the log file itself: the restarted program
# writes at its checkpointed offset of its stdout (as it should), which
# would overwrite what the demo printed after the checkpoint.
DMTCP_BIN=$usr/bin "$src/scripts/demo.sh" 2>&1 | cat >"$work/demo.log" \
  || { cat "$work/demo.log"; fail "demo"; }
grep -q "counter: finished, total 820 (expected 820)" "$work/demo.log" \
  || { cat "$work/demo.log"; fail "the restarted counter finished wrong"; }
# Restarted, not run again: the counter starts once, and counts on.
[ "$(grep -c '^counter: 1 ' "$work/demo.log")" -eq 1 ] \
  || { cat "$work/demo.log"; fail "the counter started again from 1"; }
grep -q "== restarting from" "$work/demo.log" || fail "the demo never restarted"
echo "   checkpointed, killed, restarted:" \
  "$(tail -n 2 "$work/demo.log" | head -n 1)"

echo "== the program gets the installed runtime"
cd "$work"
"$usr/bin/dmtcp_coordinator" --daemon --exit-on-last -q -p 0 --port-file port
DMTCP_COORD_PORT=$(cat port) "$usr/bin/dmtcp_launch" -j -q cat /proc/self/maps \
  >maps
grep -q " $usr/lib/dmtcp/libdmtcp.so$" maps \
  || { grep dmtcp maps; fail "libdmtcp.so not loaded from $usr/lib/dmtcp"; }
if grep -q "$src/build" maps; then
  fail "something of the build tree was loaded: $(grep "$src/build" maps)"
fi
cd "$src"

echo "== man pages"
for page in dmtcp_launch dmtcp_checkpoint dmtcp_restart dmtcp_command \
            dmtcp_coordinator dmtcp_inspect dmtcp_nocheckpoint; do
  where=$(man "${man_args[@]}" -w "$page") || fail "man -w $page"
  case $where in
    "$usr/share/man/man1/"*) ;;
    *) fail "man -w $page: $where" ;;
  esac
done
where=$(man "${man_args[@]}" -w 7 dmtcp-plugins) || fail "man -w dmtcp-plugins"
echo "   man -w dmtcp_launch: $(man "${man_args[@]}" -w dmtcp_launch); $where"
man "${man_args[@]}" dmtcp_launch 2>/dev/null | grep -q -- "--ckptdir" \
  || fail "dmtcp_launch(1) does not show --ckptdir"

echo "== bash completion"
comp=$usr/share/bash-completion/completions
for t in dmtcp_launch dmtcp_checkpoint dmtcp_restart dmtcp_command \
         dmtcp_coordinator dmtcp_inspect dmtcp_nocheckpoint; do
  [ -r "$comp/$t" ] || fail "no completion file $comp/$t"
done
# complete WORDS...: what the completion offers for the last word.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
           _dmtcp_cpp_complete; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$comp/$1" "$@"
}
got=$(complete_words dmtcp_launch --ckpt)
for w in --ckptdir --ckpt-open-files --ckpt-signal; do
  grep -qx -- "$w" <<<"$got" || fail "dmtcp_launch --ckpt<TAB> lacks $w: $got"
done
got=$(complete_words dmtcp_command --bc)
[ "$got" = "--bcheckpoint" ] || fail "dmtcp_command --bc<TAB>: $got"
mkdir -p "$work/imgs/sub" && touch "$work/imgs/a.dmtcp" "$work/imgs/b.txt"
got=$(cd "$work/imgs" && complete_words dmtcp_restart "")
[ "$(sort <<<"$got" | tr '\n' ' ')" = "a.dmtcp sub " ] \
  || fail "dmtcp_restart <TAB> offers: $got"
echo "   dmtcp_launch --ckpt<TAB>:" \
  "$(complete_words dmtcp_launch --ckpt | tr '\n' ' ')"

echo "== pkg-config"
cflags=$(PKG_CONFIG_PATH=$usr/lib/pkgconfig pkg-config --cflags dmtcp)
[ -f "$(sed 's/^-I//; s/ .*//' <<<"$cflags")/dmtcp/plugin.h" ] \
  || fail "pkg-config --cflags dmtcp: $cflags"

if [ -z "$root" ]; then
  echo "== apt-get remove dmtcp-cpp"
  apt-get remove -y -q dmtcp-cpp >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log"; fail "apt-get remove"; }
  if installed; then
    fail "dmtcp-cpp still installed: $(dpkg-query -W -f='${Status}' dmtcp-cpp)"
  fi
  left=0
  while read -r f; do
    case $f in */) continue ;; esac   # shared directories (/usr/bin/ ...)
    if [ -e "$f" ] || [ -L "$f" ]; then echo "left: $f" >&2; left=1; fi
  done <<<"$contents"
  for d in /usr/lib/dmtcp /usr/include/dmtcp /usr/share/doc/dmtcp-cpp \
           /usr/lib/cmake/dmtcp; do
    [ ! -e "$d" ] || { echo "left: $d" >&2; left=1; }
  done
  find /usr -xdev -name '*dmtcp*' | sort >"$work/after"
  if ! cmp -s "$work/before" "$work/after"; then
    comm -13 "$work/before" "$work/after" | sed 's/^/left: /' >&2
    left=1
  fi
  [ $left -eq 0 ] || fail "files left under /usr after apt-get remove"
  echo "   removed: nothing of ours left under /usr"
  # CPack's postinst/postrm (ldconfig) keep dpkg's record ("rc") until a
  # purge; nothing else is left for it to remove.
  apt-get purge -y -q dmtcp-cpp >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log"; fail "apt-get purge"; }
  if dpkg-query -W dmtcp-cpp >/dev/null 2>&1 \
     && ! dpkg-query -W -f='${Status}' dmtcp-cpp | grep -q not-installed; then
    fail "dpkg still knows dmtcp-cpp: $(dpkg-query -W -f='${Status}' dmtcp-cpp)"
  fi
fi
echo "test_deb: PASS ($(basename "$deb"))"
