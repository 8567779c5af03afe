// fd_passing.cpp -- the file plugin's descriptions handed between
// processes at restart, through the shared FdExchange (dmtcp/fd_share.h):
// what a description is called on the wire (its DescKey) and which fd
// answers a request.
#include "fd_passing.h"

#include <cstring>

#include "dmtcp/plugin.h"

namespace dmtcp::file {
namespace {

static_assert(sizeof(DescKey) == sizeof(share::FdKey));

share::FdExchange g_exchange("file");

share::FdKey wire_key(const DescKey& k) {
  share::FdKey w;
  memcpy(w.bytes, &k, sizeof w.bytes);
  return w;
}

int provide_from_table(void* ctx, const share::FdKey& wire, int leader_fd) {
  DescKey key;
  memcpy(&key, wire.bytes, sizeof key);
  return provide(*static_cast<const Table*>(ctx), key, leader_fd);
}

void receive_into_table(void* ctx, pid_t provider, uint32_t index, int fd,
                        bool alive) {
  Desc& d = static_cast<Table*>(ctx)->descs[index];
  if (fd < 0) {
    dmtcp_log("file plugin: fd %d (%s %s): process %d %s", d.first_fd,
              kind_name(d.kind), d.path.c_str(), provider,
              alive ? "did not have it" : "did not answer");
    return;
  }
  d.new_fd = fd;
}

}  // namespace

int provide(const Table& t, const DescKey& key, int leader_fd) {
  for (const Desc& d : t.descs) {
    if (key.kind == static_cast<uint8_t>(Kind::kPipe)) {
      if (d.kind != Kind::kPipe || d.st.st_ino != key.ino ||
          d.st.st_dev != key.dev || d.provider != 0) {
        continue;
      }
      bool creator = d.pipe_is_read_end && d.el.leader;
      if (creator) {
        return key.pipe_end == 'r' ? d.new_fd : d.pipe_peer_fd;
      }
      if (key.pipe_end == 'w' && d.el.leader && !d.pipe_is_read_end) {
        return d.new_fd;  // no reader inside: the write end we made
      }
      continue;
    }
    if (!d.el.leader || d.provider != 0 || d.new_fd < 0) {
      continue;
    }
    if (leader_fd >= 0 ? d.first_fd == leader_fd : d.key() == key) {
      return d.new_fd;
    }
  }
  return -1;
}

bool listen_for_askers(int park_min) {
  return g_exchange.listen(park_min);
}

bool ask_providers(Table* t, pid_t me, int park_min) {
  struct Asking {
    Table* t;
    pid_t me;
  } asking{t, me};
  return g_exchange.ask_each(
      t->descs.size(),
      [](void* ctx, size_t i, share::FdRequest* out) -> pid_t {
        auto* a = static_cast<Asking*>(ctx);
        const Desc& d = a->t->descs[i];
        *out = {wire_key(d.key()), d.el.leader_fd, static_cast<uint32_t>(i)};
        // Our own requests are resolve_own_requests()'s, after collect().
        return d.provider == a->me ? 0 : d.provider;
      },
      &asking, park_min);
}

void serve(Table* t) {
  g_exchange.serve(provide_from_table, t);
}

void collect(Table* t, int park_min) {
  g_exchange.collect(park_min, receive_into_table, t);
}

}  // namespace dmtcp::file
