#include "restart_script.h"

#include <ctime>
#include <map>

#include "key_file.h"

namespace dmtcp::coordinator {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

namespace {

// The part of the script every generated file shares, after the
// variables the coordinator fills in (coord_host, coord_port,
// dmtcp_restart, ckpt_hosts): defaults, then the environment, then the
// command line, in increasing precedence.
const char kOptionParsing[] = R"SH(
usage() {
  echo "usage: $0 [-h|--coord-host HOST] [-p|--coord-port PORT]" \
       "[--restartdir DIR] [--hostfile FILE]"
}
need_arg() {
  if [ "$1" -lt 2 ]; then
    echo "$0: option $2 needs a value" >&2
    usage >&2
    exit 1
  fi
}
restart_dir=
hostfile=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--coord-host) need_arg $# "$1"; coord_host=$2; shift 2 ;;
    -p|--coord-port) need_arg $# "$1"; coord_port=$2; shift 2 ;;
    --restartdir) need_arg $# "$1"; restart_dir=$2; shift 2 ;;
    --hostfile) need_arg $# "$1"; hostfile=$2; shift 2 ;;
    --coord-host=*) coord_host=${1#*=}; shift ;;
    --coord-port=*) coord_port=${1#*=}; shift ;;
    --restartdir=*) restart_dir=${1#*=}; shift ;;
    --hostfile=*) hostfile=${1#*=}; shift ;;
    --help) usage; exit 0 ;;
    *) echo "$0: unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done

# --restartdir: the images were moved; look for them by name there.
# Fills imgs in this shell: no subshell or process substitution may be left
# running when we exec, or it would become the restored program's child.
relocate() {
  imgs=()
  local img
  for img in "$@"; do
    if [ -n "$restart_dir" ]; then
      imgs+=("$restart_dir/${img##*/}")
    else
      imgs+=("$img")
    fi
  done
}

# Where each checkpoint host's images restart (docs/distributed.md):
# --hostfile FILE, else DMTCP_RESTART_HOSTS, lists entries separated by
# blanks, commas or newlines (# starts a comment in the file).  OLD=NEW
# moves host OLD's images to NEW; a plain NEW takes the next checkpoint
# host in the order of ckpt_hosts.  Hosts not named stay where they were.
declare -A new_host=()
is_ckpt_host() {
  local h
  for h in "${ckpt_hosts[@]}"; do
    if [ "$h" = "$1" ]; then
      return 0
    fi
  done
  return 1
}
map_hosts() {
  local entry old next=0
  for entry in "$@"; do
    case "$entry" in
      *=*)
        old=${entry%%=*}
        if [ -z "${entry#*=}" ] || ! is_ckpt_host "$old"; then
          echo "$0: host map entry '$entry': '$old' is not a host of this" \
               "checkpoint (${ckpt_hosts[*]})" >&2
          exit 1
        fi
        new_host[$old]=${entry#*=} ;;
      *)
        if [ "$next" -ge "${#ckpt_hosts[@]}" ]; then
          echo "$0: the host map names more hosts than the checkpoint has" \
               "(${#ckpt_hosts[@]}: ${ckpt_hosts[*]})" >&2
          exit 1
        fi
        new_host[${ckpt_hosts[$next]}]=$entry
        next=$((next + 1)) ;;
    esac
  done
}
host_entries=
if [ -n "$hostfile" ]; then
  if ! host_entries=$(sed -e 's/#.*//' -- "$hostfile" 2>/dev/null) ||
     [ ! -f "$hostfile" ]; then
    echo "$0: cannot read the hostfile $hostfile" >&2
    exit 1
  fi
else
  host_entries=${DMTCP_RESTART_HOSTS:-}
fi
# shellcheck disable=SC2086 # split on blanks, commas and newlines
IFS=$' \t\n,' read -r -d '' -a host_list <<< "$host_entries" || true
map_hosts ${host_list[@]+"${host_list[@]}"}

this_host=$(uname -n)
remote_shell=${DMTCP_REMOTE_SHELL:-ssh}
bindir=${dmtcp_restart%/*}
# A remote shell carries no environment: the key directory goes as an
# option (it must be one every host sees, e.g. on a shared home).
tmpdir_opt=()
if [ -n "${DMTCP_TMPDIR:-}" ]; then
  tmpdir_opt=(--tmpdir "$DMTCP_TMPDIR")
fi

# Sorts the groups: local_imgs run here, remote_cmds through the remote
# shell.
local_imgs=()
remote_hosts=()
remote_cmds=()
group() {
  local host=$1
  shift
  local to=${new_host[$host]:-$host}
  relocate "$@"
  if [ "$to" = "$this_host" ]; then
    local_imgs+=("${imgs[@]}")
    return
  fi
  remote_hosts+=("$to")
  remote_cmds+=("$(printf '%q ' "$dmtcp_restart" --coord-host "$coord_host" \
      --coord-port "$coord_port" ${tmpdir_opt[@]+"${tmpdir_opt[@]}"} \
      "${imgs[@]}")")
}
)SH";

// Runs what group() sorted.
const char kRun[] = R"SH(
case "$coord_host" in
  127.0.0.1|localhost|::1) local_coord=1 ;;
  *) local_coord=0 ;;
esac
if [ "${#remote_cmds[@]}" -eq 0 ] && [ "$local_coord" -eq 1 ]; then
  # One host: dmtcp_restart starts a coordinator if none runs.  exec: the
  # script exits with the restarted program's status.
  exec "$dmtcp_restart" --coord-host "$coord_host" --coord-port \
       "$coord_port" "${local_imgs[@]}"
fi

# Every host's dmtcp_restart must find the coordinator: start one here,
# open to the network, unless one answers already.  It binds to
# coord_host when that is an address (which fails at once when it is not
# this host's), to DMTCP_COORD_BIND if set, else to every address.
if ! "$bindir/dmtcp_command" --coord-host "$coord_host" \
     --coord-port "$coord_port" -s >/dev/null 2>&1; then
  bind=${DMTCP_COORD_BIND:-}
  if [ -z "$bind" ]; then
    case "$coord_host" in
      *:*) bind=$coord_host ;;
      *[!0-9.]*) bind=0.0.0.0 ;;
      *) bind=$coord_host ;;
    esac
  fi
  ckptdir_opt=()
  if [ -n "${DMTCP_CHECKPOINT_DIR:-}" ]; then
    ckptdir_opt=(--ckptdir "$DMTCP_CHECKPOINT_DIR")
  fi
  if ! "$bindir/dmtcp_coordinator" --daemon --exit-on-last -q \
       --bind "$bind" -p "$coord_port" \
       ${ckptdir_opt[@]+"${ckptdir_opt[@]}"}; then
    echo "$0: cannot start a coordinator on $bind port $coord_port for" \
         "the processes of every host (is $coord_host this host? else" \
         "use --coord-host)" >&2
    exit 1
  fi
fi

pids=()
i=0
while [ "$i" -lt "${#remote_cmds[@]}" ]; do
  # shellcheck disable=SC2086 # the remote shell may carry options
  $remote_shell "${remote_hosts[$i]}" "${remote_cmds[$i]}" &
  pids+=("$!")
  i=$((i + 1))
done
status=0
if [ "${#local_imgs[@]}" -gt 0 ]; then
  "$dmtcp_restart" --coord-host "$coord_host" --coord-port "$coord_port" \
    "${local_imgs[@]}"
  status=$?
fi
for pid in ${pids[@]+"${pids[@]}"}; do
  wait "$pid"
  rc=$?
  if [ "$status" -eq 0 ]; then
    status=$rc
  fi
done
exit "$status"
)SH";

}  // namespace

std::string render_restart_script(const ScriptInfo& info) {
  // std::map: hosts in a stable order, so two runs write the same script
  // and positional host map entries always mean the same host.
  std::map<std::string, std::vector<std::string>> by_host;
  for (const ScriptImage& img : info.images) {
    by_host[img.host].push_back(img.path);
  }
  char when[64] = "";
  time_t now = time(nullptr);
  tm tm_now{};
  localtime_r(&now, &tm_now);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm_now);

  std::string s = "#!/bin/bash\n";
  s += "# Written by dmtcp_coordinator at " + std::string(when) +
       " after checkpoint generation " + std::to_string(info.generation) +
       "\n# of computation " + info.computation_id + " (" +
       std::to_string(info.images.size()) + " images, coordinator on " +
       info.local_host + ").\n";
  s += "# Restarts every process of the computation: each host's images on\n"
       "# that host (this one directly, the others through\n"
       "# $DMTCP_REMOTE_SHELL, default ssh), or where --hostfile FILE or\n"
       "# DMTCP_RESTART_HOSTS moves them.\n";
  s += "set -u\n\n";
  s += "coord_host=${DMTCP_COORD_HOST:-" + shell_quote(info.coord_host) + "}\n";
  s += "coord_port=${DMTCP_COORD_PORT:-" +
       shell_quote(std::to_string(info.coord_port)) + "}\n";
  s += "dmtcp_restart=" + shell_quote(info.restart_tool) + "\n";
  s += "# The checkpoint's hosts, in the order a host map names them.\n";
  s += "ckpt_hosts=(";
  bool first = true;
  for (const auto& entry : by_host) {
    s += (first ? "" : " ") + shell_quote(entry.first);
    first = false;
  }
  s += ")\n";
  s += kOptionParsing;
  s += "\n# The images, by the host that wrote them.\n";
  for (const auto& [host, paths] : by_host) {
    s += "group " + shell_quote(host);
    for (const std::string& p : paths) {
      s += " " + shell_quote(p);
    }
    s += "\n";
  }
  s += kRun;
  return s;
}

std::string write_restart_script(const ScriptInfo& info, std::string* err) {
  std::string text = render_restart_script(info);
  std::string main_path = info.dir + "/dmtcp_restart_script.sh";
  if (!write_file_atomic(main_path, text, 0755, err)) {
    return {};
  }
  if (!info.computation_id.empty()) {
    std::string copy =
        info.dir + "/dmtcp_restart_script_" + info.computation_id + ".sh";
    std::string ignored;
    write_file_atomic(copy, text, 0755, &ignored);
  }
  return main_path;
}

}  // namespace dmtcp::coordinator
