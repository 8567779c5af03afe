#!/usr/bin/env bash
# Usage: check_selfcontained.sh restorer.o
# The restorer section must exist, hold code, and carry no relocations.
set -euo pipefail
obj=$1
# Section lines without their "[ N]" prefix: name type addr off size ...
sections=$(readelf -SW "$obj" | sed -n 's/^ *\[ *[0-9]*\] *//p')
if ! grep -q '^dmtcp_restorer ' <<<"$sections"; then
  echo "FAIL: $obj has no dmtcp_restorer section"; exit 1
fi
size_hex=$(awk '$1=="dmtcp_restorer"{print $5}' <<<"$sections")
size=$((16#${size_hex:-0}))
if [ "${size:-0}" -lt 256 ]; then
  echo "FAIL: dmtcp_restorer section is only ${size:-0} bytes"; exit 1
fi
if grep -q '^\.rela\?dmtcp_restorer ' <<<"$sections"; then
  echo "FAIL: relocations leave the restorer section:"
  readelf -rW "$obj" | sed -n '/dmtcp_restorer/,/^$/p'
  exit 1
fi
# Nothing else with code: everything must be inlined into the section.
other=$(awk '$1 ~ /^\.text/ && $5 !~ /^0+$/ {print $1}' <<<"$sections")
if [ -n "$other" ]; then
  echo "FAIL: code outside the restorer section: $other"; exit 1
fi
echo "PASS: restorer section ($size bytes) is self-contained"
