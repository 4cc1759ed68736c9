#pragma once
// Private: what the event pipeline reads and writes of rewards, inside its transaction (tenant
// set). The pool code an issuance takes is assigned by the issuance's own insert
// (issuances/reserve.hpp): the code row references the issuance.

#include "db/tx.hpp"

#include <loyalty/core/money.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::rewards {

/// What issuing a reward takes, read without locking it.
struct IssuingTerms {
  std::string type;
  MinorUnits cost_minor = 0;
  std::string currency;
  nlohmann::json config;
  bool pooled = false;                ///< a voucher whose codes come from an uploaded pool
  bool generated = false;             ///< a voucher whose code is generated at issue
  std::optional<std::int64_t> stock;  ///< a physical reward's items left (none: unlimited)
  bool code_available = false;        ///< a pooled voucher: an available code remains
  std::string name;
  std::optional<std::string> budget_id;      ///< the reward's default budget
  std::optional<std::int64_t> points_price;  ///< claimable with this many points
  bool issuable_now = false;                 ///< active, and within its valid_from..valid_until
};

/// The terms of some rewards, by id (an unknown id is left out).
std::map<std::string, IssuingTerms> read_issuing_terms(db::Tx& tx, const std::string& tenant_id,
                                                       const std::vector<std::string>& reward_ids);

/// A new code for a generated voucher: its prefix and `length` characters without look-alikes.
std::string new_voucher_code(const nlohmann::json& config);

/// Takes one item of stock from each reward listed (a reward listed twice gives two) with the
/// transaction's COMMIT (db::Tx::exec_with_commit), in id order. A reward with fewer items than
/// the caller read (a concurrent issuance took them) fails the commit with a serialization
/// failure, and with_tenant runs the transaction again.
void take_stock_with_commit(db::Tx& tx, const std::string& tenant_id,
                            std::vector<std::string> reward_ids);

}  // namespace loyalty::rewards
