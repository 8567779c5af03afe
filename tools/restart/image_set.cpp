#include "tools/restart/image_set.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace dmtcp::restart {
namespace {

uint32_t peers_of(const ImageInfo& i) {
  return i.num_peers != 0 ? i.num_peers : 1;
}

// One generation's images among those given.
struct Generation {
  std::vector<size_t> images;       // input order
  std::set<std::string> processes;  // distinct unique pids
  uint32_t peers = 0;               // the largest peer count its images give
  bool complete() const { return processes.size() >= peers; }
};

std::string images_word(size_t n) {
  return std::to_string(n) + (n == 1 ? " image" : " images");
}

// "generation 3", "generations 2, 3", "generations 1 ... 9".
std::string generations_text(const std::vector<uint32_t>& gens) {
  if (gens.size() == 1) {
    return "generation " + std::to_string(gens[0]);
  }
  if (gens.size() > 3) {
    return "generations " + std::to_string(gens.front()) + " ... " +
           std::to_string(gens.back());
  }
  std::string s = "generations ";
  for (size_t i = 0; i < gens.size(); ++i) {
    s += (i == 0 ? "" : ", ") + std::to_string(gens[i]);
  }
  return s;
}

std::string refuse_chosen(const std::vector<ImageInfo>& in,
                          const Generation& g) {
  std::map<std::string, size_t> by_process;
  for (size_t i : g.images) {
    auto [it, fresh] = by_process.emplace(in[i].unique_pid, i);
    if (!fresh) {
      return in[i].path + " and " + in[it->second].path +
             " are images of the same process (" + in[i].unique_pid +
             "); give each image once";
    }
  }
  const ImageInfo& first = in[g.images[0]];
  for (size_t i : g.images) {
    if (peers_of(in[i]) != peers_of(first)) {
      return in[i].path + " says its checkpoint (generation " +
             std::to_string(first.generation) + ") had " +
             std::to_string(peers_of(in[i])) + " processes, " + first.path +
             " says " + std::to_string(peers_of(first)) +
             ": images of two different checkpoints?";
    }
  }
  if (g.images.size() > peers_of(first)) {
    return std::to_string(g.images.size()) +
           " images given, but the checkpoint of " + first.path + " had " +
           std::to_string(peers_of(first)) + " processes";
  }
  for (size_t i : g.images) {
    if (!in[i].error.empty()) {
      return in[i].error;
    }
  }
  return {};
}

// Indices of the images that chosen images' chains go through: followed
// by parent_id among the images given (a link not given is open_chain's
// business).
std::set<size_t> chain_links(const std::vector<ImageInfo>& in,
                             const Generation& chosen) {
  constexpr std::array<uint64_t, 2> kNone{};
  std::map<std::array<uint64_t, 2>, size_t> by_id;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].image_id != kNone) {
      by_id.emplace(in[i].image_id, i);
    }
  }
  std::set<size_t> links;
  for (size_t i : chosen.images) {
    // Each step must reach an image not seen yet: forged ids that make a
    // cycle end the walk.
    for (auto id = in[i].parent_id; id != kNone;) {
      auto it = by_id.find(id);
      if (it == by_id.end() || !links.insert(it->second).second) {
        break;
      }
      id = in[it->second].parent_id;
    }
  }
  return links;
}

// The one line about the images left out (see image_set.h).
std::string notice_for(const std::vector<ImageInfo>& in,
                       const std::map<uint32_t, Generation>& gens,
                       uint32_t chosen) {
  std::set<std::string> chosen_processes = gens.at(chosen).processes;
  const std::set<size_t> links = chain_links(in, gens.at(chosen));
  std::vector<uint32_t> older;
  std::vector<uint32_t> newer;
  size_t n_older = 0;
  size_t n_gone = 0;  // older images of processes not in the chosen one
  size_t n_newer = 0;
  for (const auto& [gen, g] : gens) {
    if (gen < chosen) {
      size_t n = 0;
      for (size_t i : g.images) {
        if (links.count(i) == 0) {
          ++n;
          n_gone += chosen_processes.count(in[i].unique_pid) == 0 ? 1 : 0;
        }
      }
      if (n != 0) {
        older.push_back(gen);
        n_older += n;
      }
    } else if (gen > chosen) {
      newer.push_back(gen);
      n_newer += g.images.size();
    }
  }
  if (n_older + n_newer == 0) {
    return {};
  }
  std::string s = "ignoring ";
  if (n_newer != 0) {
    s += images_word(n_newer) + " of incomplete newer " +
         generations_text(newer) + " (";
    for (size_t k = 0; k < newer.size(); ++k) {
      const Generation& g = gens.at(newer[k]);
      s += (k == 0 ? "" : ", ") + std::to_string(g.processes.size()) + " of " +
           std::to_string(g.peers) + " processes";
    }
    s += ")";
    s += n_older != 0 ? " and " : "";
  }
  if (n_older != 0) {
    s += images_word(n_older) + " of older " + generations_text(older);
    std::string newest = "generation " + std::to_string(chosen);
    if (n_gone == n_older) {
      s += " (processes that have since exited?)";
    } else if (n_gone == 0) {
      s += " (superseded by " + newest + ")";
    } else {
      s += " (" + std::to_string(n_older - n_gone) + " superseded by " +
           newest + ", " + std::to_string(n_gone) +
           " of processes that have since exited?)";
    }
  }
  if (n_newer != 0) {
    s += ", restarting generation " + std::to_string(chosen);
  }
  s += ":";
  size_t named = 0;
  size_t ignored = n_older + n_newer;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].generation == chosen || links.count(i) != 0) {
      continue;
    }
    if (named == kNoticeMaxPaths && ignored > kNoticeMaxPaths) {
      s += " and " + std::to_string(ignored - named) + " more";
      break;
    }
    s += " " + in[i].path + (in[i].error.empty() ? "" : " (damaged)");
    ++named;
  }
  return s;
}

}  // namespace

ImageSelection select_images(const std::vector<ImageInfo>& in) {
  ImageSelection out;
  if (in.empty()) {
    out.refusal = "no image given";
    return out;
  }
  // 1. One computation.
  const std::string& comp = in[0].computation_id;
  for (const ImageInfo& i : in) {
    if (i.computation_id.empty()) {
      out.refusal = i.path + ": image names no computation (damaged header?)";
      return out;
    }
    if (i.computation_id != comp) {
      out.refusal = i.path + " belongs to computation " + i.computation_id +
                    ", " + in[0].path + " to " + comp +
                    ": restart the images of one checkpoint together";
      return out;
    }
  }
  // 2, 3. The newest complete generation, else the newest.
  std::map<uint32_t, Generation> gens;
  for (size_t i = 0; i < in.size(); ++i) {
    Generation& g = gens[in[i].generation];
    g.images.push_back(i);
    g.processes.insert(in[i].unique_pid);
    g.peers = std::max(g.peers, peers_of(in[i]));
  }
  auto chosen = gens.rbegin();
  for (auto it = gens.rbegin(); it != gens.rend(); ++it) {
    if (it->second.complete()) {
      chosen = it;
      break;
    }
  }
  // 4. The chosen generation must be one checkpoint, each process once.
  out.refusal = refuse_chosen(in, chosen->second);
  if (!out.refusal.empty()) {
    return out;
  }
  out.ok = true;
  out.generation = chosen->first;
  out.chosen = chosen->second.images;
  out.notice = notice_for(in, gens, chosen->first);
  return out;
}

}  // namespace dmtcp::restart
