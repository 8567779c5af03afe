#!/usr/bin/env bash
# Installs what building and testing need (Debian 12), configures and
# builds.  Run as root or with sudo available; the product itself never
# needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# build-essential also brings make and gcc for e2e.make_j2; python3 runs
# the harness and e2e.real.subprocess (as /usr/bin/python3); redis-server
# (with redis-cli) is the socket plugin's real-program test.
PACKAGES=(build-essential cmake ninja-build pkg-config python3
          libboost-test-dev libboost-dev libzstd-dev libxxhash-dev
          redis-server)
# Man pages (packaging/: help2man from the tools' --help, lowdown from
# docs/plugins.md); man-db for scripts/test_deb.sh's `man -w`.
PACKAGES+=(help2man lowdown man-db)
# dmtcp_inspect --json
PACKAGES+=(nlohmann-json3-dev)
# The e2e harness prints every thread's stack (gdb -p) of a program that
# hangs, so a hang in CI leaves more than its wait channels.
PACKAGES+=(gdb)
# ip netns: the simulated hosts of ctest -L distributed (nsenter and
# unshare come with util-linux)
PACKAGES+=(iproute2)
# A real sshd on each simulated host (distributed.ssh_*: ssh-launched
# processes joining the computation, docs/ssh.md)
PACKAGES+=(openssh-server openssh-client)
# MPI jobs under DMTCP (distributed.mpi_*, docs/mpi.md); Debian's
# alternatives pick one mpicc/mpirun, the tests name theirs explicitly
PACKAGES+=(openmpi-bin libopenmpi-dev mpich)
# A Slurm cluster on simulated hosts (distributed.slurm, docs/slurm.md):
# the test runs its own munged, slurmctld and slurmd
PACKAGES+=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
preset=${DMTCP_PRESET:-default}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
