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

// The part of the script every generated file shares: defaults, then the
// environment, then the command line, in increasing precedence.
const char kOptionParsing[] = R"(
usage() {
  echo "usage: $0 [-h|--coord-host HOST] [-p|--coord-port PORT]" \
       "[--restartdir DIR]"
}
need_arg() {
  if [ "$1" -lt 2 ]; then
    echo "$0: option $2 needs a value" >&2
    usage >&2
    exit 1
  fi
}
restart_dir=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--coord-host) need_arg $# "$1"; coord_host=$2; shift 2 ;;
    -p|--coord-port) need_arg $# "$1"; coord_port=$2; shift 2 ;;
    --restartdir) need_arg $# "$1"; restart_dir=$2; shift 2 ;;
    --coord-host=*) coord_host=${1#*=}; shift ;;
    --coord-port=*) coord_port=${1#*=}; shift ;;
    --restartdir=*) restart_dir=${1#*=}; shift ;;
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
)";

}  // namespace

std::string render_restart_script(const ScriptInfo& info) {
  // std::map: hosts in a stable order, so two runs write the same script.
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
       std::to_string(info.images.size()) + " images).\n";
  s += "# Restarts every process of the computation: the images of this\n"
       "# host (" +
       info.local_host + ") here, the others through ssh.\n";
  s += "set -u\n\n";
  s += "coord_host=${DMTCP_COORD_HOST:-" + shell_quote(info.coord_host) + "}\n";
  s += "coord_port=${DMTCP_COORD_PORT:-" +
       shell_quote(std::to_string(info.coord_port)) + "}\n";
  s += "dmtcp_restart=" + shell_quote(info.restart_tool) + "\n";
  s += kOptionParsing;

  auto local = by_host.find(info.local_host);
  bool has_remote = by_host.size() > (local != by_host.end() ? 1u : 0u);
  if (has_remote) {
    s += "\n# Other hosts: one dmtcp_restart each, in the background.\n";
  }
  for (const auto& [host, paths] : by_host) {
    if (host == info.local_host) {
      continue;
    }
    s += "relocate";
    for (const std::string& p : paths) {
      s += " " + shell_quote(p);
    }
    s += "\n";
    s += "ssh " + shell_quote(host) +
         " \"$(printf '%q ' \"$dmtcp_restart\" --coord-host \"$coord_host\""
         " --coord-port \"$coord_port\" \"${imgs[@]}\")\" &\n";
  }
  if (local == by_host.end()) {
    s += "\nwait\n";
    return s;
  }
  s += "\n# This host.\nrelocate";
  for (const std::string& p : local->second) {
    s += " " + shell_quote(p);
  }
  s += "\n";
  const char* run =
      "\"$dmtcp_restart\" --coord-host \"$coord_host\" --coord-port "
      "\"$coord_port\" \"${imgs[@]}\"";
  if (!has_remote) {
    // exec: the script exits with the restarted program's status.
    s += std::string("exec ") + run + "\n";
    return s;
  }
  s += std::string(run) + "\nstatus=$?\nwait\nexit $status\n";
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
