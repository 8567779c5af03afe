// dmtcp_inspect: looks inside checkpoint images (docs/inspect.md).
//
//   dmtcp_inspect [--json] [--header] [--regions] [--threads] [--objects]
//                 [--decoder LIB.so]... IMAGE...
//   dmtcp_inspect [--json] --verify IMAGE...
//   dmtcp_inspect [--json] --diff A B
//
// Exit status: views and --verify: 0 every image whole (and intact), 1 an
// image is damaged or unreadable (one line each on stderr, or in the JSON),
// 2 usage.  --diff: 0 no difference, 1 differences, 2 usage or an image
// that cannot be read.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/tool_support.h"
#include "tools/inspect/decoders.h"
#include "tools/inspect/image_view.h"
#include "tools/inspect/render.h"

namespace dmtcp::inspect {
namespace {

const char kUsage[] =
    "Usage: dmtcp_inspect [OPTIONS] IMAGE...\n"
    "  or:  dmtcp_inspect [--json] --verify IMAGE...\n"
    "  or:  dmtcp_inspect [--json] --diff A B\n"
    "Shows what a checkpoint image holds: who the process was, its memory\n"
    "regions and what each stores, its threads and the objects each plugin\n"
    "saved.\n"
    "  --header        the header only (program, ids, host, generation ...)\n"
    "  --regions       the memory regions only\n"
    "  --threads       the threads only\n"
    "  --objects       the objects plugins saved (fds, pipes ...) only\n"
    "                  (the four combine: --header --threads shows both)\n"
    "  --decoder LIB   also decode notes with LIB.so's decoders\n"
    "                  (dmtcp/inspect.h; may be given more than once)\n"
    "  --verify        check every checksum and the trailer: exit 0 intact,\n"
    "                  1 damaged (naming the first bad region)\n"
    "  --diff A B      what differs between two images: exit 0 none, 1 some\n"
    "  --json          the same as JSON (an array, one entry per image; an\n"
    "                  object for --diff)\n"
    "  --help, --version  this text, or the version\n";

[[noreturn]] void usage_error(const std::string& msg) {
  fprintf(stderr, "dmtcp_inspect: %s (see dmtcp_inspect --help)\n",
          msg.c_str());
  exit(2);
}

struct Args {
  bool json = false;
  bool verify = false;
  bool diff = false;
  bool some_view = false;
  Views views;
  std::vector<std::string> images;
};

Args parse(int argc, char** argv) {
  Args a;
  Views chosen{false, false, false, false};
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (options_done || s.empty() || s[0] != '-' || s == "-") {
      a.images.push_back(s);
      continue;
    }
    if (s == "--") {
      options_done = true;
    } else if (s == "--help") {
      fputs(kUsage, stdout);
      exit(0);
    } else if (s == "--version") {
      dmtcp::tools::print_version("dmtcp_inspect");
      exit(0);
    } else if (s == "--json") {
      a.json = true;
    } else if (s == "--verify") {
      a.verify = true;
    } else if (s == "--diff") {
      a.diff = true;
    } else if (s == "--header") {
      chosen.header = a.some_view = true;
    } else if (s == "--regions") {
      chosen.regions = a.some_view = true;
    } else if (s == "--threads") {
      chosen.threads = a.some_view = true;
    } else if (s == "--objects") {
      chosen.objects = a.some_view = true;
    } else if (s == "--decoder") {
      if (i + 1 >= argc) {
        usage_error("--decoder needs a library");
      }
      std::string error;
      if (!add_decoder_library(argv[++i], &error)) {
        fprintf(stderr, "dmtcp_inspect: %s\n", error.c_str());
        exit(2);
      }
    } else {
      usage_error("unknown option '" + s + "'");
    }
  }
  if (a.some_view) {
    a.views = chosen;
  }
  if (a.verify && a.diff) {
    usage_error("--verify and --diff do not go together");
  }
  if ((a.verify || a.diff) && a.some_view) {
    usage_error(
        "--header, --regions, --threads and --objects choose what an image "
        "view shows");
  }
  if (a.diff && a.images.size() != 2) {
    usage_error("--diff compares two images");
  }
  if (a.images.empty()) {
    usage_error("no image given");
  }
  return a;
}

void print(const std::string& text) {
  fwrite(text.data(), 1, text.size(), stdout);
}

int run_views(const Args& a) {
  int status = 0;
  Json all = Json::array();
  bool first = true;
  for (const std::string& path : a.images) {
    ImageView view;
    Damage damage;
    if (!load(path, false, &view, &damage)) {
      status = 1;
      if (a.json) {
        all.push_back(damage_json(view, damage));
      } else {
        fprintf(stderr, "dmtcp_inspect: %s\n", damage.message.c_str());
      }
      continue;
    }
    Json j = image_json(view, a.views);
    if (a.json) {
      all.push_back(std::move(j));
    } else {
      print((first ? "" : "\n") + image_text(j));
      first = false;
    }
  }
  if (a.json) {
    print(dump(all) + "\n");
  }
  return status;
}

int run_verify(const Args& a) {
  int status = 0;
  Json all = Json::array();
  for (const std::string& path : a.images) {
    ImageView view;
    Damage damage;
    Json r;
    if (load(path, true, &view, &damage)) {
      r["image"] = path;
      r["intact"] = true;
      r["regions"] = view.regions.size();
      r["chunks"] = view.chunk_count;
    } else {
      r = damage_json(view, damage);
      status = 1;
    }
    if (a.json) {
      all.push_back(std::move(r));
    } else {
      print(verify_text(r));
    }
  }
  if (a.json) {
    print(dump(all) + "\n");
  }
  return status;
}

int run_diff(const Args& a) {
  ImageView views[2];
  for (int i = 0; i < 2; ++i) {
    Damage damage;
    if (!load(a.images[static_cast<size_t>(i)], false, &views[i], &damage)) {
      fprintf(stderr, "dmtcp_inspect: %s\n", damage.message.c_str());
      return 2;
    }
  }
  Json d = diff_json(views[0], views[1]);
  print(a.json ? dump(d) + "\n" : diff_text(d));
  return diff_empty(d) ? 0 : 1;
}

}  // namespace
}  // namespace dmtcp::inspect

int main(int argc, char** argv) {
  using namespace dmtcp::inspect;
  Args a = parse(argc, argv);
  if (a.diff) {
    return run_diff(a);
  }
  return a.verify ? run_verify(a) : run_views(a);
}
