// Profiles and segments: a customer's profile patched field by field (audit rows and consent
// history exact), a patch refused whole, segments recomputed on a profile change (at once), after
// events (by the worker) and over every customer (in batches), rules testing in_segment.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/segments/segments.hpp>
#include <loyalty/selfservice/members.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <set>
#include <thread>

using loyalty::Actor;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace customers = loyalty::customers;
namespace segments = loyalty::segments;

namespace {

struct Profiles {
  TestDatabase& db;
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;
  loyalty::events::RulesCache cache;
  Actor manager{"user", "11111111-1111-1111-1111-111111111111"};

  explicit Profiles(TestDatabase& database) : db(database) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Profiles";
    req.slug = "profiles";
    tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    app = loyalty::db::Database::open_url(db.app_url(), 24);
  }

  std::string enrol(const std::string& phone, std::vector<std::string> manual_segments = {}) {
    customers::NewCustomer c;
    c.phone = phone;
    c.segments = std::move(manual_segments);
    return customers::create_customer(*app, tenant_id, c, Actor::system()).id;
  }

  customers::Customer patch(const std::string& id, const json& body) {
    return customers::update_customer(*app, tenant_id, id,
                                      customers::customer_patch_from_json(body), manager);
  }

  std::string q(const std::string& sql) { return sql_value(db.owner(), sql); }

  /// The audit rows of customer updates, oldest first: [{before, after, actor}].
  json updates(const std::string& id) {
    return json::parse(
        q("SELECT coalesce(json_agg(json_build_object('before', before, 'after', "
          "after, 'actor', actor_type || ':' || actor_id) ORDER BY id), '[]') "
          "FROM audit_log WHERE action = 'customer.update' AND entity_id = '" +
          id + "'"));
  }

  /// The consent history straight from the table: [[given, channel, actor]].
  json consents(const std::string& id) {
    return json::parse(
        q("SELECT coalesce(json_agg(json_build_array(given, channel, actor_type "
          "|| ':' || coalesce(actor_id, '')) ORDER BY id), '[]') FROM "
          "customer_consents WHERE customer_id = '" +
          id + "'"));
  }

  void run_worker_until_done() {
    loyalty::jobs::WorkerOptions options;
    options.threads = 1;
    options.idle_poll = std::chrono::milliseconds(20);
    loyalty::jobs::Worker worker(*app, options);
    loyalty::jobs::register_standard_handlers(worker);
    segments::register_handlers(worker);
    worker.start();
    CHECK(loyalty::test::wait_for_value(
              db.owner(), "SELECT count(*) FROM jobs WHERE status <> 'done'", "0") == "0");
    worker.stop();
  }

  json post(const json& event) {
    return json::parse(
        loyalty::events::process_event(*app, cache, tenant_id, event, "", Actor::system()).body);
  }
};

json purchase(const std::string& phone, const std::string& key) {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"data", {{"amount", "20.00"}, {"currency", "USD"}}},
          {"idempotency_key", key}};
}

}  // namespace

TEST_CASE(
    "profiles: each field of a patch is written with an audit row of what changed (personal "
    "fields without their values), and consent changes append to the history",
    "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto id = p.enrol("0771 234 567");
  const std::string actor = "user:11111111-1111-1111-1111-111111111111";

  auto c = p.patch(id, {{"attributes", {{"city", "Harare"}, {"kids", 2}}}});
  CHECK(c.attributes == json{{"city", "Harare"}, {"kids", 2}});
  c = p.patch(id, {{"attributes", {{"kids", nullptr}, {"pet", {{"kind", "dog"}}}}}});
  CHECK(c.attributes == json{{"city", "Harare"}, {"pet", {{"kind", "dog"}}}});
  c = p.patch(id, {{"tags", {"coffee", "tea"}}});
  CHECK(c.tags == std::vector<std::string>{"coffee", "tea"});
  c = p.patch(id, {{"tags", {{"add", {"cake", "tea"}}, {"remove", {"coffee"}}}}});
  CHECK(c.tags == std::vector<std::string>{"tea", "cake"});
  c = p.patch(id, {{"birthday", "1990-05-17"}});
  CHECK(c.birthday == "1990-05-17");
  c = p.patch(id, {{"birthday", nullptr}, {"language", "sn"}});
  CHECK(c.birthday.empty());
  CHECK(c.language == "sn");
  c = p.patch(id, {{"consent", {{"given", true}, {"channel", "whatsapp"}}}});
  CHECK(!c.consent_at.empty());
  CHECK(c.consent_channel == "whatsapp");
  CHECK(customers::to_json(c)["consent"]["given"] == true);
  // The same again changes nothing and writes nothing.
  p.patch(id, {{"consent", {{"given", true}, {"channel", "web"}}}, {"language", "sn"}});
  c = p.patch(id, {{"consent", {{"given", false}, {"channel", "ussd"}}}});
  CHECK(c.consent_at.empty());
  CHECK(customers::to_json(c)["consent"] ==
        json{{"given", false}, {"at", nullptr}, {"channel", nullptr}});
  CHECK(customers::to_json(customers::get_customer(*p.app, p.tenant_id, id))["language"] == "sn");

  // Attributes, tags and birthday by name only (the log outlives an erasure); the language and
  // the consent with their values.
  const json none = json::object();
  CHECK(p.updates(id) ==
        json::array(
            {{{"before", none},
              {"after", {{"attributes", {{"changed", {"city", "kids"}}}}}},
              {"actor", actor}},
             {{"before", none},
              {"after", {{"attributes", {{"changed", {"kids", "pet"}}}}}},
              {"actor", actor}},
             {{"before", none},
              {"after", {{"tags", {{"added", 2}, {"removed", 0}}}}},
              {"actor", actor}},
             {{"before", none},
              {"after", {{"tags", {{"added", 1}, {"removed", 1}}}}},
              {"actor", actor}},
             {{"before", none},
              {"after", {{"birthday", {{"changed", true}, {"set", true}}}}},
              {"actor", actor}},
             {{"before", {{"language", nullptr}}},
              {"after", {{"birthday", {{"changed", true}, {"set", false}}}, {"language", "sn"}}},
              {"actor", actor}},
             {{"before", {{"consent", {{"given", false}, {"channel", nullptr}}}}},
              {"after", {{"consent", {{"given", true}, {"channel", "whatsapp"}}}}},
              {"actor", actor}},
             {{"before", {{"consent", {{"given", true}, {"channel", "whatsapp"}}}}},
              {"after", {{"consent", {{"given", false}, {"channel", nullptr}}}}},
              {"actor", actor}}}));
  // Nothing of the values in the log.
  CHECK(p.q("SELECT count(*) FROM audit_log WHERE after::text ~ '(Harare|dog|coffee|1990)'") ==
        "0");
  CHECK(p.consents(id) == json::array({{true, "whatsapp", actor}, {false, "ussd", actor}}));
  // The phone never appears in the audit log (not even the customer's creation).
  CHECK(p.q("SELECT count(*) FROM audit_log WHERE before::text LIKE '%771234567%' OR "
            "after::text LIKE '%771234567%'") == "0");

  // The history as the API lists it, in pages, oldest first.
  auto first = customers::consent_history(*p.app, p.tenant_id, id, {1, ""});
  REQUIRE(first.items.size() == 1);
  CHECK(customers::to_json(first.items[0])["consent"] == "given");
  CHECK(customers::to_json(first.items[0])["channel"] == "whatsapp");
  CHECK(customers::to_json(first.items[0])["actor_type"] == "user");
  REQUIRE(!first.next_cursor.empty());
  auto second = customers::consent_history(*p.app, p.tenant_id, id, {1, first.next_cursor});
  REQUIRE(second.items.size() == 1);
  CHECK(!second.items[0].given);
  CHECK(second.items[0].channel == "ussd");
  CHECK(second.next_cursor.empty());

  // Opting out withdraws a consent given at enrolment, and says so in the history.
  customers::NewCustomer consenting;
  consenting.phone = "0771 000 222";
  consenting.consent = true;
  consenting.channel = "pos";
  auto other = customers::create_customer(*p.app, p.tenant_id, consenting, Actor::system()).id;
  customers::set_customer_status(*p.app, p.tenant_id, other, "opted_out", p.manager);
  CHECK(p.consents(other) == json::array({{true, "pos", "system:"}, {false, "pos", actor}}));
}

TEST_CASE("profiles: an invalid patch is refused with each field's pointer and writes nothing",
          "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto id = p.enrol("0771 234 567");
  p.patch(id, {{"tags", {"tea"}}, {"attributes", {{"city", "Harare"}}}});
  auto before = customers::to_json(customers::get_customer(*p.app, p.tenant_id, id));
  auto audit_rows = p.q("SELECT count(*) FROM audit_log");

  try {
    customers::customer_patch_from_json({{"birthday", "1990-02-30"},
                                         {"language", "fr"},
                                         {"tags", {{"add", {"ok", ""}}}},
                                         {"attributes", "none"},
                                         {"consent", {{"given", "yes"}, {"channel", "fax"}}}});
    FAIL("the patch was accepted");
  } catch (const loyalty::Error& e) {
    std::set<std::string> pointers;
    for (const auto& f : e.fields()) pointers.insert(f.pointer);
    CHECK(pointers == std::set<std::string>{"/birthday", "/language", "/tags/add/1", "/attributes",
                                            "/consent/given", "/consent/channel"});
  }
  // Valid alone, too big once merged: refused inside the transaction, which writes nothing.
  json big = {{"notes", std::string(17 * 1024, 'x')}};
  try {
    p.patch(id, {{"attributes", big},
                 {"tags", {{"add", {"new"}}}},
                 {"consent", {{"given", true}, {"channel", "web"}}}});
    FAIL("the patch was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    REQUIRE(e.fields().size() == 1);
    CHECK(e.fields()[0].pointer == "/attributes");
  }
  CHECK(customers::to_json(customers::get_customer(*p.app, p.tenant_id, id)) == before);
  CHECK(p.q("SELECT count(*) FROM audit_log") == audit_rows);
  CHECK(p.q("SELECT count(*) FROM customer_consents") == "0");
  CHECK_THROWS_AS(p.patch("3f1e2d4c-0000-4000-8000-000000000000", {{"tags", {"x"}}}),
                  loyalty::Error);
}

TEST_CASE("segments: a profile change moves the customer in and out of a segment at once", "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto id = p.enrol("0771 234 567", {"imported"});
  segments::create_segment(
      *p.app, p.tenant_id,
      {{"name", "harare vips"},
       {"conditions",
        {{"and",
          {{{"has_tag", {"vip"}}}, {{"==", {{{"var", "customer.attributes.city"}}, "Harare"}}}}}}}},
      p.manager);
  auto c = p.patch(id, {{"tags", {{"add", {"vip"}}}}});
  CHECK(c.segments == std::vector<std::string>{"imported"});
  c = p.patch(id, {{"attributes", {{"city", "Harare"}}}});
  CHECK(c.segments == std::vector<std::string>{"imported", "harare vips"});
  auto members = segments::segment_members(*p.app, p.tenant_id, "harare vips", {10, ""});
  REQUIRE(members.items.size() == 1);
  CHECK(members.items[0].id == id);
  c = p.patch(id, {{"tags", {{"remove", {"vip"}}}}});
  CHECK(c.segments == std::vector<std::string>{"imported"});
  CHECK(segments::segment_members(*p.app, p.tenant_id, "harare vips", {10, ""}).items.empty());
}

TEST_CASE(
    "segments: an invalid condition is refused with the engine's pointers, a taken name with a "
    "conflict",
    "[pg]") {
  TestDatabase db;
  Profiles p(db);
  try {
    segments::create_segment(*p.app, p.tenant_id, json::parse(R"({"name": "", "conditions":
        {"and": [{"event_count": ["purchase"]}, {"nope": 1}]}})"),
                             p.manager);
    FAIL("the segment was accepted");
  } catch (const loyalty::Error& e) {
    std::set<std::string> pointers;
    for (const auto& f : e.fields()) pointers.insert(f.pointer);
    CHECK(pointers == std::set<std::string>{"/name", "/conditions/and/0/event_count",
                                            "/conditions/and/1/nope"});
  }
  CHECK(p.q("SELECT count(*) FROM segments") == "0");
  segments::create_segment(*p.app, p.tenant_id, {{"name", "all"}, {"conditions", true}}, p.manager);
  try {
    segments::create_segment(*p.app, p.tenant_id, {{"name", "all"}, {"conditions", true}},
                             p.manager);
    FAIL("a second segment named all was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::conflict);
    CHECK(e.type() == "segment-exists");
  }
}

TEST_CASE(
    "segments: after a customer's events the worker recomputes their segments, one job per "
    "customer however many events",
    "[pg]") {
  TestDatabase db;
  Profiles p(db);
  segments::create_segment(
      *p.app, p.tenant_id,
      {{"name", "regulars"}, {"conditions", {{">=", {{{"event_count", {"purchase", 30}}}, 3}}}}},
      p.manager);
  p.run_worker_until_done();  // the recompute of every customer the new segment queued
  for (int i = 1; i <= 3; ++i) p.post(purchase("0771 234 567", "p" + std::to_string(i)));
  p.post(purchase("0771 234 567", "p1"));  // a replay queues nothing
  p.post(purchase("0772 111 222", "other"));
  CHECK(p.q("SELECT count(*) FROM jobs WHERE kind = 'segments.customer' AND status = "
            "'pending'") == "2");
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments <> '{}'") == "0");
  p.run_worker_until_done();
  CHECK(p.q("SELECT string_agg(phone || '=' || array_to_string(segments, ','), ' ' ORDER BY "
            "phone) FROM customers") == "+263771234567=regulars +263772111222=");
}

TEST_CASE("segments: a rule testing in_segment rewards a member and not a non-member", "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto actor = Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), p.tenant_id, actor,
                                  {{"name", "vip points"},
                                   {"type", "points"},
                                   {"currency", "USD"},
                                   {"validity_days", 30},
                                   {"config", {{"points", 50}}}});
  loyalty::rulesets::import_rules(db.owner(), p.tenant_id, actor,
                                  {{"rules",
                                    {{{"name", "vips earn"},
                                      {"event_type", "purchase"},
                                      {"conditions", {{"in_segment", {"vips"}}}},
                                      {"reward", "vip points"}}}}},
                                  {});
  segments::create_segment(*p.app, p.tenant_id,
                           {{"name", "vips"}, {"conditions", {{"has_tag", {"vip"}}}}}, p.manager);
  auto member = p.enrol("0771 234 567");
  auto other = p.enrol("0772 111 222");
  p.patch(member, {{"tags", {"vip"}}});
  p.patch(other, {{"tags", {"regular"}}});
  auto rewarded = p.post(purchase("0771 234 567", "m"));
  auto not_rewarded = p.post(purchase("0772 111 222", "o"));
  REQUIRE(rewarded["issuances"].size() == 1);
  CHECK(rewarded["issuances"][0]["reward"]["name"] == "vip points");
  CHECK(not_rewarded["issuances"].empty());
}

TEST_CASE("segments: recompute covers every customer in batches of its own transaction", "[pg]") {
  TestDatabase db;
  Profiles p(db);
  // 1,234 customers; every third lives in Harare; some carry a segment set by hand.
  p.q("INSERT INTO customers (tenant_id, phone, attributes, segments) SELECT '" + p.tenant_id +
      "', '+26377' || (2000000 + i), CASE WHEN i % 3 = 0 THEN '{\"city\": \"Harare\"}' ELSE "
      "'{}' END::jsonb, CASE WHEN i % 10 = 0 THEN '{legacy}' ELSE '{}' END::text[] FROM "
      "generate_series(1, 1234) i RETURNING 1");
  segments::create_segment(
      *p.app, p.tenant_id,
      {{"name", "harare"}, {"conditions", {{"==", {{{"var", "customer.city"}}, "Harare"}}}}},
      p.manager);
  auto report = segments::recompute_segments(*p.app, p.tenant_id, 100);
  CHECK(report.customers == 1234);
  CHECK(report.changed == 411);
  CHECK(report.batches == 13);
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{harare}'") == "411");
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{legacy}'") == "123");
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments = '{legacy,harare}'") == "41");
  CHECK(segments::recompute_segments(*p.app, p.tenant_id, 500).changed == 0);

  // Renamed, the segment's members carry the new name; deleted, none carries it.
  segments::update_segment(
      *p.app, p.tenant_id, "harare",
      {{"name", "capital"}, {"conditions", {{"==", {{{"var", "customer.city"}}, "Harare"}}}}},
      p.manager);
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{capital}'") == "411");
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{harare}'") == "0");
  segments::delete_segment(*p.app, p.tenant_id, "capital", p.manager);
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{capital}'") == "0");
  CHECK(p.q("SELECT count(*) FROM customers WHERE segments @> '{legacy}'") == "123");
}

TEST_CASE("profiles: 20 concurrent patches each adding a tag to one customer lose none", "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto id = p.enrol("0771 234 567");
  segments::create_segment(*p.app, p.tenant_id,
                           {{"name", "tagged 20"}, {"conditions", {{"has_tag", {"t19"}}}}},
                           p.manager);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      try {
        p.patch(id, {{"tags", {{"add", {"t" + std::to_string(i)}}}}});
      } catch (const std::exception&) {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed == 0);
  auto c = customers::get_customer(*p.app, p.tenant_id, id);
  std::set<std::string> tags(c.tags.begin(), c.tags.end());
  CHECK(c.tags.size() == 20);
  CHECK(tags.size() == 20);
  CHECK(c.segments == std::vector<std::string>{"tagged 20"});
  CHECK(p.q("SELECT count(*) FROM audit_log WHERE action = 'customer.update'") == "20");
}

TEST_CASE(
    "profiles: the channels' JOIN, STOP and JOIN again give, withdraw and give consent in the "
    "history",
    "[pg]") {
  TestDatabase db;
  Profiles p(db);
  auto merchant = loyalty::selfservice::merchant(*p.app, p.tenant_id);
  auto joined = loyalty::selfservice::join(*p.app, merchant, "+263771234567", "ussd");
  loyalty::selfservice::opt_out(*p.app, merchant, joined.customer_id, "ussd");
  loyalty::selfservice::join(*p.app, merchant, "+263771234567", "whatsapp");
  const std::string by_customer = ":" + joined.customer_id;
  CHECK(p.consents(joined.customer_id) ==
        json::array({{true, "ussd", "system:ussd"},
                     {false, "ussd", "system:ussd" + by_customer},
                     {true, "whatsapp", "system:whatsapp" + by_customer}}));
  auto c = customers::get_customer(*p.app, p.tenant_id, joined.customer_id);
  CHECK(c.status == "active");
  CHECK(c.consent_channel == "whatsapp");
}
