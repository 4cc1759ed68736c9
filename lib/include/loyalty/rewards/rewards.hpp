#pragma once
// The reward catalogue: what a rule can give, what it costs a budget, and voucher code pools.
//
// Types and their `config`:
//   discount  {"kind": "percent", "percent": 10}  or  {"kind": "fixed", "amount": "5.00"}
//   voucher   {"source": "pool"}  (codes uploaded with upload_codes)  or
//             {"source": "generated", "length": 10, "prefix": "XMAS-"}  (codes made at issue
//             time from an alphabet without look-alike characters, unique in the tenant)
//   points    {"points": 100}
//   physical  {"stock": 25, "sku": "MUG-01"}  (stock never goes below zero)
// Every reward has a cost in a currency (what an issuance reserves from a budget) and optional
// validity: valid_from/valid_until (when it can be issued) and validity_days (how long an issued
// reward can be redeemed).

#include <loyalty/core/actor.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::rewards {

/// Codes of a voucher pool by state.
struct PoolStatus {
  std::int64_t available = 0;
  std::int64_t assigned = 0;
  std::int64_t redeemed = 0;
};

struct Reward {
  std::string id;
  std::string name;
  std::string description;
  std::string type;  ///< discount | voucher | points | physical
  nlohmann::json config;
  MinorUnits cost = 0;
  std::string currency;
  std::optional<std::int64_t> points;  ///< points rewards
  std::optional<std::int64_t> stock;   ///< physical rewards: items left
  bool requires_pin = false;
  std::optional<std::string> valid_from;  ///< RFC 3339 UTC
  std::optional<std::string> valid_until;
  std::optional<std::int64_t> validity_days;
  std::optional<std::string> budget_id;
  std::optional<std::int64_t> points_price;  ///< claimable with this many points (not points)
  bool active = true;
  std::optional<PoolStatus> pool;  ///< voucher rewards
  std::string created_at;
  std::string updated_at;
};

/// JSON of a reward as the CLI and API show it (cost as a decimal string).
nlohmann::json to_json(const Reward& reward);

/// Creates a reward from its fields: name (required, unique in the tenant), type (required),
/// cost (decimal string, default "0"), currency (required), config (see above), description,
/// valid_from, valid_until, validity_days, budget (id or name), requires_pin, active, and
/// points_price (1 to kMaxPoints: customers may claim it with that many points; not for a
/// points reward).
/// Throws Error(invalid) listing every bad field by JSON pointer (e.g. /config/percent),
/// Error(conflict) for a name already used. Audited.
Reward create_reward(db::Database& db, const std::string& tenant_id, const Actor& actor,
                     const nlohmann::json& fields);

/// Applies a JSON merge patch (RFC 7396) of the same fields to a reward and validates the
/// result as create_reward does. Throws Error(not_found), Error(invalid), Error(conflict).
/// Audited with before and after.
Reward update_reward(db::Database& db, const std::string& tenant_id, const Actor& actor,
                     const std::string& id_or_name, const nlohmann::json& patch);

/// The reward with this id or name, with its pool status. Throws Error(not_found).
Reward get_reward(db::Database& db, const std::string& tenant_id, const std::string& id_or_name);

struct RewardFilter {
  std::string type;  ///< empty for any
  std::optional<bool> active;
};

/// One page of the tenant's rewards in name order. Throws Error(invalid) for a bad type filter.
Page<Reward> list_rewards(db::Database& db, const std::string& tenant_id,
                          const RewardFilter& filter, const PageRequest& page);

struct InvalidLine {
  std::int64_t line = 0;  ///< 1-based line number in the file
  std::string reason;
};

/// What an upload did. Nothing is half-loaded: the codes are inserted in one transaction.
struct UploadReport {
  std::int64_t lines = 0;               ///< lines read (blank ones included)
  std::int64_t inserted = 0;            ///< new codes now in the pool
  std::int64_t duplicates_in_file = 0;  ///< repeats of a code earlier in the file
  std::int64_t already_present = 0;     ///< codes the tenant already had (any reward)
  std::vector<InvalidLine> invalid;     ///< the first kMaxReportedInvalid invalid lines
  std::int64_t invalid_count = 0;       ///< all invalid lines
  PoolStatus pool;                      ///< the pool after the upload
};

inline constexpr std::size_t kMaxReportedInvalid = 1000;

nlohmann::json to_json(const UploadReport& report);

/// Loads voucher codes into the pool of a voucher reward with source "pool": one code per line
/// (a CSV's first column; a header line "code" is skipped; blank lines are ignored). Each code is
/// trimmed of spaces, tabs and CR (Windows line endings), and must be 4-64 characters of A-Z,
/// a-z, 0-9, '-' and '_'; lines that are not UTF-8 or break these rules are reported as invalid
/// and skipped. Valid codes are streamed through COPY into a staging table and inserted with one
/// INSERT ... ON CONFLICT DO NOTHING, in one transaction.
/// Throws Error(not_found) for an unknown reward, Error(invalid, "not-a-code-pool") for a reward
/// without an uploaded pool, Error(unavailable) when a deadlock or lost connection rolled the
/// transaction back (the stream cannot be replayed: run the upload again). Audited (counts only;
/// never the codes).
UploadReport upload_codes(db::Database& db, const std::string& tenant_id, const Actor& actor,
                          const std::string& reward_id_or_name, std::istream& codes);

/// The alphabet of generated codes: digits and capitals without 0/O, 1/I/L look-alikes.
inline constexpr std::string_view kCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A random code: `prefix` followed by `length` characters of kCodeAlphabet.
std::string generate_code(std::string_view prefix, std::size_t length);

}  // namespace loyalty::rewards
