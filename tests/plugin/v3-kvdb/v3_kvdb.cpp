// A plugin written against the DMTCP 3.x API (our own code), in C++ as
// most of that era's plugins are: two processes of one computation (a
// parent and its forked child) learn each other's pid through the
// coordinator's key-value database, with dmtcp_global_barrier between
// writing and reading, at every resume and restart.  It includes "dmtcp.h"
// and "kvdb.h" as 3.x plugins do.
//
// Algorithm:
//  1. INIT (the parent, before main, in the main thread: the database is
//     asked over a connection of its own): a lookup in a database nobody
//     wrote must answer DB_NOT_FOUND; then set "v3-kvdb-init"/"launched".
//  2. ATFORK_CHILD: this process is the "child" (otherwise "parent").
//  3. PRECHECKPOINT (checkpoint thread, every process suspended): the INIT
//     value must read back; a missing key is KEY_NOT_FOUND.
//  4. RESUME and RESTART (every layer below is back): with
//     V3_KVDB_SLOW=<role> that role sleeps a second first; set64 our pid
//     under our role, INCRBY "arrivals" by 1; dmtcp_global_barrier; get64
//     the peer's pid and "arrivals", and print
//     "v3-kvdb: <role> pid <ours> peer <pid> arrivals <n> restart <0|1>".
//     The database outlives rounds, so arrivals counts every process of
//     every round so far: 2 after the first checkpoint, 4 after a restart
//     under the same coordinator -- and only because the barrier made the
//     fast process wait for the slow one's increment.
//  Lines go out with say() (one write(2)); dmtcp::string allocates with
//  dmtcp_alloc, so all of this is safe while user threads are frozen.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmtcp.h"
#include "kvdb.h"
#include "say.h"

using dmtcp::kvdb::KVDBRequest;
using dmtcp::kvdb::KVDBResponse;

static const char* g_role = "parent";
static const char kDb[] = "v3-kvdb";

static const char* response_name(KVDBResponse r) {
  switch (r) {
    case KVDBResponse::SUCCESS:
      return "SUCCESS";
    case KVDBResponse::INVALID_REQUEST:
      return "INVALID_REQUEST";
    case KVDBResponse::DB_NOT_FOUND:
      return "DB_NOT_FOUND";
    case KVDBResponse::KEY_NOT_FOUND:
      return "KEY_NOT_FOUND";
  }
  return "?";
}

static void at_init() {
  dmtcp::string val;
  KVDBResponse r = dmtcp::kvdb::get("v3-kvdb-never-written", "x", &val);
  if (r != KVDBResponse::DB_NOT_FOUND) {
    say("v3-kvdb: FAIL lookup in an unknown database: %s", response_name(r));
  }
  r = dmtcp::kvdb::set("v3-kvdb-init", "launched", "yes");
  say("v3-kvdb: init set %s", response_name(r));
}

static void at_precheckpoint() {
  dmtcp::string val;
  KVDBResponse r = dmtcp::kvdb::get("v3-kvdb-init", "launched", &val);
  if (r != KVDBResponse::SUCCESS || val != "yes") {
    say("v3-kvdb: FAIL init value: %s \"%s\"", response_name(r), val.c_str());
  }
  r = dmtcp::kvdb::get("v3-kvdb-init", "no-such-key", &val);
  if (r != KVDBResponse::KEY_NOT_FOUND) {
    say("v3-kvdb: FAIL missing key: %s", response_name(r));
  }
  say("v3-kvdb: %s precheckpoint", g_role);
}

static void exchange(int is_restart) {
  const char* slow = getenv("V3_KVDB_SLOW");
  if (slow != NULL && strcmp(slow, g_role) == 0) {
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
  }
  KVDBResponse r = dmtcp::kvdb::set64(kDb, g_role, getpid());
  int64_t before = -1;
  KVDBResponse r2 = dmtcp::kvdb::request64(KVDBRequest::INCRBY, kDb,
                                           "arrivals", 1, &before);
  if (r != KVDBResponse::SUCCESS || r2 != KVDBResponse::SUCCESS) {
    say("v3-kvdb: FAIL set %s, incr %s", response_name(r),
        response_name(r2));
    return;
  }
  dmtcp_global_barrier(is_restart ? "v3-kvdb:restart" : "v3-kvdb:resume");
  const char* other = strcmp(g_role, "parent") == 0 ? "child" : "parent";
  int64_t peer = 0;
  int64_t arrivals = 0;
  r = dmtcp::kvdb::get64(kDb, other, &peer);
  r2 = dmtcp::kvdb::get64(kDb, "arrivals", &arrivals);
  if (r != KVDBResponse::SUCCESS || r2 != KVDBResponse::SUCCESS) {
    say("v3-kvdb: FAIL get %s, arrivals %s", response_name(r),
        response_name(r2));
    return;
  }
  say("v3-kvdb: %s pid %d peer %lld arrivals %lld restart %d", g_role,
      (int)getpid(), (long long)peer, (long long)arrivals, is_restart);
}

static void v3_kvdb_event(DmtcpEvent_t event, DmtcpEventData_t* data) {
  (void)data;
  switch (event) {
    case DMTCP_EVENT_INIT:
      at_init();
      break;
    case DMTCP_EVENT_ATFORK_CHILD:
      g_role = "child";
      break;
    case DMTCP_EVENT_PRECHECKPOINT:
      at_precheckpoint();
      break;
    case DMTCP_EVENT_RESUME:
      exchange(0);
      break;
    case DMTCP_EVENT_RESTART:
      exchange(1);
      break;
    default:
      break;
  }
}

DmtcpPluginDescriptor_t v3_kvdb_plugin = {
    DMTCP_PLUGIN_API_VERSION,
    DMTCP_PACKAGE_VERSION,
    "v3_kvdb",
    "dmtcp-cpp tests",
    "nobody@example.invalid",
    "DMTCP 3.x-style plugin: the key-value database across two processes",
    v3_kvdb_event};

DMTCP_DECL_PLUGIN(v3_kvdb_plugin);
