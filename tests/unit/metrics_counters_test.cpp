// The library's counters: label values are bounded, and concurrent first uses of one value end
// on one series.
#include <catch2/catch.hpp>
#include <loyalty/metrics/counters.hpp>

#include <map>
#include <string>
#include <thread>
#include <vector>

using loyalty::metrics::LabelledCounters;

namespace {

template <std::size_t Capacity, std::size_t Columns>
std::map<std::string, std::array<std::uint64_t, Columns>> read(
    const LabelledCounters<Capacity, Columns>& counters) {
  std::map<std::string, std::array<std::uint64_t, Columns>> out;
  counters.each([&](std::string_view value, const auto& counts) {
    REQUIRE(out.count(std::string(value)) == 0);  // each value once
    out[std::string(value)] = counts;
  });
  return out;
}

}  // namespace

TEST_CASE("metrics counters: values beyond the capacity, and overlong ones, count as other",
          "[unit]") {
  LabelledCounters<3, 2> c;
  c.add("purchase", 0);
  c.add("purchase", 1, 4);
  c.add("visit", 0);
  c.add("refund", 1);
  c.add("signup", 0, 2);  // a fourth value
  c.add(std::string(65, 'x'), 1);
  auto seen = read(c);
  CHECK(seen.size() == 4);
  CHECK(seen["purchase"] == std::array<std::uint64_t, 2>{1, 4});
  CHECK(seen["visit"] == std::array<std::uint64_t, 2>{1, 0});
  CHECK(seen["refund"] == std::array<std::uint64_t, 2>{0, 1});
  CHECK(seen["other"] == std::array<std::uint64_t, 2>{2, 1});
}

TEST_CASE("metrics counters: nothing counted shows no series, and other appears only when used",
          "[unit]") {
  LabelledCounters<4> c;
  CHECK(read(c).empty());
  c.add("validation-failed");
  auto seen = read(c);
  CHECK(seen.size() == 1);
  CHECK(seen["validation-failed"][0] == 1);
}

TEST_CASE(
    "metrics counters: eight threads adding the same new values lose no count and make "
    "one series per value",
    "[unit]") {
  LabelledCounters<8> c;
  constexpr int kThreads = 8, kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) c.add(i % 2 ? "a" : "b");
    });
  }
  for (auto& t : threads) t.join();
  auto seen = read(c);
  CHECK(seen.size() == 2);
  CHECK(seen["a"][0] == kThreads * kRounds / 2);
  CHECK(seen["b"][0] == kThreads * kRounds / 2);
}
