#!/bin/bash
# netns_ssh.sh HOST COMMAND...: the distributed tests' "ssh"
# (DMTCP_REMOTE_SHELL).  The simulated host HOST is a network namespace and
# a UTS namespace that dist_test.py made; $DMTCP_TEST_HOSTS/HOST holds
# their names.  Like ssh it runs the words of COMMAND, joined by blanks,
# with a shell on that host, and passes no environment but PATH and HOME:
# what the remote side needs must be on its command line.
set -u
if [ $# -lt 2 ]; then
  echo "usage: netns_ssh.sh HOST COMMAND..." >&2
  exit 255
fi
host=$1
shift
map=${DMTCP_TEST_HOSTS:-}/$host
if [ -z "${DMTCP_TEST_HOSTS:-}" ] || [ ! -r "$map" ]; then
  echo "netns_ssh.sh: unknown host $host" >&2
  exit 255
fi
read -r netns uts < "$map"
exec env -i PATH="$PATH" HOME="${HOME:-/}" \
  nsenter --net="/run/netns/$netns" --uts="$uts" /bin/bash -c "$*"
