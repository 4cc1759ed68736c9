// Group commit against the real database: several events in one transaction, as loyaltyd's
// EventGroups runs them.
#include "pg/shop.hpp"

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using namespace loyalty::test::shop;

// Group commit: several events in one transaction (process_events, which loyaltyd's EventGroups
// runs for the events that arrive while a tenant's transactions are busy).

namespace {

std::vector<loyalty::events::EventResult> process_group(Shop& shop,
                                                        const std::vector<nlohmann::json>& bodies) {
  std::vector<loyalty::events::EventInput> inputs;
  for (const auto& b : bodies) inputs.push_back({b, "", loyalty::Actor::system()});
  return loyalty::events::process_events(*shop.app, shop.cache, shop.tenant_id, inputs);
}

nlohmann::json answer_of(const loyalty::events::EventResult& r) {
  REQUIRE_FALSE(r.error);
  return nlohmann::json::parse(r.response.body);
}

std::string error_type(const loyalty::events::EventResult& r) {
  if (!r.error) return "none";
  try {
    std::rethrow_exception(r.error);
  } catch (const loyalty::Error& e) {
    return e.type();
  }
}

}  // namespace

TEST_CASE("event groups: a failing event inside a group fails alone and writes nothing", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  auto results = process_group(
      *shop, {purchase(phone(1), "a"),
              // an unknown customer named by id: refused (stage 3), after the first event's writes
              {{"customer", {{"id", "00000000-0000-4000-8000-000000000001"}}},
               {"type", "purchase"},
               {"data", {{"amount", "60.00"}, {"currency", "USD"}}},
               {"idempotency_key", "b"}},
              purchase(phone(2), "c"),
              // a refund of an event that does not exist: the claim's insert fails on the events'
              // foreign key (a database error, inside the group's transaction)
              {{"customer", {{"phone", phone(3)}}},
               {"type", "refund"},
               {"data", {{"original_event_id", "00000000-0000-4000-8000-000000000002"}}},
               {"idempotency_key", "d"}},
              purchase(phone(4), "e")});
  REQUIRE(results.size() == 5);
  CHECK(answer_of(results[0])["issuances"].size() == 1);
  CHECK(error_type(results[1]) == "unknown-customer");
  CHECK(answer_of(results[2])["issuances"].size() == 1);
  CHECK(error_type(results[3]) == "reference-not-found");
  CHECK(answer_of(results[4])["issuances"].size() == 1);
  // The refused events left no event row; the refund's customer, enrolled on the fly behind its
  // savepoint, went with it.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(idempotency_key, ',' ORDER BY idempotency_key) "
                  "FROM events") == "a,c,e");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events WHERE status <> 'processed'") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "3");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "3");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs") == "3");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "300");
  // Each stored answer is the one its caller got.
  for (int i : {0, 2, 4}) {
    auto key = std::string(1, static_cast<char>('a' + i));
    CHECK(nlohmann::json::parse(sql_value(db.owner(),
                                          "SELECT response::text FROM events WHERE "
                                          "idempotency_key = '" +
                                              key + "'")) == answer_of(results[i]));
  }
  require_ledger_ok(db);
}

TEST_CASE("event groups: repeats of one idempotency key inside a group replay the first answer",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  auto results =
      process_group(*shop, {purchase(phone(1), "same"), purchase(phone(1), "same"),
                            purchase(phone(1), "same", "99.00"), purchase(phone(1), "same")});
  auto first = answer_of(results[0]);
  CHECK_FALSE(results[0].response.replayed);
  CHECK(first["issuances"].size() == 1);
  CHECK(results[1].response.replayed);
  CHECK(results[1].response.body == results[0].response.body);
  CHECK(error_type(results[2]) == "idempotency-key-reused");
  CHECK(results[3].response.replayed);
  CHECK(results[3].response.body == results[0].response.body);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "1");
  // After the commit, a replay from the database answers the same bytes.
  auto later = process(*shop, purchase(phone(1), "same"));
  CHECK(later.replayed);
  CHECK(later.body == results[0].response.body);
  require_ledger_ok(db);
}

TEST_CASE(
    "event groups: one customer's events inside a group see each other's rewards, and the "
    "group's events share the budget and stock they read",
    "[pg]") {
  TestDatabase db;
  SECTION("a per-customer cap of 2 a day over 3 events of one new customer") {
    auto shop = make_shop(db, dollar_off(), "100.00",
                          rule("dollar-off", {{"per_customer", {{"max", 2}, {"period", "day"}}}}));
    auto results = process_group(
        *shop, {purchase(phone(1), "a"), purchase(phone(1), "b"), purchase(phone(1), "c")});
    auto a = answer_of(results[0]), b = answer_of(results[1]), c = answer_of(results[2]);
    CHECK(a["customer"]["enrolled"] == true);
    CHECK(b["customer"]["enrolled"] == false);
    CHECK(a["customer"]["id"] == c["customer"]["id"]);
    CHECK(a["issuances"].size() == 1);
    CHECK(b["issuances"].size() == 1);
    CHECK(c["issuances"].empty());
    CHECK(count_not_issued(c, "per_customer_cap") == 1);
    CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");
  }
  SECTION("a hard-capped budget that fits 2 over 3 customers' events") {
    auto shop = make_shop(db, dollar_off(), "2.00", rule("dollar-off"));
    auto results = process_group(
        *shop, {purchase(phone(1), "a"), purchase(phone(2), "b"), purchase(phone(3), "c")});
    int issued = 0, exhausted = 0;
    for (const auto& r : results) {
      auto body = answer_of(r);
      issued += static_cast<int>(body["issuances"].size());
      exhausted += count_not_issued(body, "budget_exhausted");
    }
    CHECK(issued == 2);
    CHECK(exhausted == 1);
    CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "200");
    CHECK(sql_value(db.owner(), "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") ==
          "2");
  }
  SECTION("a physical reward with 1 in stock over 2 customers' events") {
    auto shop = make_shop(db,
                          {{"name", "tote bag"},
                           {"type", "physical"},
                           {"cost", "3.00"},
                           {"currency", "USD"},
                           {"config", {{"stock", 1}, {"sku", "TOTE-01"}}}},
                          "100.00", rule("tote bag"));
    auto results = process_group(*shop, {purchase(phone(1), "a"), purchase(phone(2), "b")});
    CHECK(answer_of(results[0])["issuances"].size() + answer_of(results[1])["issuances"].size() ==
          1);
    CHECK(count_not_issued(answer_of(results[0]), "out_of_stock") +
              count_not_issued(answer_of(results[1]), "out_of_stock") ==
          1);
    CHECK(sql_value(db.owner(), "SELECT stock FROM rewards") == "0");
  }
  require_ledger_ok(db);
}

TEST_CASE(
    "event groups: 200 concurrent events through group commit against a hard-capped budget "
    "that fits 50 → exactly 50, in groups",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "50.00", rule("dollar-off"));
  loyalty::events::EventGroups groups(*shop->app, shop->cache, {});
  auto& sizes = loyalty::metrics::counters().event_groups;
  auto groups_before = sizes.groups(), events_before = sizes.events();
  std::atomic<int> issued{0}, exhausted{0};
  concurrently(200, 16, [&](int i) {
    // 40 customers: each has several events, in one group or in groups running at once.
    auto r = groups.process(shop->tenant_id, purchase(phone(i % 40), "k" + std::to_string(i)), "",
                            loyalty::Actor::system());
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    exhausted += count_not_issued(body, "budget_exhausted");
  });
  CHECK(issued == 50);
  CHECK(exhausted == 150);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "50");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events WHERE status = 'processed'") == "200");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "5000");
  // 200 events in fewer transactions than events: they were grouped.
  auto grouped_events = sizes.events() - events_before,
       group_count = sizes.groups() - groups_before;
  INFO(grouped_events << " events in " << group_count << " groups");
  CHECK(grouped_events == 200);
  CHECK(group_count < 200);
  require_ledger_ok(db);
}
