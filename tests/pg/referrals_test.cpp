// Referral completion inside a group of events (group commit: one transaction for many events,
// run again with savepoints when one of them fails), and the worker's referral.complete job.
#include "pg/shop.hpp"

#include <loyalty/jobs/worker.hpp>
#include <loyalty/referrals/referrals.hpp>

#include <chrono>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using namespace loyalty::test::shop;
using namespace std::chrono_literals;

TEST_CASE(
    "referrals: a group with three first purchases of a referee and a failing event completes "
    "the referral once, by the first, and the job processes one event a side",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  auto actor = loyalty::Actor::system();
  loyalty::customers::NewCustomer ann;
  ann.phone = phone(1);
  auto referrer = loyalty::customers::create_customer(*shop->app, shop->tenant_id, ann, actor);
  loyalty::customers::NewCustomer bob;
  bob.phone = phone(2);
  bob.referral_code = referrer.referral_code;
  auto referee = loyalty::customers::create_customer(*shop->app, shop->tenant_id, bob, actor);

  std::vector<loyalty::events::EventInput> inputs;
  for (const auto& body :
       {purchase(phone(2), "b-1"),
        // fails inside the group: the group runs again, each event behind a savepoint
        nlohmann::json{{"customer", {{"id", "00000000-0000-4000-8000-000000000001"}}},
                       {"type", "purchase"},
                       {"data", {{"amount", "60.00"}, {"currency", "USD"}}},
                       {"idempotency_key", "x"}},
        purchase(phone(2), "b-2"), purchase(phone(2), "b-3")}) {
    inputs.push_back({body, "", actor});
  }
  auto results = loyalty::events::process_events(*shop->app, shop->cache, shop->tenant_id, inputs);
  REQUIRE(results.size() == 4);
  CHECK_FALSE(results[0].error);
  CHECK(results[1].error);
  CHECK_FALSE(results[2].error);
  CHECK_FALSE(results[3].error);
  CHECK(sql_value(db.owner(),
                  "SELECT e.idempotency_key FROM referrals r JOIN events e ON e.id = "
                  "r.completing_event_id") == "b-1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs WHERE kind = 'referral.complete'") == "1");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM outbox WHERE event_type = 'referral.completed'") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers WHERE referral_open") == "0");

  // The worker: two referral.completed events, one a side; run again, the job replays them.
  loyalty::jobs::WorkerOptions options;
  options.threads = 1;
  options.idle_poll = 20ms;
  loyalty::jobs::Worker worker(*shop->app, options);
  loyalty::jobs::register_standard_handlers(worker);
  loyalty::referrals::register_handlers(worker, shop->cache);
  worker.start();
  CHECK(wait_for_value(db.owner(), "SELECT status FROM jobs WHERE kind = 'referral.complete'",
                       "done") == "done");
  sql_value(db.owner(),
            "UPDATE jobs SET status = 'pending', run_at = now() WHERE kind = 'referral.complete' "
            "RETURNING 1");
  CHECK(wait_for_value(db.owner(), "SELECT status FROM jobs WHERE kind = 'referral.complete'",
                       "done") == "done");
  worker.stop();
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg((customer_id = '" + referrer.id + "')::text || ' ' || " +
                      "(data->>'role') || ' ' || (data->>'other_customer_id'), ',' ORDER BY " +
                      "data->>'role') FROM events WHERE type = 'referral.completed'") ==
        "false referee " + referrer.id + ",true referrer " + referee.id);
}
