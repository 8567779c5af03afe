// Decoding notes.  See decoders.h and dmtcp/inspect.h.
#include "tools/inspect/decoders.h"

#include <dlfcn.h>

#include <cstring>
#include <map>

#include "dmtcp/inspect.h"
#include "image/image_format.h"

// The internal plugins' decoders, linked into the tool when the plugin is
// built (tools/inspect/CMakeLists.txt); weak, so a build without one has
// a null address here.
extern "C" {
extern const DmtcpInspectDecoder dmtcp_builtin_decoder_file
    __attribute__((weak));
extern const DmtcpInspectDecoder dmtcp_builtin_decoder_pid
    __attribute__((weak));
extern const DmtcpInspectDecoder dmtcp_builtin_decoder_timer
    __attribute__((weak));
extern const DmtcpInspectDecoder dmtcp_builtin_decoder_event
    __attribute__((weak));
extern const DmtcpInspectDecoder dmtcp_builtin_decoder_sysvipc
    __attribute__((weak));
}

namespace dmtcp::inspect {
namespace {

std::map<std::string, DmtcpInspectDecodeFn>& registry() {
  static std::map<std::string, DmtcpInspectDecodeFn> r = [] {
    std::map<std::string, DmtcpInspectDecodeFn> m;
    for (const DmtcpInspectDecoder* d :
         {&dmtcp_builtin_decoder_file, &dmtcp_builtin_decoder_pid,
          &dmtcp_builtin_decoder_timer, &dmtcp_builtin_decoder_event,
          &dmtcp_builtin_decoder_sysvipc}) {
      if (d != nullptr && d->owner != nullptr && d->decode != nullptr) {
        m[d->owner] = d->decode;
      }
    }
    return m;
  }();
  return r;
}

// Splits on sep, dropping empty pieces.
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) {
      end = s.size();
    }
    if (end > start) {
      out.push_back(s.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

// What a decoder writes to.
struct Sink {
  Json* objects;
  std::string owner;
  bool started = false;

  Json& current() {
    if (!started) {
      object("note");
    }
    return objects->back();
  }
  void object(const char* kind) {
    Json o;
    o["owner"] = owner;
    o["kind"] = kind != nullptr ? kind : "";
    objects->push_back(std::move(o));
    started = true;
  }
};

void sink_object(void* ctx, const char* kind) {
  static_cast<Sink*>(ctx)->object(kind);
}
void sink_str(void* ctx, const char* key, const char* value, size_t len) {
  if (key == nullptr) {
    return;
  }
  static_cast<Sink*>(ctx)->current()[key] =
      value != nullptr ? std::string(value, len) : std::string();
}
void sink_num(void* ctx, const char* key, long long value) {
  if (key == nullptr) {
    return;
  }
  static_cast<Sink*>(ctx)->current()[key] = value;
}

}  // namespace

bool add_decoder_library(const std::string& path, std::string* error) {
  // RTLD_LAZY: a plugin holding its own decoder refers to the runtime's
  // functions, which are not here; only the decoder is called.
  void* h = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (h == nullptr) {
    *error = "cannot load decoder library " + path + ": " + dlerror();
    return false;
  }
  auto fn = reinterpret_cast<DmtcpInspectDecodersFn>(
      dlsym(h, DMTCP_INSPECT_DECODERS_SYMBOL));
  if (fn == nullptr) {
    *error = path + " has no " DMTCP_INSPECT_DECODERS_SYMBOL "()";
    return false;
  }
  size_t count = 0;
  const DmtcpInspectDecoder* list = fn(&count);
  for (size_t i = 0; list != nullptr && i < count; ++i) {
    if (list[i].owner != nullptr && list[i].decode != nullptr) {
      registry()[list[i].owner] = list[i].decode;
    }
  }
  return true;
}

void decode_core_notes(const ImageView& v, Json* header, Json* threads) {
  *threads = Json::array();
  for (const NoteView& n : v.notes) {
    if (n.owner != "core") {
      continue;
    }
    switch (n.type) {
      case image::kCoreNoteArgs: {
        // Each argument ends in NUL; an empty one is kept.
        Json args = Json::array();
        size_t start = 0;
        while (start < n.payload.size()) {
          size_t end = n.payload.find('\0', start);
          if (end == std::string::npos) {
            end = n.payload.size();
          }
          args.push_back(n.payload.substr(start, end - start));
          start = end + 1;
        }
        (*header)["args"] = std::move(args);
        break;
      }
      case image::kCoreNotePlugins: {
        Json plugins = Json::array();
        for (const std::string& p : split(n.payload, ':')) {
          size_t slash = p.rfind('/');
          plugins.push_back(slash == std::string::npos ? p
                                                       : p.substr(slash + 1));
        }
        (*header)["plugins"] = std::move(plugins);
        break;
      }
      case image::kCoreNoteCwd:
        (*header)["cwd"] = n.payload;
        break;
      case image::kCoreNoteThreads: {
        size_t count = n.payload.size() / sizeof(image::ThreadNote);
        for (size_t i = 0; i < count; ++i) {
          image::ThreadNote t;
          memcpy(&t, n.payload.data() + i * sizeof t, sizeof t);
          Json j;
          j["tid"] = t.vtid;
          j["real_tid"] = t.tid;
          j["role"] = (t.flags & image::kThreadNoteCheckpoint) != 0
                          ? "checkpoint"
                      : (t.flags & image::kThreadNoteMain) != 0 ? "main"
                                                                : "user";
          threads->push_back(std::move(j));
        }
        break;
      }
      default:
        break;
    }
  }
}

Json decode_objects(const ImageView& v) {
  Json objects = Json::array();
  for (const NoteView& n : v.notes) {
    if (n.owner == "core") {
      continue;
    }
    auto it = registry().find(n.owner);
    size_t before = objects.size();
    int rc = -1;
    if (it != registry().end()) {
      Sink sink{&objects, n.owner};
      DmtcpInspectOut out{&sink, sink_object, sink_str, sink_num};
      try {
        rc = it->second(n.type, n.payload.data(), n.payload.size(), &out);
      } catch (...) {
        rc = -1;
      }
    }
    if (rc != 0) {
      // Whatever a refusing decoder wrote is dropped: the note is shown
      // as it is.
      objects.erase(objects.begin() + static_cast<ptrdiff_t>(before),
                    objects.end());
      Json o;
      o["owner"] = n.owner;
      o["kind"] = "note";
      o["type"] = n.type;
      o["size"] = n.payload.size();
      o["decoded"] = it == registry().end() ? "no decoder" : "undecodable";
      objects.push_back(std::move(o));
    }
  }
  return objects;
}

}  // namespace dmtcp::inspect
