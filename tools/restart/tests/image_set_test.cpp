// select_images(): which generation of the images given dmtcp_restart
// restarts, what it says about the others, and what it refuses.
#define BOOST_TEST_MODULE image_set
#include "tools/restart/image_set.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using dmtcp::restart::ImageInfo;
using dmtcp::restart::ImageSelection;
using dmtcp::restart::kNoticeMaxPaths;
using dmtcp::restart::select_images;

namespace {

ImageInfo image(const std::string& path, uint32_t generation,
                uint32_t num_peers, const std::string& upid,
                const std::string& comp = "hostA-100-5f00-1") {
  ImageInfo i;
  i.path = path;
  i.computation_id = comp;
  i.generation = generation;
  i.num_peers = num_peers;
  i.unique_pid = upid;
  return i;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_checkpoint_is_taken_whole_and_silently) {
  ImageSelection s =
      select_images({image("a", 3, 2, "p1"), image("b", 3, 2, "p2")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 3u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{0, 1}));
  BOOST_TEST(s.notice.empty(), s.notice);
}

// The case: p2 exited after generation 1; generation 2 has p1 only.
BOOST_AUTO_TEST_CASE(newest_complete_generation_wins_over_older_ones) {
  ImageSelection s =
      select_images({image("old_p1", 1, 2, "p1"), image("old_p2", 1, 2, "p2"),
                     image("p1", 2, 1, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 2u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{2}));
  BOOST_TEST(s.notice ==
                 "ignoring 2 images of older generation 1 (1 superseded by "
                 "generation 2, 1 of processes that have since exited?): "
                 "old_p1 old_p2",
             s.notice);
}

BOOST_AUTO_TEST_CASE(order_on_the_command_line_does_not_matter) {
  ImageSelection s =
      select_images({image("b", 5, 2, "p2"), image("old", 4, 3, "p3"),
                     image("a", 5, 2, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 5u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{0, 2}));  // input order
  BOOST_TEST(s.notice ==
                 "ignoring 1 image of older generation 4 (processes that "
                 "have since exited?): old",
             s.notice);
}

BOOST_AUTO_TEST_CASE(several_kept_generations_of_the_same_processes) {
  std::vector<ImageInfo> in;
  for (uint32_t gen = 1; gen <= 3; ++gen) {
    in.push_back(image("p1.g" + std::to_string(gen), gen, 2, "p1"));
    in.push_back(image("p2.g" + std::to_string(gen), gen, 2, "p2"));
  }
  ImageSelection s = select_images(in);
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 3u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{4, 5}));
  BOOST_TEST(s.notice ==
                 "ignoring 4 images of older generations 1, 2 (superseded "
                 "by generation 3): p1.g1 p2.g1 p1.g2 p2.g2",
             s.notice);
}

// A round that wrote only some images (or images lost since): the older
// complete checkpoint is restarted, and the line says so.
BOOST_AUTO_TEST_CASE(newest_incomplete_falls_back_to_older_complete) {
  ImageSelection s =
      select_images({image("a4", 4, 2, "p1"), image("b4", 4, 2, "p2"),
                     image("a5", 5, 2, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 4u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{0, 1}));
  BOOST_TEST(s.notice ==
                 "ignoring 1 image of incomplete newer generation 5 (1 of 2 "
                 "processes), restarting generation 4: a5",
             s.notice);
}

BOOST_AUTO_TEST_CASE(both_newer_incomplete_and_older_are_named_in_one_line) {
  ImageSelection s =
      select_images({image("a3", 3, 1, "p1"), image("a4", 4, 2, "p1"),
                     image("b4", 4, 2, "p2"), image("a5", 5, 3, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 4u);
  BOOST_TEST(s.notice ==
                 "ignoring 1 image of incomplete newer generation 5 (1 of 3 "
                 "processes) and 1 image of older generation 3 (superseded "
                 "by generation 4), restarting generation 4: a3 a5",
             s.notice);
  BOOST_TEST(s.notice.find('\n') == std::string::npos);
}

// The others may be on other hosts (the coordinator waits for them), as
// before: with no complete generation, the newest is taken.
BOOST_AUTO_TEST_CASE(remote_hosts_no_complete_generation_takes_newest) {
  ImageSelection s = select_images({image("a", 7, 3, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 7u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{0}));
  BOOST_TEST(s.notice.empty());

  s = select_images({image("a6", 6, 3, "p1"), image("a7", 7, 3, "p1"),
                     image("b7", 7, 3, "p2")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 7u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{1, 2}));
  BOOST_TEST(s.notice ==
                 "ignoring 1 image of older generation 6 (superseded by "
                 "generation 7): a6",
             s.notice);
}

BOOST_AUTO_TEST_CASE(two_computations_are_refused) {
  ImageSelection s =
      select_images({image("a", 2, 1, "p1"), image("old", 1, 1, "p1"),
                     image("x", 9, 1, "q1", "hostB-200-6000-1")});
  BOOST_TEST(!s.ok);
  BOOST_TEST(s.refusal ==
                 "x belongs to computation hostB-200-6000-1, a to "
                 "hostA-100-5f00-1: restart the images of one checkpoint "
                 "together",
             s.refusal);
  BOOST_TEST(s.chosen.empty());
}

BOOST_AUTO_TEST_CASE(an_image_without_computation_is_refused) {
  ImageSelection s = select_images({image("a", 2, 1, "p1", "")});
  BOOST_TEST(!s.ok);
  BOOST_TEST(contains(s.refusal, "a: image names no computation"), s.refusal);
}

BOOST_AUTO_TEST_CASE(one_process_twice_in_the_chosen_generation_is_refused) {
  ImageSelection s =
      select_images({image("a", 2, 2, "p1"), image("copy_of_a", 2, 2, "p1")});
  BOOST_TEST(!s.ok);
  BOOST_TEST(s.refusal ==
                 "copy_of_a and a are images of the same process (p1); give "
                 "each image once",
             s.refusal);

  // Also when the duplicate makes up the count: p1 twice is not p1 and p2.
  s = select_images({image("a1", 1, 2, "p1"), image("b1", 1, 2, "p2"),
                     image("a2", 2, 2, "p1"), image("a2copy", 2, 2, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 1u);
}

BOOST_AUTO_TEST_CASE(duplicates_in_an_ignored_generation_do_not_matter) {
  ImageSelection s =
      select_images({image("a1", 1, 1, "p1"), image("a1copy", 1, 1, "p1"),
                     image("a2", 2, 1, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 2u);
  BOOST_TEST(s.chosen == (std::vector<size_t>{2}));
}

BOOST_AUTO_TEST_CASE(more_processes_than_the_checkpoint_had_is_refused) {
  ImageSelection s =
      select_images({image("a", 2, 1, "p1"), image("b", 2, 1, "p2")});
  BOOST_TEST(!s.ok);
  BOOST_TEST(
      s.refusal == "2 images given, but the checkpoint of a had 1 processes",
      s.refusal);
}

BOOST_AUTO_TEST_CASE(peer_counts_that_disagree_are_refused) {
  ImageSelection s =
      select_images({image("a", 2, 2, "p1"), image("b", 2, 3, "p2")});
  BOOST_TEST(!s.ok);
  BOOST_TEST(contains(s.refusal,
                      "b says its checkpoint (generation 2) had 3 "
                      "processes, a says 2"),
             s.refusal);
}

BOOST_AUTO_TEST_CASE(old_images_without_peer_count_count_as_one) {
  ImageSelection s = select_images({image("a", 1, 0, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  s = select_images({image("a", 1, 0, "p1"), image("b", 1, 0, "p2")});
  BOOST_TEST(!s.ok);
}

// A damaged image whose header is whole: ignored with a mention when its
// generation is not restarted, its error when it is.
BOOST_AUTO_TEST_CASE(damaged_image_of_an_ignored_generation_is_mentioned) {
  ImageInfo bad = image("bad", 1, 2, "p2");
  bad.error = "bad: region table checksum mismatch (corrupt image)";
  ImageSelection s =
      select_images({image("a1", 1, 2, "p1"), bad, image("a2", 2, 1, "p1")});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 2u);
  BOOST_TEST(contains(s.notice, ": a1 bad (damaged)"), s.notice);

  s = select_images({image("a1", 1, 1, "p1"), bad, image("a2", 1, 2, "p1")});
  BOOST_TEST(!s.ok);
  s = select_images({image("a1", 1, 2, "p1"), bad});
  BOOST_TEST(!s.ok);
  BOOST_TEST(s.refusal == bad.error, s.refusal);
}

BOOST_AUTO_TEST_CASE(a_long_list_of_ignored_images_is_cut_short) {
  std::vector<ImageInfo> in;
  for (int k = 0; k < 10; ++k) {
    in.push_back(
        image("old" + std::to_string(k), 1, 11, "p" + std::to_string(k)));
  }
  in.push_back(image("new", 9, 1, "p0"));
  ImageSelection s = select_images(in);
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 9u);
  BOOST_TEST(contains(s.notice, "ignoring 10 images of older generation 1"),
             s.notice);
  BOOST_TEST(contains(s.notice, ": old0 old1 old2 old3 old4 old5 and 4 more"),
             s.notice);
  BOOST_TEST(!contains(s.notice, "old6"), s.notice);
  static_assert(kNoticeMaxPaths == 6);
}

BOOST_AUTO_TEST_CASE(many_older_generations_are_named_as_a_range) {
  std::vector<ImageInfo> in;
  for (uint32_t gen = 1; gen <= 5; ++gen) {
    in.push_back(image("g" + std::to_string(gen), gen, 1, "p1"));
  }
  ImageSelection s = select_images(in);
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 5u);
  BOOST_TEST(contains(s.notice, "4 images of older generations 1 ... 4"),
             s.notice);
}

BOOST_AUTO_TEST_CASE(links_of_a_chosen_chain_are_used_not_ignored) {
  // p1: full image 1 <- incremental 2 <- incremental 3; p2 full at 3.
  ImageInfo full = image("p1.1", 1, 2, "p1");
  full.image_id = {1, 1};
  ImageInfo mid = image("p1.2", 2, 2, "p1");
  mid.image_id = {2, 2};
  mid.parent_id = {1, 1};
  ImageInfo top = image("p1.3", 3, 2, "p1");
  top.image_id = {3, 3};
  top.parent_id = {2, 2};
  ImageInfo other = image("p2.3", 3, 2, "p2");
  other.image_id = {4, 4};
  ImageSelection s = select_images({full, mid, top, other});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 3u);
  BOOST_TEST(s.notice.empty(), s.notice);

  // An old full image of p2 that no chain needs is still named.
  ImageInfo stale = image("p2.1", 1, 2, "p2");
  stale.image_id = {5, 5};
  s = select_images({full, mid, top, other, stale});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(contains(s.notice, "ignoring 1 image of older generation 1"),
             s.notice);
  BOOST_TEST(contains(s.notice, "p2.1"), s.notice);
  BOOST_TEST(!contains(s.notice, "p1.1"), s.notice);
}

BOOST_AUTO_TEST_CASE(a_cycle_of_forged_chain_ids_ends) {
  ImageInfo a = image("a", 1, 1, "p1");
  a.image_id = {1, 1};
  a.parent_id = {2, 2};
  ImageInfo b = image("b", 2, 1, "p1");
  b.image_id = {2, 2};
  b.parent_id = {1, 1};
  ImageSelection s = select_images({a, b});
  BOOST_TEST_REQUIRE(s.ok, s.refusal);
  BOOST_TEST(s.generation == 2u);
  BOOST_TEST(s.notice.empty(), s.notice);
}
