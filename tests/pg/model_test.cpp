// A seeded model test: random sequences of purchases, refunds, redemptions, cancels, expiries,
// budget top-ups and retried idempotent posts, run through the library calls loyaltyd and
// loyaltyctl make, against an in-memory model of points balances, the budget's counters, stock
// and every issuance's state, compared with the database after every step. Some steps run with a
// fault: a second connection holds the budget row, and once the operation's backend waits for it
// (mid-transaction, before its COMMIT) that backend is terminated with pg_terminate_backend.
// The operation must then be wholly absent (and is retried, as a till or the worker would) or
// wholly applied (the library retried it on a fresh connection).
//
// A failing seed prints itself and its step; LOYALTY_MODEL_SEED=S replays exactly that seed.
// LOYALTY_MODEL_SEEDS=N (default 200) and LOYALTY_MODEL_FIRST_SEED=F choose the seeds of a run,
// LOYALTY_MODEL_STEPS the steps of each (default 20); scripts/model-test runs many.
#include "pg/model.hpp"
#include "db/tx.hpp"
#include "support/faults.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using loyalty::test::Faulted;
using loyalty::test::TestDatabase;
using loyalty::test::with_backend_terminated;
using namespace loyalty::test::model;
using namespace std::chrono_literals;

namespace {

// ---- One seed's run --------------------------------------------------------------------------

struct Totals {
  long long steps = 0, faults = 0, absorbed = 0, retried = 0;
  std::map<std::string, long long> ops;
  std::map<std::string, double> seconds;  ///< per operation, the check after it included
  double setup = 0, checks = 0;
};

class ModelRun {
 public:
  ModelRun(TestDatabase& db, loyalty::db::Database& app, pqxx::connection& admin,
           pqxx::connection& locker, std::uint64_t seed, Totals& totals)
      : db_(db),
        app_(app),
        admin_(admin),
        locker_(locker),
        rng_(seed),
        seed_(seed),
        totals_(totals),
        cache_(std::make_unique<loyalty::events::RulesCache>()) {
    auto actor = loyalty::Actor::operator_cli();
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Model " + std::to_string(seed);
    req.slug = "model-" + std::to_string(seed) + "-" + std::to_string(++tenants_made_);
    tenant_ = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    m_.total = 100 * between(8, 30);
    loyalty::budgets::create_budget(db.owner(), tenant_, actor,
                                    {{"name", "main"},
                                     {"currency", "USD"},
                                     {"total", amount_text(m_.total)},
                                     {"hard_cap", true}});
    nlohmann::json rules = nlohmann::json::array();
    int priority = 50;
    for (const auto& spec : kRewards) {
      nlohmann::json reward = {{"name", spec.name},
                               {"type", spec.type},
                               {"cost", amount_text(spec.cost)},
                               {"currency", "USD"},
                               {"validity_days", spec.validity_days}};
      std::string type = spec.type;
      if (type == "voucher") reward["config"] = {{"source", "generated"}, {"length", 10}};
      if (type == "physical") reward["config"] = {{"stock", kToteStock}, {"sku", "TOTE"}};
      if (type == "discount") reward["config"] = {{"kind", "fixed"}, {"amount", "2.00"}};
      if (type == "points") reward["config"] = {{"points", spec.points}};
      loyalty::rewards::create_reward(db.owner(), tenant_, actor, reward);
      nlohmann::json rule = {
          {"name", std::string(spec.name) + " rule"},
          {"event_type", "purchase"},
          {"priority", priority},
          {"conditions",
           {{">=", {{{"var", "event.amount"}}, static_cast<double>(spec.min_amount) / 100}}}},
          {"reward", spec.name}};
      if (spec.budgeted) rule["budget"] = "main";
      rules.push_back(rule);
      priority -= 10;
    }
    loyalty::rulesets::import_rules(db.owner(), tenant_, actor, {{"rules", rules}}, {});
    set_clock(m_.clock);
    check_state("after setup");
  }

  void step(int n) {
    step_ = n;
    auto began = std::chrono::steady_clock::now();
    int roll = between(0, 99);
    if (roll < 25) {
      purchase();
    } else if (roll < 35) {
      refund();
    } else if (roll < 40) {
      retry_event();
    } else if (roll < 58) {
      issue();
    } else if (roll < 66) {
      redeem();
    } else if (roll < 74) {
      cancel();
    } else if (roll < 83) {
      advance_clock();
    } else if (roll < 92) {
      expire();
    } else {
      topup();
    }
    ++totals_.steps;
    auto checking = std::chrono::steady_clock::now();
    check_state("after the step");
    totals_.checks +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - checking).count();
    totals_.seconds[last_op_] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  }

  void finish() {
    auto report = loyalty::budgets::verify_ledger(db_.owner(), tenant_);
    std::string problems;
    for (const auto& p : report.problems) problems += p.budget_name + ": " + p.message + "\n";
    INFO(where() << problems);
    REQUIRE(report.ok());
  }

  /// The last steps, for the failure message.
  std::string history() const {
    std::string out;
    for (const auto& h : history_) out += "  " + h + "\n";
    return out;
  }

 private:
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return between(0, 99) < percent; }

  std::string where() const {
    return "seed " + std::to_string(seed_) + ", step " + std::to_string(step_) +
           " (replay: LOYALTY_MODEL_SEED=" + std::to_string(seed_) + ")\nlast steps:\n" +
           history() + "\n";
  }

  void note(const std::string& what) {
    history_.push_back("step " + std::to_string(step_) + ": " + what);
    if (history_.size() > 40) history_.pop_front();
    last_op_ = what.substr(0, what.find(' '));
    ++totals_.ops[last_op_];
  }

  /// The virtual clock: app_now() of the pooled session (SET app.now) and of every new one
  /// (ALTER DATABASE ... SET app.now: the library replaces a connection whose backend was
  /// terminated), so issuances are created and expire at the model's instants.
  void set_clock(long long epoch) {
    pqxx::nontransaction n(admin_);
    std::string instant = n.quote(instant_text(epoch));
    n.exec("ALTER DATABASE " + db_.name() + " SET app.now = " + instant);
    loyalty::db::with_tx(app_,
                         [&](loyalty::db::Tx& tx) { tx.exec_raw("SET app.now = " + instant); });
  }

  State snapshot() {
    pqxx::nontransaction n(admin_);
    std::string t = n.quote(tenant_) + "::uuid";
    auto r = n.exec1(
        "SELECT (SELECT total_minor || ' ' || reserved_minor || ' ' || utilized_minor || ' ' || "
        "spent_minor FROM budgets WHERE tenant_id = " +
        t + "), (SELECT stock FROM rewards WHERE tenant_id = " + t +
        " AND name = 'tote'), (SELECT coalesce(json_object_agg(c.phone, c.points_balance || ' ' "
        "|| (SELECT coalesce(sum(p.points), 0) FROM points_ledger p WHERE p.tenant_id = "
        "c.tenant_id AND p.customer_id = c.id)), '{}') FROM customers c WHERE c.tenant_id = " +
        t +
        "), (SELECT coalesce(json_object_agg(id, state || ' ' || coalesce(extract(epoch FROM "
        "expires_at)::bigint::text, '-')), '{}') FROM issuances WHERE tenant_id = " +
        t + "), (SELECT coalesce(json_agg(idempotency_key), '[]') FROM events WHERE tenant_id = " +
        t + ")");
    State s;
    s.budget = r[0].as<std::string>();
    s.stock = r[1].as<long long>();
    s.customers = nlohmann::json::parse(r[2].as<std::string>()).get<decltype(s.customers)>();
    s.issuances = nlohmann::json::parse(r[3].as<std::string>()).get<decltype(s.issuances)>();
    s.events = nlohmann::json::parse(r[4].as<std::string>()).get<decltype(s.events)>();
    return s;
  }

  void check_state(const std::string& when) {
    State db = snapshot(), model = state_of(m_);
    INFO(where() << when << ":\n" << describe_difference(db, model));
    REQUIRE(db == model);
  }

  /// Runs `call`; with `fault`, under with_backend_terminated. Should the terminated backend fail
  /// the call (503 at the edge), the operation must have left nothing behind, and it runs again,
  /// as its client would retry it. Errors the model predicts are thrown on to the caller.
  void attempt(bool fault, const std::function<void()>& call) {
    if (!fault) {
      call();
      return;
    }
    int times = chance(50) ? 2 : 1;
    auto f = with_backend_terminated(locker_, admin_, tenant_, times, call);
    if (!f.terminated) {
      if (f.error) std::rethrow_exception(f.error);
      return;
    }
    ++totals_.faults;
    history_.back() += f.terminated == 1 ? " [backend terminated]" : " [backend terminated twice]";
    bool lost = false;  // the call failed because its connection was lost
    try {
      if (f.error) std::rethrow_exception(f.error);
    } catch (const loyalty::Error& e) {
      lost = e.code() == loyalty::ErrorCode::unavailable;
    } catch (...) {
    }
    if (!lost) {
      // The library ran it again on a fresh connection: its outcome, or the error the model
      // predicts, is the caller's to check.
      ++totals_.absorbed;
      if (f.error) std::rethrow_exception(f.error);
      return;
    }
    ++totals_.retried;
    check_state("after a backend terminated mid-transaction, before the retry");
    call();
  }

  /// The error type `call` throws, or "" when it returns.
  std::string error_of(bool fault, const std::function<void()>& call) {
    try {
      attempt(fault, call);
      return "";
    } catch (const loyalty::Error& e) {
      return e.type();
    }
  }

  loyalty::events::EventResponse post(const nlohmann::json& body) {
    return loyalty::events::process_event(app_, *cache_, tenant_, body, "",
                                          loyalty::Actor::system());
  }

  // -- Operations ----------------------------------------------------------------------------

  void purchase() {
    int c = between(0, kCustomers - 1);
    static const long long kAmounts[] = {1500, 2500, 5500, 8500, 12000};
    long long amount = chance(60) ? kAmounts[between(0, 4)] : between(1, 15000);
    MEvent e;
    e.key = "p" + std::to_string(step_);
    e.type = "purchase";
    e.customer = c;
    e.amount = amount;
    e.body = {{"customer", {{"phone", phone(c)}}},
              {"type", "purchase"},
              {"data", {{"amount", amount_text(amount)}, {"currency", "USD"}, {"store", "S1"}}},
              {"idempotency_key", e.key}};
    bool fault = chance(15);
    note("purchase " + e.key + " customer " + std::to_string(c) + " amount " + amount_text(amount));

    // The rules in priority order, each against what is left.
    Model next = m_;
    std::vector<int> given;
    std::vector<std::string> reasons;
    for (int r = 0; r < kRewardCount; ++r) {
      const auto& spec = kRewards[r];
      if (amount < spec.min_amount) continue;
      if (r == kTote && next.stock == 0) {
        reasons.push_back("out_of_stock");
      } else if (spec.budgeted && next.available() < spec.cost) {
        reasons.push_back("budget_exhausted");
      } else {
        if (spec.budgeted) next.reserved += spec.cost;
        if (r == kTote) --next.stock;
        given.push_back(r);
      }
    }
    loyalty::events::EventResponse r;
    attempt(fault, [&] { r = post(e.body); });
    auto answer = nlohmann::json::parse(r.body);
    INFO(where() << "answer " << r.body);
    REQUIRE(r.status == 201);
    REQUIRE(!r.replayed);
    REQUIRE(answer["customer"]["enrolled"] == !m_.enrolled[c]);
    REQUIRE(answer["issuances"].size() == given.size());
    std::vector<std::string> got_reasons;
    for (const auto& n : answer["not_issued"]) got_reasons.push_back(n["reason"]);
    REQUIRE(got_reasons == reasons);
    e.id = answer["event"]["id"];
    e.status = r.status;
    e.answer = r.body;
    for (std::size_t k = 0; k < given.size(); ++k) {
      const auto& got = answer["issuances"][k];
      REQUIRE(got["reward"]["name"] == kRewards[given[k]].name);
      REQUIRE(got["state"] == "reserved");
      MIssuance i;
      i.id = got["id"];
      i.code = got["code"].is_string() ? got["code"].get<std::string>() : "";
      i.reward = given[k];
      i.customer = c;
      i.expires = m_.clock + kRewards[given[k]].validity_days * kDay;
      e.issued.push_back(next.issuances.size());
      next.issuances.push_back(i);
    }
    next.enrolled[c] = true;
    next.events.push_back(e);
    m_ = next;
  }

  void refund() {
    std::vector<std::size_t> open;
    for (std::size_t k = 0; k < m_.events.size(); ++k) {
      const auto& e = m_.events[k];
      if (e.type == "purchase" && e.amount > e.refunded) open.push_back(k);
    }
    if (open.empty()) return purchase();
    std::size_t original = open[between(0, static_cast<int>(open.size()) - 1)];
    const MEvent& o = m_.events[original];
    // A till refunds at most what was bought: the whole purchase at once, or parts of it.
    bool full = o.refunded == 0 && chance(40);
    long long amount = full ? o.amount : between(1, static_cast<int>(o.amount - o.refunded));
    MEvent e;
    e.key = "r" + std::to_string(step_);
    e.type = "refund";
    e.customer = o.customer;
    e.amount = amount;
    nlohmann::json data = {{"original_event_id", o.id}};
    if (!full) {
      data["amount"] = amount_text(amount);
      data["currency"] = "USD";
    }
    e.body = {{"customer", {{"phone", phone(o.customer)}}},
              {"type", "refund"},
              {"data", data},
              {"idempotency_key", e.key}};
    bool fault = chance(15);
    note("refund " + e.key + " of " + o.key + (full ? " in full" : " of " + amount_text(amount)));

    Model next = m_;
    bool partial = !full && amount < o.amount;
    long long debited = 0;  // by the partial refund's own debit (the answer's points_debited)
    std::set<std::string> cancelled, kept;
    for (std::size_t idx : o.issued) {
      MIssuance& i = next.issuances[idx];
      if (i.state == "redeemed") {
        kept.insert(i.id);
      } else if (i.reward == kPoints && i.state == "issued" && partial) {
        long long share = kRewards[kPoints].points * amount / o.amount;
        long long taken = next.debit(i.customer, share);
        i.taken_back += taken;
        debited += taken;
      } else if (i.state == "reserved" || i.state == "issued") {
        next.cancel(i);
        cancelled.insert(i.id);
      }
    }
    next.events[original].refunded += amount;
    loyalty::events::EventResponse r;
    attempt(fault, [&] { r = post(e.body); });
    auto answer = nlohmann::json::parse(r.body);
    INFO(where() << "answer " << r.body);
    REQUIRE(r.status == 201);
    REQUIRE(!r.replayed);
    const auto& got = answer["refund"];
    REQUIRE(got["partial"] == partial);
    REQUIRE(got["cancelled"].get<std::set<std::string>>() == cancelled);
    REQUIRE(got["kept_redeemed"].get<std::set<std::string>>() == kept);
    REQUIRE(got["points_debited"] == debited);
    e.id = answer["event"]["id"];
    e.status = r.status;
    e.answer = r.body;
    next.events.push_back(e);
    m_ = next;
  }

  void retry_event() {
    if (m_.events.empty()) return purchase();
    const MEvent& e = m_.events[between(0, static_cast<int>(m_.events.size()) - 1)];
    if (chance(20)) {
      // The same key with another body: refused, nothing written.
      nlohmann::json other = e.body;
      other["data"]["store"] = "S2";
      note("reuse " + e.key + " with another body");
      std::string error = error_of(false, [&] { post(other); });
      INFO(where());
      REQUIRE(error == "idempotency-key-reused");
      return;
    }
    note("retry " + e.key);
    loyalty::events::EventResponse r;
    attempt(false, [&] { r = post(e.body); });
    INFO(where() << "replayed " << r.body << "\noriginal " << e.answer);
    REQUIRE(r.replayed);
    REQUIRE(r.status == e.status);
    REQUIRE(r.body == e.answer);
  }

  /// What the worker does for an event: its reserved issuances issued, the budget charged,
  /// points credited.
  void issue() {
    std::vector<std::size_t> pending, any;
    for (std::size_t k = 0; k < m_.events.size(); ++k) {
      if (m_.events[k].type != "purchase") continue;
      any.push_back(k);
      for (std::size_t idx : m_.events[k].issued) {
        if (m_.issuances[idx].state == "reserved") {
          pending.push_back(k);
          break;
        }
      }
    }
    if (any.empty()) return purchase();
    const auto& from = !pending.empty() && chance(85) ? pending : any;
    std::size_t k = from[between(0, static_cast<int>(from.size()) - 1)];
    bool fault = chance(15);
    note("issue " + m_.events[k].key);
    Model next = m_;
    int expected = 0;
    for (std::size_t idx : next.events[k].issued) {
      MIssuance& i = next.issuances[idx];
      if (i.state != "reserved") continue;
      ++expected;
      i.state = "issued";
      const auto& spec = kRewards[i.reward];
      if (spec.budgeted) {
        next.reserved -= spec.cost;
        next.utilized += spec.cost;
      }
      if (spec.points > 0) {
        next.balance[i.customer] += spec.points;
        i.credited = true;
      }
    }
    int issued = -1;
    attempt(fault,
            [&] { issued = loyalty::issuances::issue_event(app_, tenant_, next.events[k].id); });
    INFO(where());
    REQUIRE(issued == expected);
    m_ = next;
  }

  void redeem() {
    if (m_.issuances.empty()) return purchase();
    std::vector<std::size_t> redeemable;
    for (std::size_t k = 0; k < m_.issuances.size(); ++k) {
      if (m_.issuances[k].state == "issued" && m_.issuances[k].reward != kPoints) {
        redeemable.push_back(k);
      }
    }
    std::size_t k =
        !redeemable.empty() && chance(75)
            ? redeemable[between(0, static_cast<int>(redeemable.size()) - 1)]
            : static_cast<std::size_t>(between(0, static_cast<int>(m_.issuances.size()) - 1));
    const MIssuance& i = m_.issuances[k];
    bool by_code = i.reward == kVoucher && chance(50);
    bool fault = chance(15);
    note(std::string("redeem ") + (by_code ? "by code " : "") + "issuance " + std::to_string(k) +
         " (" + kRewards[i.reward].name + ", " + i.state + ")");
    bool expired = i.expires <= m_.clock;
    std::string expect;
    if (i.reward == kPoints) {
      expect = "not-redeemable";
    } else if (i.state == "issued") {
      expect = expired ? (by_code ? "code-expired" : "issuance-expired") : "";
    } else if (!by_code) {
      expect = "invalid-transition";
    } else {
      expect = i.state == "redeemed"  ? "code-already-redeemed"
               : i.state == "expired" ? "code-expired"
                                      : "code-not-redeemable";
    }
    std::string error = error_of(fault, [&] {
      if (by_code) {
        loyalty::issuances::redeem_by_code(app_, tenant_, i.code, std::nullopt,
                                           loyalty::Actor::system());
      } else {
        loyalty::issuances::redeem(app_, tenant_, i.id, std::nullopt, std::nullopt,
                                   loyalty::Actor::system());
      }
    });
    INFO(where());
    REQUIRE(error == expect);
    if (expect.empty()) {
      m_.issuances[k].state = "redeemed";
      m_.utilized -= kRewards[i.reward].cost;
      m_.spent += kRewards[i.reward].cost;
    }
  }

  void cancel() {
    if (m_.issuances.empty()) return purchase();
    std::vector<std::size_t> live;
    for (std::size_t k = 0; k < m_.issuances.size(); ++k) {
      if (m_.issuances[k].state == "reserved" || m_.issuances[k].state == "issued")
        live.push_back(k);
    }
    std::size_t k =
        !live.empty() && chance(70)
            ? live[between(0, static_cast<int>(live.size()) - 1)]
            : static_cast<std::size_t>(between(0, static_cast<int>(m_.issuances.size()) - 1));
    bool fault = chance(15);
    note("cancel issuance " + std::to_string(k) + " (" + kRewards[m_.issuances[k].reward].name +
         ", " + m_.issuances[k].state + ")");
    Model next = m_;
    MIssuance& i = next.issuances[k];
    bool allowed = i.state == "reserved" || i.state == "issued";
    if (allowed) next.cancel(i);
    std::string error = error_of(fault, [&] {
      loyalty::issuances::cancel(app_, tenant_, i.id, "model", loyalty::Actor::system());
    });
    INFO(where());
    REQUIRE(error == (allowed ? "" : "invalid-transition"));
    m_ = next;
  }

  void advance_clock() {
    long long by = between(1, 2) * kDay + between(0, 3599);
    note("clock +" + std::to_string(by / kDay) + " days");
    m_.clock += by;
    set_clock(m_.clock);
  }

  /// What `loyaltyctl expire` does for the tenant.
  void expire() {
    bool fault = chance(15);
    note("expire");
    Model next = m_;
    long long expired = 0, points = 0;
    for (auto& i : next.issuances) {
      if (i.state != "issued" || i.expires > next.clock) continue;
      i.state = "expired";
      ++expired;
      if (kRewards[i.reward].budgeted) next.utilized -= kRewards[i.reward].cost;
    }
    // Points expire with their issuance: what is still held of them, once.
    for (auto& i : next.issuances) {
      if (!i.credited || i.points_done || i.expires > next.clock) continue;
      i.points_done = true;
      if (i.state == "expired")
        points += next.debit(i.customer, kRewards[i.reward].points - i.taken_back);
    }
    loyalty::issuances::ExpiryReport report;
    attempt(fault, [&] { report = loyalty::issuances::expire_due(app_, tenant_, false); });
    INFO(where());
    REQUIRE(report.issuances_expired == expired);
    REQUIRE(report.points_expired == points);
    m_ = next;
  }

  void topup() {
    bool fault = chance(15);
    if (!m_.topups.empty() && chance(35)) {
      auto it = m_.topups.begin();
      std::advance(it, between(0, static_cast<int>(m_.topups.size()) - 1));
      bool same = chance(70);
      long long amount = same ? it->second : it->second + 100;
      note("topup again " + it->first + (same ? " (same amount)" : " (another amount)"));
      loyalty::budgets::TopupResult result;
      std::string error = error_of(fault, [&] {
        result = loyalty::budgets::topup_budget(app_, tenant_, loyalty::Actor::operator_cli(),
                                                "main", amount_text(amount), it->first);
      });
      INFO(where());
      REQUIRE(error == (same ? "" : "topup-reference-conflict"));
      if (same) REQUIRE(result.replayed);
      return;
    }
    long long amount = 100 * between(5, 20);
    std::string reference = "ref-" + std::to_string(step_);
    note("topup " + reference + " " + amount_text(amount));
    loyalty::budgets::TopupResult result;
    attempt(fault, [&] {
      result = loyalty::budgets::topup_budget(app_, tenant_, loyalty::Actor::operator_cli(), "main",
                                              amount_text(amount), reference);
    });
    INFO(where());
    REQUIRE(!result.replayed);
    REQUIRE(result.amount == amount);
    m_.total += amount;
    m_.topups[reference] = amount;
  }

  TestDatabase& db_;
  loyalty::db::Database& app_;  ///< the daemon's role, one connection: the steps run one by one
  pqxx::connection& admin_;
  pqxx::connection& locker_;
  std::mt19937_64 rng_;
  std::uint64_t seed_;
  Totals& totals_;
  std::string tenant_;
  std::unique_ptr<loyalty::events::RulesCache> cache_;
  Model m_;
  int step_ = 0;
  std::string last_op_;
  std::deque<std::string> history_;
  static inline int tenants_made_ = 0;
};

long long env_number(const char* name, long long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : fallback;
}

}  // namespace

TEST_CASE(
    "model: random purchases, refunds, redemptions, cancels, expiries, top-ups and retries, with "
    "backends terminated mid-transaction, keep balances, the budget and every issuance as the "
    "model says",
    "[pg]") {
  std::uint64_t first = static_cast<std::uint64_t>(env_number("LOYALTY_MODEL_FIRST_SEED", 1));
  long long seeds = env_number("LOYALTY_MODEL_SEEDS", 200);
  if (const char* one = std::getenv("LOYALTY_MODEL_SEED"); one && *one) {
    first = std::stoull(one);
    seeds = 1;
  }
  const int steps = static_cast<int>(env_number("LOYALTY_MODEL_STEPS", 20));
  TestDatabase db;
  pqxx::connection admin(db.owner_url()), locker(db.owner_url());
  // Commits not waiting for their WAL flush: what a commit makes visible, and to whom, is the
  // same, and durability across a crash is the crash test's subject, not this one's. The
  // sessions opened from here on (the pools below) have it.
  pqxx::nontransaction(admin).exec("ALTER DATABASE " + db.name() + " SET synchronous_commit = off");
  auto app = loyalty::db::Database::open_url(db.app_url(), 1);
  Totals totals;
  auto started = std::chrono::steady_clock::now();
  for (std::uint64_t seed = first; seed < first + static_cast<std::uint64_t>(seeds); ++seed) {
    auto setting_up = std::chrono::steady_clock::now();
    ModelRun run(db, *app, admin, locker, seed, totals);
    totals.setup +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setting_up).count();
    for (int step = 1; step <= steps; ++step) run.step(step);
    run.finish();
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "model: seeds %llu..%llu, %lld steps in %.1f s; %lld backends terminated "
      "mid-transaction (%lld retried by the library, %lld failed and were retried)\n",
      static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + seeds - 1),
      totals.steps, took, totals.faults, totals.absorbed, totals.retried);
  std::printf("model: operations:");
  for (const auto& [op, n] : totals.ops) {
    std::printf(" %s %lld (%.1f ms each)", op.c_str(), n, 1000 * totals.seconds[op] / n);
  }
  std::printf("; checks %.1f ms each, setup %.0f ms per seed", 1000 * totals.checks / totals.steps,
              1000 * totals.setup / seeds);
  std::printf("\n");
  CHECK(totals.steps == seeds * steps);
}
