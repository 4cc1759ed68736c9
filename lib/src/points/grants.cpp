// Bulk grants of points from a CSV file: all or nothing, idempotent by each line's reference.
#include "audit/audit.hpp"
#include "db/tx.hpp"
#include "points/lots.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/core/uuid.hpp>
#include <loyalty/points/points.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace loyalty::points {

namespace {

using db::Query;

constexpr std::size_t kMaxGrantLines = 100'000;

const Query kCustomerByPhone{"points_grant_customer_by_phone", R"sql(
  SELECT id::text FROM customers WHERE tenant_id = $1::uuid AND phone = $2)sql"};
const Query kCustomerById{"points_grant_customer_by_id", R"sql(
  SELECT id::text FROM customers WHERE tenant_id = $1::uuid AND id = $2::uuid)sql"};
const Query kGranted{"points_grant_references", R"sql(
  SELECT reference FROM points_ledger
   WHERE tenant_id = $1::uuid AND reference = ANY ($2::text[]))sql"};

struct Line {
  std::int64_t number = 0;
  std::vector<std::string> fields;
  bool malformed = false;  ///< an unterminated quote, or text after a closing quote
};

/// Splits RFC 4180 text into records, each with the number of the line it starts on.
std::vector<Line> parse_csv(const std::string& text) {
  std::vector<Line> out;
  std::size_t i = 0;
  std::int64_t line_no = 1;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) i = 3;  // a UTF-8 byte-order mark
  while (i < text.size()) {
    Line line;
    line.number = line_no;
    std::string field;
    bool quoted = false, after_quote = false, end = false;
    while (!end) {
      if (i >= text.size()) {
        if (quoted) line.malformed = true;
        end = true;
        break;
      }
      char c = text[i++];
      if (quoted) {
        if (c == '"') {
          if (i < text.size() && text[i] == '"') {
            field += '"';
            ++i;
          } else {
            quoted = false;
            after_quote = true;
          }
        } else {
          if (c == '\n') ++line_no;
          field += c;
        }
        continue;
      }
      if (c == ',') {
        line.fields.push_back(std::move(field));
        field.clear();
        after_quote = false;
      } else if (c == '\r' && i < text.size() && text[i] == '\n') {
        continue;
      } else if (c == '\n') {
        ++line_no;
        end = true;
      } else if (c == '"' && field.empty() && !after_quote) {
        quoted = true;
      } else if (after_quote) {
        line.malformed = true;
      } else {
        field += c;
      }
    }
    line.fields.push_back(std::move(field));
    bool blank = line.fields.size() == 1 && line.fields[0].empty() && !line.malformed;
    if (!blank) out.push_back(std::move(line));
  }
  return out;
}

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::int64_t> whole_points(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  std::int64_t n = std::stoll(s);
  if (n < 1 || n > kMaxPoints) return std::nullopt;
  return n;
}

}  // namespace

nlohmann::json to_json(const GrantReport& r) {
  auto applied = nlohmann::json::array();
  for (const auto& a : r.applied) {
    applied.push_back({{"line", a.line},
                       {"customer_id", a.customer_id},
                       {"points", a.points},
                       {"reference", a.reference}});
  }
  auto refused = nlohmann::json::array();
  for (const auto& x : r.refused) refused.push_back({{"line", x.line}, {"reason", x.reason}});
  return {{"dry_run", r.dry_run}, {"applied_all", r.applied_all}, {"lines", r.lines},
          {"points", r.points},   {"applied", applied},           {"already_applied", r.already},
          {"refused", refused}};
}

GrantReport grant(db::Database& database, const std::string& tenant_id, const std::string& csv,
                  bool dry_run, const Actor& actor) {
  auto lines = parse_csv(csv);
  if (!lines.empty() && !lines[0].fields.empty() &&
      lower(trimmed(lines[0].fields[0])) == "customer") {
    lines.erase(lines.begin());
  }
  if (lines.empty()) throw_invalid("the grant file has no lines to grant");
  if (lines.size() > kMaxGrantLines) {
    throw_invalid("the grant file has more than " + std::to_string(kMaxGrantLines) + " lines");
  }
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    GrantReport report;
    report.dry_run = dry_run;
    report.lines = static_cast<std::int64_t>(lines.size());
    struct Grant {
      std::int64_t line;
      std::string customer_id, reason, reference;
      std::int64_t points;
    };
    std::vector<Grant> grants;
    std::map<std::string, std::int64_t> first_line_of;  // reference -> line
    for (const auto& line : lines) {
      auto refuse = [&](std::string why) {
        report.refused.push_back({line.number, std::move(why)});
      };
      if (line.malformed) {
        refuse("malformed CSV (a quote not closed, or text after a closing quote)");
        continue;
      }
      if (line.fields.size() != 4) {
        refuse("expected 4 fields (customer, points, reason, reference), found " +
               std::to_string(line.fields.size()));
        continue;
      }
      const std::string who = trimmed(line.fields[0]), reference = trimmed(line.fields[3]);
      const std::string& reason = line.fields[2];
      auto points = whole_points(trimmed(line.fields[1]));
      if (!points) {
        refuse("points must be a whole number from 1 to " + std::to_string(kMaxPoints));
        continue;
      }
      if (reason.empty() || reason.size() > 500) {
        refuse("the reason must have 1 to 500 characters");
        continue;
      }
      if (reference.empty() || reference.size() > 200) {
        refuse("the reference must have 1 to 200 characters");
        continue;
      }
      if (auto seen = first_line_of.find(reference); seen != first_line_of.end()) {
        refuse("the reference is also on line " + std::to_string(seen->second));
        continue;
      }
      first_line_of[reference] = line.number;
      std::optional<std::string> phone;
      if (!is_uuid(who)) {
        phone = try_normalize_phone(who);
        if (!phone) {
          refuse("the customer is neither a customer id nor a valid phone number");
          continue;
        }
      }
      auto found = phone ? tx.exec(kCustomerByPhone, tenant_id, *phone)
                         : tx.exec(kCustomerById, tenant_id, who);
      if (found.empty()) {
        refuse("no such customer in this tenant");
        continue;
      }
      grants.push_back({line.number, found[0][0].as<std::string>(), reason, reference, *points});
    }
    // A run that will write locks its customers before it reads which references are granted:
    // of two runs of one file at once, the second reads, once the first has committed (each
    // statement sees what was committed before it), the references the first granted, and
    // reports them as already granted instead of failing on the unique reference.
    std::vector<std::string> references, customers;
    for (const auto& g : grants) {
      references.push_back(g.reference);
      customers.push_back(g.customer_id);
    }
    if (!dry_run && report.refused.empty()) lock_customers(tx, tenant_id, customers);
    std::set<std::string> granted;
    if (!references.empty()) {
      for (const auto& r : tx.exec(kGranted, tenant_id, db::text_array_literal(references))) {
        granted.insert(r[0].as<std::string>());
      }
    }
    for (const auto& g : grants) {
      if (granted.count(g.reference)) {
        report.already.push_back(g.line);
        continue;
      }
      report.applied.push_back({g.line, g.customer_id, g.reference, g.points});
      report.points = checked_add(report.points, g.points);
    }
    if (!report.refused.empty()) {  // all or nothing
      report.applied.clear();
      report.points = 0;
      return report;
    }
    if (dry_run) return report;  // what would be applied
    for (const auto& g : grants) {
      if (granted.count(g.reference)) continue;
      Cause cause;
      cause.kind = "grant";
      cause.reason = g.reason;
      cause.reference = g.reference;
      credit(tx, tenant_id, g.customer_id, g.points, "", cause, actor);
    }
    report.applied_all = true;
    audit::record(tx, tenant_id, actor, "points.grant", "tenant", tenant_id, nullptr,
                  {{"lines", report.lines},
                   {"applied", report.applied.size()},
                   {"already_applied", report.already.size()},
                   {"points", report.points}});
    return report;
  });
}

}  // namespace loyalty::points
