// The ledger: listing, streaming export through COPY, and the invariant check.
#include "budgets/budget_rows.hpp"
#include "catalog/fields.hpp"
#include "catalog/refs.hpp"

#include <loyalty/budgets/budgets.hpp>
#include <loyalty/rules/definition.hpp>

#include <pqxx/stream_from>

#include <array>
#include <ostream>
#include <regex>

namespace loyalty::budgets {

namespace {

constexpr std::array<std::string_view, 7> kKinds = {"topup", "reserve",  "release",   "charge",
                                                    "spend", "rollover", "adjustment"};

/// The movement SELECT list shared by the listing (aliases l for the movement, b the budget).
#define LOYALTY_MOVEMENT_COLUMNS                                                                 \
  "l.id, l.budget_id::text, b.name, l.kind, l.debit_account, l.credit_account, l.amount_minor, " \
  "l.currency, l.issuance_id::text, l.reference, " LOYALTY_TS(                                   \
      "l.period_start") ", l.actor, " LOYALTY_TS_US("l.created_at")

// A date is a whole local day of the tenant; a date-time is an instant.
const db::Query kRange{"ledger_range",
                       "SELECT coalesce(nullif($2, '')::timestamptz, "
                       "(nullif($3, '')::date)::timestamp AT TIME ZONE t.timezone)::text, "
                       "coalesce(nullif($4, '')::timestamptz, "
                       "(nullif($5, '')::date + 1)::timestamp AT TIME ZONE t.timezone)::text "
                       "FROM tenants t WHERE t.id = $1"};

// The page's ids first, from the ledger_list index alone (migration 0072: it holds the filtered
// columns, so the scan is index-only), then those rows by their key. Read in one step, the planner
// could prefer the primary key backwards, filtering every tenant's newer movements, because the
// tenant's rows are spread through the heap. The dates as ($4 = '' OR ...): under row-level
// security PostgreSQL does not use a condition with coalesce() as an index condition.
const db::Query kList{
    "ledger_list",
    "SELECT " LOYALTY_MOVEMENT_COLUMNS
    " FROM ledger_movements l JOIN budgets b ON b.tenant_id = l.tenant_id AND b.id = l.budget_id "
    "WHERE l.tenant_id = $1 AND l.id IN (SELECT p.id FROM ledger_movements p WHERE p.tenant_id = "
    "$1 AND (nullif($2, '') IS NULL OR p.budget_id = nullif($2, '')::uuid) "
    "AND ($3 = '' OR p.kind = $3) "
    "AND ($4 = '' OR p.created_at >= $4::timestamptz) AND ($5 = '' OR p.created_at < "
    "$5::timestamptz) AND ($6::bigint = 0 OR p.id < $6::bigint) "
    "ORDER BY p.id DESC LIMIT $7) ORDER BY l.id DESC",
    db::Plan::per_call};

const db::Query kExportSettings{
    "ledger_export_settings",
    "SELECT set_config('app.export_from', $1, true), set_config('app.export_to', $2, true), "
    "set_config('app.export_budget', $3, true), set_config('app.export_kind', $4, true)"};

// COPY cannot take parameters: the filters travel as transaction-local settings.
constexpr const char* kExportQuery =
    "(SELECT l.id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "l.budget_id, b.name, l.kind, l.debit_account, l.credit_account, l.amount_minor, l.currency, "
    "l.issuance_id, l.reference, "
    "to_char(l.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), l.actor "
    "FROM ledger_movements l JOIN budgets b ON b.tenant_id = l.tenant_id AND b.id = l.budget_id "
    "WHERE l.tenant_id = app_tenant_id() "
    "AND l.created_at >= coalesce(nullif(current_setting('app.export_from', true), "
    "'')::timestamptz, '-infinity') "
    "AND l.created_at < coalesce(nullif(current_setting('app.export_to', true), "
    "'')::timestamptz, 'infinity') "
    "AND (coalesce(current_setting('app.export_budget', true), '') = '' "
    "OR l.budget_id = nullif(current_setting('app.export_budget', true), '')::uuid) "
    "AND (coalesce(current_setting('app.export_kind', true), '') = '' "
    "OR l.kind = current_setting('app.export_kind', true)) "
    "ORDER BY l.created_at, l.id)";

constexpr std::array<const char*, 13> kExportHeader = {
    "id",       "created_at",    "budget_id",      "budget_name",
    "kind",     "debit_account", "credit_account", "amount",
    "currency", "issuance_id",   "reference",      "period_start",
    "actor"};
constexpr std::size_t kAmountColumn = 7;
constexpr std::size_t kIdColumn = 0;

const db::Query kVerifyBudgets{
    "ledger_verify_budgets",
    "WITH m AS ("
    " SELECT l.tenant_id, l.budget_id, count(*) AS n,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'reserved'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'reserved'), 0) AS reserved,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'utilized'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'utilized'), 0) AS utilized,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'spent'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'spent'), 0) AS spent,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'available'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'available'), 0)"
    "    AS available,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'funding'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'funding'), 0) AS funded,"
    "  coalesce(sum(l.amount_minor) FILTER (WHERE l.credit_account = 'closed'), 0)"
    "  - coalesce(sum(l.amount_minor) FILTER (WHERE l.debit_account = 'closed'), 0) AS closed,"
    "  count(*) FILTER (WHERE l.amount_minor <= 0 OR l.debit_account = l.credit_account)"
    "    AS unbalanced,"
    "  count(*) FILTER (WHERE l.currency <> bb.currency) AS wrong_currency"
    " FROM ledger_movements l JOIN budgets bb ON bb.tenant_id = l.tenant_id AND bb.id = l.budget_id"
    " WHERE (nullif($1, '') IS NULL OR l.tenant_id = nullif($1, '')::uuid)"
    " GROUP BY l.tenant_id, l.budget_id)"
    " SELECT b.tenant_id::text, t.slug, b.id::text, b.name, b.total_minor, b.reserved_minor,"
    " b.utilized_minor, b.spent_minor, b.hard_cap, coalesce(m.n, 0), coalesce(m.reserved, 0),"
    " coalesce(m.utilized, 0), coalesce(m.spent, 0), coalesce(m.available, 0),"
    " coalesce(m.funded, 0), coalesce(m.closed, 0), coalesce(m.unbalanced, 0),"
    " coalesce(m.wrong_currency, 0)"
    " FROM budgets b JOIN tenants t ON t.id = b.tenant_id"
    " LEFT JOIN m ON m.tenant_id = b.tenant_id AND m.budget_id = b.id"
    " WHERE (nullif($1, '') IS NULL OR b.tenant_id = nullif($1, '')::uuid)"
    " ORDER BY t.slug, b.name"};

// Each customer's points balance against the sum of their movements and the sum of what their
// lots hold, and each lot's remaining against the movements that name it (migration 0110): the
// customers where any of these disagree (a balance is never shown with the customer's phone).
// With pending points (migration 0113) the balance held is points_balance + points_pending, and
// points_pending is checked the same way: against the movements' pending parts and what the
// pending lots hold; a pending lot's movements' pending parts sum to its remaining, a released
// or never pending lot's to 0.
const db::Query kVerifyPoints{"ledger_verify_points", R"sql(
WITH p AS (
  SELECT tenant_id, customer_id, sum(points) AS points, sum(pending) AS pending
  FROM points_ledger
  WHERE nullif($1, '') IS NULL OR tenant_id = nullif($1, '')::uuid
  GROUP BY tenant_id, customer_id),
by_lot AS (
  SELECT lot_id, sum(points) AS points, sum(pending) AS pending FROM points_ledger
  WHERE nullif($1, '') IS NULL OR tenant_id = nullif($1, '')::uuid
  GROUP BY lot_id),
l AS (
  SELECT l.tenant_id, l.customer_id, sum(l.remaining) AS remaining,
         coalesce(sum(l.remaining) FILTER (WHERE l.pending_until IS NOT NULL
                                             AND l.released_at IS NULL), 0) AS pending,
         count(*) FILTER (
           WHERE l.remaining <> coalesce(b.points, 0)
              OR coalesce(b.pending, 0) <> CASE WHEN l.pending_until IS NOT NULL
                                                     AND l.released_at IS NULL
                                                THEN l.remaining ELSE 0 END) AS bad_lots
  FROM points_lots l LEFT JOIN by_lot b ON b.lot_id = l.id
  WHERE nullif($1, '') IS NULL OR l.tenant_id = nullif($1, '')::uuid
  GROUP BY l.tenant_id, l.customer_id)
SELECT c.tenant_id::text AS tenant_id, t.slug, c.id::text AS customer_id,
  -- The balance held: spendable and pending.
  (c.points_balance + c.points_pending)::text AS balance, coalesce(p.points, 0)::text AS ledger,
  coalesce(l.remaining, 0)::text AS lots, c.points_pending::text AS pending,
  coalesce(p.pending, 0)::text AS ledger_pending, coalesce(l.pending, 0)::text AS lots_pending,
  coalesce(l.bad_lots, 0) AS bad_lots
FROM customers c
JOIN tenants t ON t.id = c.tenant_id
LEFT JOIN p ON p.tenant_id = c.tenant_id AND p.customer_id = c.id
LEFT JOIN l ON l.tenant_id = c.tenant_id AND l.customer_id = c.id
WHERE (nullif($1, '') IS NULL OR c.tenant_id = nullif($1, '')::uuid)
  AND (c.points_balance + c.points_pending <> coalesce(p.points, 0)
       OR c.points_balance + c.points_pending <> coalesce(l.remaining, 0)
       OR c.points_pending <> coalesce(p.pending, 0)
       OR c.points_pending <> coalesce(l.pending, 0)
       OR coalesce(l.bad_lots, 0) > 0)
ORDER BY t.slug, c.id
)sql"};

const db::Query kVerifyPointsCounts{"ledger_verify_points_counts", R"sql(
SELECT
  (SELECT count(*) FROM customers
   WHERE nullif($1, '') IS NULL OR tenant_id = nullif($1, '')::uuid) AS customers,
  (SELECT count(*) FROM points_ledger
   WHERE nullif($1, '') IS NULL OR tenant_id = nullif($1, '')::uuid) AS movements,
  (SELECT count(*) FROM points_lots
   WHERE nullif($1, '') IS NULL OR tenant_id = nullif($1, '')::uuid) AS lots
)sql"};

const db::Query kVerifyTopups{
    "ledger_verify_topups",
    "SELECT x.tenant_id::text, t.slug, b.id::text, b.name, x.reference FROM budget_topups x"
    " JOIN budgets b ON b.tenant_id = x.tenant_id AND b.id = x.budget_id"
    " JOIN tenants t ON t.id = x.tenant_id"
    " LEFT JOIN ledger_movements l ON l.id = x.movement_id"
    " WHERE (nullif($1, '') IS NULL OR x.tenant_id = nullif($1, '')::uuid)"
    " AND (l.id IS NULL OR l.kind <> 'topup' OR l.amount_minor <> x.amount_minor"
    "  OR l.budget_id <> x.budget_id OR l.tenant_id <> x.tenant_id)"};

struct Range {
  std::string from;  ///< timestamptz text or empty
  std::string to;
};

bool is_date(const std::string& s) {
  static const std::regex kDate(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}$)");
  return std::regex_match(s, kDate);
}

/// Validates the filters (every problem with its pointer) and resolves dates to instants in the
/// tenant's time zone and the budget reference to an id.
struct ResolvedFilter {
  Range range;
  std::string budget_id;
  std::string kind;
};

void check_filter(const LedgerFilter& filter) {
  std::vector<FieldError> errors;
  if (!filter.kind.empty() &&
      std::find(kKinds.begin(), kKinds.end(), filter.kind) == kKinds.end()) {
    errors.push_back({"/type",
                      "must be one of topup, reserve, release, charge, spend, rollover, "
                      "adjustment"});
  }
  auto check_time = [&](const std::string& value, const char* ptr) {
    if (value.empty() || is_date(value) || rules::parse_timestamp(value)) return;
    errors.push_back({ptr, "must be a date (2025-01-31) or an RFC 3339 date-time"});
  };
  check_time(filter.from, "/from");
  check_time(filter.to, "/to");
  if (!errors.empty()) throw_invalid("the ledger filter is not valid", errors);
}

ResolvedFilter resolve(db::Tx& tx, const std::string& tenant_id, const LedgerFilter& filter) {
  ResolvedFilter out;
  out.kind = filter.kind;
  if (!filter.budget.empty()) {
    out.budget_id = catalog::require_id(tx, tenant_id, catalog::Entity::budget, filter.budget);
  }
  auto from_is_date = is_date(filter.from);
  auto to_is_date = is_date(filter.to);
  auto row =
      tx.exec1(kRange, tenant_id, from_is_date ? "" : filter.from, from_is_date ? filter.from : "",
               to_is_date ? "" : filter.to, to_is_date ? filter.to : "");
  out.range.from = row[0].is_null() ? "" : row[0].as<std::string>();
  out.range.to = row[1].is_null() ? "" : row[1].as<std::string>();
  return out;
}

Movement row_to_movement(const pqxx::row& r) {
  Movement m;
  m.id = r[0].as<std::int64_t>();
  m.budget_id = r[1].as<std::string>();
  m.budget_name = r[2].as<std::string>();
  m.kind = r[3].as<std::string>();
  m.debit_account = r[4].as<std::string>();
  m.credit_account = r[5].as<std::string>();
  m.amount = r[6].as<MinorUnits>();
  m.currency = r[7].as<std::string>();
  m.issuance_id = catalog::optional_text(r[8]);
  m.reference = catalog::optional_text(r[9]);
  m.period_start = catalog::optional_text(r[10]);
  m.actor = catalog::optional_text(r[11]);
  m.created_at = r[12].as<std::string>();
  return m;
}

/// Splits one line of COPY text format into fields; nullopt for \N.
void split_copy_line(const std::string& line, std::vector<std::optional<std::string>>& fields) {
  fields.clear();
  std::string current;
  bool null_field = false;
  std::size_t end = line.size();
  if (end > 0 && line[end - 1] == '\n') --end;
  for (std::size_t i = 0; i <= end; ++i) {
    if (i == end || line[i] == '\t') {
      if (null_field) {
        fields.emplace_back(std::nullopt);
      } else {
        fields.emplace_back(std::move(current));
      }
      current.clear();
      null_field = false;
      continue;
    }
    char c = line[i];
    if (c != '\\' || i + 1 >= end) {
      current += c;
      continue;
    }
    char e = line[++i];
    switch (e) {
      case 'N':
        null_field = true;
        break;
      case 'n':
        current += '\n';
        break;
      case 'r':
        current += '\r';
        break;
      case 't':
        current += '\t';
        break;
      case 'b':
        current += '\b';
        break;
      case 'f':
        current += '\f';
        break;
      case 'v':
        current += '\v';
        break;
      default:
        current += e;
    }
  }
}

void write_csv_field(std::string& out, const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void write_json_string(std::string& out, const std::string& value) {
  static const char* kHex = "0123456789abcdef";
  out += '"';
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

nlohmann::json to_json(const Movement& m) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"id", m.id},
          {"budget_id", m.budget_id},
          {"budget_name", m.budget_name},
          {"kind", m.kind},
          {"debit_account", m.debit_account},
          {"credit_account", m.credit_account},
          {"amount", format_amount(m.amount)},
          {"currency", m.currency},
          {"issuance_id", opt(m.issuance_id)},
          {"reference", opt(m.reference)},
          {"period_start", opt(m.period_start)},
          {"actor", opt(m.actor)},
          {"created_at", m.created_at}};
}

Page<Movement> list_ledger(db::Database& database, const std::string& tenant_id,
                           const LedgerFilter& filter, const PageRequest& page) {
  check_filter(filter);
  std::int64_t before_id = decode_numeric_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto f = resolve(tx, tenant_id, filter);
    return fill_page<Movement>(tx.exec(kList, tenant_id, f.budget_id, f.kind, f.range.from,
                                       f.range.to, before_id, page.limit + 1),
                               page.limit, row_to_movement, [](const Movement& m) {
                                 return CursorPosition{std::to_string(m.id), ""};
                               });
  });
}

std::int64_t export_ledger(db::Database& database, const std::string& tenant_id,
                           const LedgerFilter& filter, ExportFormat format, std::ostream& out) {
  check_filter(filter);
  bool attempted = false;
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    // Rows already written cannot be taken back: a retried transaction would repeat them.
    if (attempted) {
      throw Error(ErrorCode::unavailable, "export-interrupted",
                  "the export was interrupted (the database connection failed); run it again");
    }
    attempted = true;
    auto f = resolve(tx, tenant_id, filter);
    tx.exec(kExportSettings, f.range.from, f.range.to, f.budget_id, f.kind);

    std::string buffer;
    buffer.reserve(1 << 17);
    auto flush = [&] {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    };
    if (format == ExportFormat::csv) {
      for (std::size_t i = 0; i < kExportHeader.size(); ++i) {
        if (i > 0) buffer += ',';
        buffer += kExportHeader[i];
      }
      buffer += "\r\n";
    }

    // stream_from over a parenthesised query runs COPY (query) TO STDOUT.
    pqxx::stream_from stream(tx.work(), kExportQuery);
    std::string line;
    std::vector<std::optional<std::string>> fields;
    fields.reserve(kExportHeader.size());
    std::int64_t rows = 0;
    while (stream.get_raw_line(line)) {
      split_copy_line(line, fields);
      if (fields.size() != kExportHeader.size()) {
        throw Error(ErrorCode::internal, "internal", "unexpected COPY row shape");
      }
      if (format == ExportFormat::csv) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
          if (i > 0) buffer += ',';
          if (!fields[i]) continue;
          if (i == kAmountColumn) {
            buffer += format_amount(std::stoll(*fields[i]));
          } else {
            write_csv_field(buffer, *fields[i]);
          }
        }
        buffer += "\r\n";
      } else {
        buffer += '{';
        for (std::size_t i = 0; i < fields.size(); ++i) {
          if (i > 0) buffer += ',';
          buffer += '"';
          buffer += kExportHeader[i];
          buffer += "\":";
          if (!fields[i]) {
            buffer += "null";
          } else if (i == kIdColumn) {
            buffer += *fields[i];
          } else if (i == kAmountColumn) {
            buffer += '"' + format_amount(std::stoll(*fields[i])) + '"';
          } else {
            write_json_string(buffer, *fields[i]);
          }
        }
        buffer += "}\n";
      }
      ++rows;
      if (buffer.size() > (1 << 16)) flush();
    }
    stream.complete();
    flush();
    out.flush();
    return rows;
  });
}

VerifyReport verify_ledger(db::Database& database, const std::string& tenant_id) {
  auto check = [&](db::Tx& tx) {
    VerifyReport report;
    for (const auto& r : tx.exec(kVerifyBudgets, tenant_id)) {
      ++report.budgets;
      LedgerProblem base{r[0].as<std::string>(),
                         r[1].as<std::string>(),
                         r[2].as<std::string>(),
                         r[3].as<std::string>(),
                         "",
                         ""};
      auto total = r[4].as<MinorUnits>();
      auto reserved = r[5].as<MinorUnits>();
      auto utilized = r[6].as<MinorUnits>();
      auto spent = r[7].as<MinorUnits>();
      bool hard_cap = r[8].as<bool>();
      report.movements += r[9].as<std::int64_t>();
      auto l_reserved = r[10].as<MinorUnits>();
      auto l_utilized = r[11].as<MinorUnits>();
      auto l_spent = r[12].as<MinorUnits>();
      auto l_available = r[13].as<MinorUnits>();
      auto l_funded = r[14].as<MinorUnits>();
      auto l_closed = r[15].as<MinorUnits>();
      auto unbalanced = r[16].as<std::int64_t>();
      auto wrong_currency = r[17].as<std::int64_t>();
      auto problem = [&](std::string message) {
        LedgerProblem p = base;
        p.message = std::move(message);
        report.problems.push_back(std::move(p));
      };
      auto compare = [&](const char* counter, MinorUnits stored, MinorUnits ledger) {
        if (stored == ledger) return;
        problem(std::string(counter) + " is " + format_amount(stored) + " but its ledger sums to " +
                format_amount(ledger));
      };
      compare("reserved", reserved, l_reserved);
      compare("utilized", utilized, l_utilized);
      compare("spent", spent, l_spent);
      try {
        compare("total", total, checked_sub(l_funded, l_closed));
        compare("available",
                checked_sub(checked_sub(checked_sub(total, reserved), utilized), spent),
                l_available);
        MinorUnits used = checked_add(checked_add(reserved, utilized), spent);
        if (hard_cap && used > total) {
          problem("hard cap broken: reserved + utilized + spent = " + format_amount(used) +
                  " exceeds total " + format_amount(total));
        }
      } catch (const Error&) {
        problem("its counters or ledger sums do not fit in 64 bits");
      }
      if (unbalanced > 0) {
        problem(std::to_string(unbalanced) + " movement(s) do not balance");
      }
      if (wrong_currency > 0) {
        problem(std::to_string(wrong_currency) + " movement(s) in another currency");
      }
    }
    for (const auto& r : tx.exec(kVerifyTopups, tenant_id)) {
      report.problems.push_back(
          {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
           r[3].as<std::string>(),
           "top-up '" + r[4].as<std::string>() + "' does not match its ledger movement", ""});
    }
    auto counts = tx.exec1(kVerifyPointsCounts, tenant_id);
    report.customers = counts["customers"].as<std::int64_t>();
    report.points_movements = counts["movements"].as<std::int64_t>();
    report.points_lots = counts["lots"].as<std::int64_t>();
    for (const auto& r : tx.exec(kVerifyPoints, tenant_id)) {
      LedgerProblem p;
      p.tenant_id = r["tenant_id"].as<std::string>();
      p.tenant_slug = r["slug"].as<std::string>();
      p.customer_id = r["customer_id"].as<std::string>();
      auto balance = r["balance"].as<std::string>(), ledger = r["ledger"].as<std::string>(),
           lots = r["lots"].as<std::string>(), pending = r["pending"].as<std::string>(),
           ledger_pending = r["ledger_pending"].as<std::string>(),
           lots_pending = r["lots_pending"].as<std::string>();
      if (balance != ledger) {
        p.message = "points balance is " + balance + " but its points ledger sums to " + ledger;
      } else if (balance != lots) {
        p.message = "points balance is " + balance + " but its points lots hold " + lots;
      } else if (pending != ledger_pending) {
        p.message = "pending points are " + pending + " but its points ledger's pending sums to " +
                    ledger_pending;
      } else if (pending != lots_pending) {
        p.message = "pending points are " + pending + " but its pending lots hold " + lots_pending;
      } else {
        p.message = r["bad_lots"].as<std::string>() +
                    " points lot(s) hold other than their movements sum to";
      }
      report.problems.push_back(std::move(p));
    }
    return report;
  };
  if (tenant_id.empty()) return db::with_tx(database, check);
  return db::with_tenant(database, tenant_id, check);
}

}  // namespace loyalty::budgets
