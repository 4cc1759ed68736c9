#pragma once
// The model of the seeded model test (tests/pg/model_test.cpp): the catalogue it runs, an
// in-memory account of balances, the budget's counters, stock and every issuance's state, and
// the comparison of that account with what the database holds.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace loyalty::test::model {

// ---- The catalogue ---------------------------------------------------------------------------

struct RewardSpec {
  const char* name;
  const char* type;
  long long cost;        ///< minor units, reserved from the budget when budgeted
  int validity_days;     ///< an issued reward expires this long after it was created
  bool budgeted;         ///< its rule reserves from the budget
  long long min_amount;  ///< the rule matches purchases of at least this (minor units)
  long long points;
};

// In the order the rules run (priority, highest first).
inline const RewardSpec kRewards[] = {
    {"voucher", "voucher", 500, 2, true, 5000, 0},
    {"tote", "physical", 100, 3, true, 8000, 0},
    {"discount", "discount", 200, 2, true, 2000, 0},
    {"points", "points", 0, 3, false, 1, 100},
};
inline constexpr int kVoucher = 0, kTote = 1, kPoints = 3;
inline constexpr int kRewardCount = 4;
inline constexpr long long kToteStock = 2;
inline constexpr int kCustomers = 2;
inline constexpr long long kBaseEpoch = 1894010400;  // 2030-01-07T10:00:00Z: app_now() at step 0
inline constexpr long long kDay = 86400;

inline std::string phone(int customer) { return "+26377" + std::to_string(4000000 + customer); }

inline std::string amount_text(long long minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", minor / 100, minor % 100);
  return buf;
}

inline std::string instant_text(long long epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ---- The model -------------------------------------------------------------------------------

struct MIssuance {
  std::string id;
  std::string code;
  int reward = 0;
  int customer = 0;
  std::string state = "reserved";
  long long expires = 0;     ///< epoch seconds
  bool credited = false;     ///< its points were credited (it was issued)
  bool points_done = false;  ///< its points entry expired: nothing more to take back
  long long taken_back = 0;  ///< points a partial refund already debited
};

struct MEvent {
  std::string key;
  std::string type;
  nlohmann::json body;
  int customer = 0;
  long long amount = 0;
  std::string id;
  int status = 0;
  std::string answer;
  long long refunded = 0;           ///< purchases: amount refunded so far
  std::vector<std::size_t> issued;  ///< indexes into Model::issuances
};

struct Model {
  long long clock = kBaseEpoch;
  long long total = 0, reserved = 0, utilized = 0, spent = 0;
  long long stock = kToteStock;
  long long balance[kCustomers] = {0, 0};
  bool enrolled[kCustomers] = {false, false};
  std::vector<MIssuance> issuances;
  std::vector<MEvent> events;
  std::map<std::string, long long> topups;  // reference -> amount

  long long available() const { return total - reserved - utilized - spent; }

  /// Takes up to `points` from a customer's balance, never below zero; returns what it took.
  long long debit(int customer, long long points) {
    long long taken = std::min(balance[customer], std::max(0LL, points));
    balance[customer] -= taken;
    return taken;
  }

  /// reserved|issued -> cancelled: the budget released, stock returned, the points still held
  /// taken back.
  void cancel(MIssuance& i) {
    const auto& spec = kRewards[i.reward];
    if (spec.budgeted) (i.state == "reserved" ? reserved : utilized) -= spec.cost;
    if (i.state == "issued" && spec.points > 0) debit(i.customer, spec.points - i.taken_back);
    if (i.reward == kTote) ++stock;
    i.state = "cancelled";
  }
};

/// What the database shows of one tenant, in the model's terms.
struct State {
  std::string budget;  ///< "total reserved utilized spent"
  long long stock = 0;
  std::map<std::string, std::string> customers;  ///< phone -> "balance ledger-sum"
  std::map<std::string, std::string> issuances;  ///< id -> "state expires-epoch"
  std::set<std::string> events;                  ///< idempotency keys
  bool operator==(const State&) const = default;
};

inline State state_of(const Model& m) {
  State s;
  s.budget = std::to_string(m.total) + " " + std::to_string(m.reserved) + " " +
             std::to_string(m.utilized) + " " + std::to_string(m.spent);
  s.stock = m.stock;
  for (int c = 0; c < kCustomers; ++c) {
    if (m.enrolled[c]) {
      s.customers[phone(c)] = std::to_string(m.balance[c]) + " " + std::to_string(m.balance[c]);
    }
  }
  for (const auto& i : m.issuances) s.issuances[i.id] = i.state + " " + std::to_string(i.expires);
  for (const auto& e : m.events) s.events.insert(e.key);
  return s;
}

inline std::string describe_difference(const State& db, const State& model) {
  std::ostringstream out;
  if (db.budget != model.budget) {
    out << "budget (total reserved utilized spent): database " << db.budget << ", model "
        << model.budget << "\n";
  }
  if (db.stock != model.stock) {
    out << "tote stock: database " << db.stock << ", model " << model.stock << "\n";
  }
  auto maps = [&](const char* what, const std::map<std::string, std::string>& a,
                  const std::map<std::string, std::string>& b) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a) keys.insert(k);
    for (const auto& [k, v] : b) keys.insert(k);
    for (const auto& k : keys) {
      auto x = a.find(k), y = b.find(k);
      std::string dv = x == a.end() ? "(none)" : x->second;
      std::string mv = y == b.end() ? "(none)" : y->second;
      if (dv != mv) out << what << " " << k << ": database " << dv << ", model " << mv << "\n";
    }
  };
  maps("customer (balance, points ledger sum)", db.customers, model.customers);
  maps("issuance (state, expires)", db.issuances, model.issuances);
  for (const auto& k : db.events) {
    if (!model.events.count(k)) out << "event " << k << ": in the database only\n";
  }
  for (const auto& k : model.events) {
    if (!db.events.count(k)) out << "event " << k << ": in the model only\n";
  }
  return out.str();
}

}  // namespace loyalty::test::model
