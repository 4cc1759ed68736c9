// The webhook queue in the database (migration 0080), through the functions the dispatcher
// calls as loyalty_app: the fan-out trigger, webhook_claim's per-subscription slots and
// half-open probe, webhook_record's breaker, stale leases and the five-day disable.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <algorithm>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

struct Queue {
  std::string tenant, subscription;
};

Queue make_queue(TestDatabase& db, int messages) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = "queue";
  req.slug = "queue";
  Queue q;
  q.tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  q.subscription = sql_value(
      db.owner(),
      "INSERT INTO webhook_subscriptions (tenant_id, url, secret, event_types) VALUES ('" +
          q.tenant +
          "', 'https://hooks.example.com/x', 'whsec_x', '{reward.issued}') "
          "RETURNING id");
  // Fanned out by the trigger: the subscribed type reaches it, another type does not.
  sql_value(db.owner(), "INSERT INTO outbox (tenant_id, event_type, payload) SELECT '" + q.tenant +
                            "', 'reward.issued', jsonb_build_object('n', n) FROM "
                            "generate_series(1, " +
                            std::to_string(messages) + ") n RETURNING 1");
  sql_value(db.owner(), "INSERT INTO outbox (tenant_id, event_type, payload) VALUES ('" + q.tenant +
                            "', 'customer.enrolled', '{}') RETURNING 1");
  return q;
}

/// Claims as loyalty_app: (limit, per subscription, lease seconds, breaker) → "id probe" lines.
std::string claim(TestDatabase& db, const std::string& worker, int limit, int per, int breaker) {
  return sql_value(db.app(),
                   "SELECT coalesce(string_agg(delivery_id || ' ' || probe, ',' ORDER BY "
                   "delivery_id), '') FROM webhook_claim('" +
                       worker + "', " + std::to_string(limit) + ", " + std::to_string(per) +
                       ", 60, " + std::to_string(breaker) + ")");
}

std::string record(TestDatabase& db, const std::string& delivery, const std::string& worker,
                   int attempt, int status, int breaker = 3) {
  return sql_value(db.app(), "SELECT webhook_record(" + delivery + ", '" + worker + "', " +
                                 std::to_string(attempt) + ", " + std::to_string(status) +
                                 ", 'answered', 5, 'body', " + (status == 200 ? "NULL" : "1000") +
                                 ", " + std::to_string(breaker) + ", 600, 432000)");
}

}  // namespace

TEST_CASE(
    "webhook queue: the outbox fans out to matching subscriptions, claims respect each "
    "subscription's slots across workers, and only the lease holder settles",
    "[pg]") {
  TestDatabase db;
  auto q = make_queue(db, 5);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_deliveries") == "5");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL") == "0");

  // Two slots per subscription: worker A takes two, worker B finds none free.
  auto a = claim(db, "a", 10, 2, 3);
  CHECK(std::count(a.begin(), a.end(), ',') == 1);
  CHECK(claim(db, "b", 10, 2, 3).empty());
  auto first = a.substr(0, a.find(' '));
  // B cannot settle A's delivery; A can, once.
  CHECK(record(db, first, "b", 1, 200) == "stale");
  CHECK(record(db, first, "a", 1, 200) == "delivered");
  CHECK(record(db, first, "a", 1, 200) == "stale");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_attempts") == "3");  // all kept
  // A slot is free again: B takes one.
  auto b = claim(db, "b", 10, 2, 3);
  CHECK(std::count(b.begin(), b.end(), ',') == 0);
  CHECK(!b.empty());
}

TEST_CASE(
    "webhook queue: consecutive failures open the breaker, a half-open probe closes it, "
    "and five days of failures disable the subscription with an audit row",
    "[pg]") {
  TestDatabase db;
  auto q = make_queue(db, 6);
  const std::string sub =
      "SELECT consecutive_failures || ' ' || (paused_until > now()) || ' ' || "
      "active FROM webhook_subscriptions";
  // Three failures (the breaker's threshold here) open it; the waiting deliveries wait too.
  for (int i = 0; i < 3; ++i) {
    auto got = claim(db, "w", 1, 1, 3);
    REQUIRE(!got.empty());
    CHECK(record(db, got.substr(0, got.find(' ')), "w", 1, 500) == "retrying");
  }
  CHECK(sql_value(db.owner(), sub) == "3 true true");
  CHECK(claim(db, "w", 10, 10, 3).empty());
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' "
                  "AND next_attempt_at < now() + interval '5 minutes'") == "0");

  // The cooldown passes: one probe, and nothing else until its answer.
  sql_value(db.owner(),
            "UPDATE webhook_subscriptions SET paused_until = now() - interval '1 s' "
            "RETURNING 1");
  sql_value(db.owner(),
            "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = "
            "'pending' RETURNING 1");
  auto probe = claim(db, "w", 10, 10, 3);
  REQUIRE(!probe.empty());
  CHECK(probe.find(',') == std::string::npos);
  CHECK(probe.substr(probe.find(' ') + 1) == "true");
  CHECK(claim(db, "w", 10, 10, 3).empty());
  auto probe_id = probe.substr(0, probe.find(' '));
  auto attempt =
      sql_value(db.owner(), "SELECT attempts FROM webhook_deliveries WHERE id = " + probe_id);
  CHECK(record(db, probe_id, "w", std::stoi(attempt), 200) == "delivered");
  CHECK(sql_value(db.owner(),
                  "SELECT consecutive_failures || ' ' || (paused_until IS NULL) || ' ' "
                  "|| (failing_since IS NULL) FROM webhook_subscriptions") == "0 true true");

  // Failing since six days: the next failure disables it, with a row in the audit log.
  sql_value(db.owner(),
            "UPDATE webhook_subscriptions SET failing_since = now() - interval "
            "'6 days', consecutive_failures = 1 RETURNING 1");
  auto last = claim(db, "w", 1, 1, 3);
  REQUIRE(!last.empty());
  auto last_id = last.substr(0, last.find(' '));
  attempt = sql_value(db.owner(), "SELECT attempts FROM webhook_deliveries WHERE id = " + last_id);
  CHECK(record(db, last_id, "w", std::stoi(attempt), 500) == "disabled");
  CHECK(sql_value(db.owner(),
                  "SELECT active || ' ' || (disabled_reason LIKE 'every delivery "
                  "failed since %') FROM webhook_subscriptions") == "false true");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM audit_log WHERE action = 'webhook.disable' "
                  "AND entity_id = '" +
                      q.subscription + "'") == "1");
  CHECK(claim(db, "w", 10, 10, 3).empty());
}
