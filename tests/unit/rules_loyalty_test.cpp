// Loyalty operators over a fake history provider: each operator's meaning, what the engine asks
// the provider for, and the requirements a compiled rule declares.
#include <catch2/catch.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/rules/engine.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;
using namespace std::chrono;
using loyalty::rules::HistoryKind;
using loyalty::rules::HistoryRequirement;

namespace {

// Saturday 15 June 2024, 18:30 local time, unless a test changes it.
class FakeHistory : public loyalty::rules::HistoryProvider {
 public:
  std::optional<loyalty::rules::LocalDateTime> now =
      loyalty::rules::LocalDateTime{2024y / June / 15, hours{18} + minutes{30}};
  std::map<std::pair<std::string, int>, std::int64_t> counts;
  std::map<std::pair<int, std::string>, double> totals;
  std::map<std::string, year_month_day> last;
  std::map<std::string, std::int64_t> visits;
  std::optional<month_day> birth;
  std::optional<year_month_day> enrolled;
  std::set<std::string> tags;
  std::set<std::string> segments;
  std::vector<std::string> calls;

  std::optional<loyalty::rules::LocalDateTime> local_time() override {
    calls.push_back("local_time");
    return now;
  }
  std::int64_t event_count(std::string_view type, int days) override {
    calls.push_back("event_count " + std::string(type) + " " + std::to_string(days));
    auto it = counts.find({std::string(type), days});
    return it == counts.end() ? 0 : it->second;
  }
  double purchase_total(int days, std::string_view currency) override {
    calls.push_back("purchase_total " + std::to_string(days) + " " + std::string(currency));
    auto it = totals.find({days, std::string(currency)});
    return it == totals.end() ? 0 : it->second;
  }
  std::optional<year_month_day> last_event_date(std::string_view type) override {
    calls.push_back("last_event_date " + std::string(type));
    auto it = last.find(std::string(type));
    if (it == last.end()) return std::nullopt;
    return it->second;
  }
  std::int64_t visit_number(std::string_view type) override {
    calls.push_back("visit_number " + std::string(type));
    return visits[std::string(type)];
  }
  std::optional<month_day> birthday() override {
    calls.push_back("birthday");
    return birth;
  }
  std::optional<year_month_day> enrolment_date() override {
    calls.push_back("enrolment_date");
    return enrolled;
  }
  bool has_tag(std::string_view tag) override {
    calls.push_back("has_tag " + std::string(tag));
    return tags.count(std::string(tag)) > 0;
  }
  bool in_segment(std::string_view segment) override {
    calls.push_back("in_segment " + std::string(segment));
    return segments.count(std::string(segment)) > 0;
  }
};

json eval(const char* logic, FakeHistory& history, const char* data = "{}") {
  return loyalty::rules::apply(json::parse(logic), json::parse(data), &history);
}

std::vector<loyalty::FieldError> errors_of(const char* logic) {
  return loyalty::rules::check_logic(json::parse(logic));
}

}  // namespace

TEST_CASE("rules: event_count counts the customer's earlier events of a type in a window",
          "[unit]") {
  FakeHistory history;
  history.counts[{"purchase", 30}] = 4;
  CHECK(eval(R"({"event_count": ["purchase", 30]})", history) == 4);
  CHECK(eval(R"({">=": [{"event_count": ["purchase", 30]}, 3]})", history) == true);
  CHECK(eval(R"({"event_count": ["visit", 7]})", history) == 0);
  CHECK(history.calls == std::vector<std::string>{"event_count purchase 30",
                                                  "event_count purchase 30",
                                                  "event_count visit 7"});
}

TEST_CASE("rules: purchase_total sums earlier purchase amounts, optionally in one currency",
          "[unit]") {
  FakeHistory history;
  history.totals[{30, ""}] = 152.75;
  history.totals[{7, "USD"}] = 40;
  CHECK(eval(R"({"purchase_total": [30]})", history) == 152.75);
  CHECK(eval(R"({">": [{"purchase_total": [7, "USD"]}, 39.99]})", history) == true);
  // The current purchase is in the data; a rule adds it when it wants the running total.
  CHECK(eval(R"({">=": [{"+": [{"purchase_total": [30]}, {"var": "event.amount"}]}, 200]})",
             history, R"({"event": {"amount": 47.25}})") == true);
}

TEST_CASE("rules: days_since_last counts local calendar days, null without an earlier event",
          "[unit]") {
  FakeHistory history;
  history.last["visit"] = 2024y / June / 1;
  CHECK(eval(R"({"days_since_last": ["visit"]})", history) == 14);
  CHECK(eval(R"({"days_since_last": ["purchase"]})", history) == nullptr);
  CHECK(eval(R"({">": [{"days_since_last": ["visit"]}, 10]})", history) == true);
  history.last["visit"] = 2024y / June / 15;
  CHECK(eval(R"({"days_since_last": ["visit"]})", history) == 0);
}

TEST_CASE("rules: visit_number is this event's position among the customer's events", "[unit]") {
  FakeHistory history;
  history.visits["visit"] = 1;
  CHECK(eval(R"({"==": [{"visit_number": ["visit"]}, 1]})", history) == true);
  history.visits["visit"] = 10;
  CHECK(eval(R"({"==": [{"%": [{"visit_number": ["visit"]}, 5]}, 0]})", history) == true);
}

TEST_CASE("rules: birthday_within looks ahead from today, across the new year", "[unit]") {
  FakeHistory history;
  history.birth = June / 20;
  CHECK(eval(R"({"birthday_within": [7]})", history) == true);
  CHECK(eval(R"({"birthday_within": [4]})", history) == false);
  CHECK(eval(R"({"birthday_within": [5]})", history) == true);
  history.birth = June / 15;
  CHECK(eval(R"({"birthday_within": [0]})", history) == true);
  history.birth = June / 14;  // yesterday: next one is a year away
  CHECK(eval(R"({"birthday_within": [300]})", history) == false);
  history.now->date = 2024y / December / 30;
  history.birth = January / 2;
  CHECK(eval(R"({"birthday_within": [3]})", history) == true);
  history.birth.reset();
  CHECK(eval(R"({"birthday_within": [3]})", history) == nullptr);
}

TEST_CASE("rules: a 29 February birthday is celebrated on 28 February in common years", "[unit]") {
  CHECK(loyalty::rules::days_until_birthday(February / 29, 2025y / February / 27) == 1);
  CHECK(loyalty::rules::days_until_birthday(February / 29, 2024y / February / 27) == 2);
  CHECK(loyalty::rules::days_until_birthday(February / 29, 2025y / March / 1) == 364);
}

TEST_CASE("rules: weekday_in tests the event's local weekday", "[unit]") {
  FakeHistory history;  // a Saturday
  CHECK(eval(R"({"weekday_in": ["sat", "sun"]})", history) == true);
  CHECK(eval(R"({"weekday_in": [["Saturday"]]})", history) == true);
  CHECK(eval(R"({"weekday_in": ["mon", "tue", "wed", "thu", "fri"]})", history) == false);
  history.now->date = 2024y / June / 16;
  CHECK(eval(R"({"weekday_in": "SUN"})", history) == true);
}

TEST_CASE("rules: local_time_between includes the start, excludes the end, wraps midnight",
          "[unit]") {
  FakeHistory history;  // 18:30
  CHECK(eval(R"({"local_time_between": ["17:00", "19:00"]})", history) == true);
  CHECK(eval(R"({"local_time_between": ["18:30", "19:00"]})", history) == true);
  CHECK(eval(R"({"local_time_between": ["17:00", "18:30"]})", history) == false);
  CHECK(eval(R"({"local_time_between": ["22:00", "02:00"]})", history) == false);
  history.now->time_of_day = hours{1} + minutes{15};
  CHECK(eval(R"({"local_time_between": ["22:00", "02:00"]})", history) == true);
  history.now->time_of_day = hours{23} + minutes{59} + seconds{59};
  CHECK(eval(R"({"local_time_between": ["23:00", "24:00"]})", history) == true);
  history.now.reset();
  CHECK(eval(R"({"local_time_between": ["00:00", "24:00"]})", history) == nullptr);
}

TEST_CASE("rules: has_tag and in_segment test the customer", "[unit]") {
  FakeHistory history;
  history.tags = {"vip"};
  history.segments = {"students"};
  CHECK(eval(R"({"has_tag": ["vip"]})", history) == true);
  CHECK(eval(R"({"has_tag": "staff"})", history) == false);
  CHECK(eval(R"({"in_segment": ["students"]})", history) == true);
  CHECK(eval(R"({"in_segment": ["pensioners"]})", history) == false);
}

TEST_CASE("rules: days_since_enrolment counts local calendar days", "[unit]") {
  FakeHistory history;
  history.enrolled = 2024y / May / 16;
  CHECK(eval(R"({"days_since_enrolment": []})", history) == 30);
  CHECK(eval(R"({"<=": [{"days_since_enrolment": []}, 30]})", history) == true);
  history.enrolled.reset();
  CHECK(eval(R"({"days_since_enrolment": []})", history) == nullptr);
}

TEST_CASE("rules: without a history provider the loyalty operators give null", "[unit]") {
  json logic = json::parse(R"([{"event_count": ["visit", 30]}, {"has_tag": ["vip"]},
                               {"weekday_in": ["sat"]}, {"days_since_enrolment": []}])");
  CHECK(loyalty::rules::apply(logic, json::object()) == json::parse("[null, null, null, null]"));
}

TEST_CASE("rules: the provider is asked only for what the evaluation reaches", "[unit]") {
  FakeHistory history;
  history.tags = {"vip"};
  CHECK(eval(R"({"or": [{"has_tag": ["vip"]}, {"event_count": ["visit", 30]}]})", history) == true);
  CHECK(history.calls == std::vector<std::string>{"has_tag vip"});
  history.calls.clear();
  // The local clock is read once per evaluation, however many operators use it.
  CHECK(eval(R"({"and": [{"weekday_in": ["sat"]}, {"local_time_between": ["18:00", "20:00"]}]})",
             history) == true);
  CHECK(history.calls == std::vector<std::string>{"local_time"});
}

TEST_CASE("rules: a compiled rule lists the history values it needs", "[unit]") {
  auto program = loyalty::rules::compile(json::parse(R"({"and": [
      {">=": [{"event_count": ["purchase", 30]}, 3]},
      {"or": [{"has_tag": ["vip"]}, {"in_segment": ["gold"]}]},
      {">": [{"days_since_last": ["visit"]}, 14]},
      {"weekday_in": ["sat"]},
      {"has_tag": ["vip"]},
      {">": [{"purchase_total": [7, "USD"]}, 100]}]})"));
  std::vector<HistoryRequirement> expected = {
      {HistoryKind::local_time, "", 0},
      {HistoryKind::event_count, "purchase", 30},
      {HistoryKind::purchase_total, "USD", 7},
      {HistoryKind::last_event_date, "visit", 0},
      {HistoryKind::tag, "vip", 0},
      {HistoryKind::segment, "gold", 0},
  };
  CHECK(program.requirements() == expected);
  auto plain = loyalty::rules::compile(json::parse(R"({">": [{"var": "event.amount"}, 5]})"));
  CHECK(plain.requirements().empty());
}

TEST_CASE("rules: a rule set gives the union of its rules' requirements", "[unit]") {
  loyalty::rules::RuleSet set;
  set.add(json::parse(R"({"has_tag": ["vip"]})"));
  set.add(json::parse(R"({"or": [{"has_tag": ["vip"]}, {"visit_number": ["visit"]}]})"));
  std::vector<HistoryRequirement> expected = {{HistoryKind::visit_number, "visit", 0},
                                              {HistoryKind::tag, "vip", 0}};
  CHECK(set.requirements() == expected);
}

TEST_CASE("rules: malformed loyalty operators are refused with the argument's pointer", "[unit]") {
  auto errors = errors_of(R"({"and": [
      {"event_count": ["purchase"]},
      {"event_count": [{"var": "type"}, 0]},
      {"purchase_total": [30, "usd"]},
      {"weekday_in": ["sat", "caturday"]},
      {"local_time_between": ["25:00", "10:00"]},
      {"local_time_between": ["10:00", "10:00"]},
      {"has_tag": [""]},
      {"days_since_enrolment": [1]},
      {"birthday_within": [-1]}]})");
  REQUIRE(errors.size() == 10);
  CHECK(errors[0].pointer == "/and/0/event_count");
  CHECK(errors[0].message ==
        R"("event_count" takes 2 arguments: {"event_count": [EVENT_TYPE, DAYS]})");
  CHECK(errors[1].pointer == "/and/1/event_count/0");
  CHECK(errors[1].message == R"("event_count": EVENT_TYPE must be a non-empty string)");
  CHECK(errors[2].pointer == "/and/1/event_count/1");
  CHECK(errors[2].message == R"("event_count": DAYS must be a whole number from 1 to 3650)");
  CHECK(errors[3].pointer == "/and/2/purchase_total/1");
  CHECK(errors[4].pointer == "/and/3/weekday_in/1");
  CHECK(errors[5].pointer == "/and/4/local_time_between/0");
  CHECK(errors[6].pointer == "/and/5/local_time_between/1");
  CHECK(errors[7].pointer == "/and/6/has_tag/0");
  CHECK(errors[8].pointer == "/and/7/days_since_enrolment");
  CHECK(errors[9].pointer == "/and/8/birthday_within/0");
}
