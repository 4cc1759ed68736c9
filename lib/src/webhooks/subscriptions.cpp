#include "audit/audit.hpp"
#include "catalog/fields.hpp"

#include <loyalty/core/uuid.hpp>
#include <loyalty/webhooks/signature.hpp>
#include <loyalty/webhooks/subscriptions.hpp>

#include <algorithm>

namespace loyalty::webhooks {

namespace {

using nlohmann::json;

const std::string kColumns =
    "s.id::text AS id, s.url, s.description, array_to_json(s.event_types)::text AS event_types, "
    "s.active, s.disabled_reason, s.consecutive_failures, " LOYALTY_TS("s.failing_since")
    " AS failing_since, CASE WHEN s.paused_until > now() THEN " LOYALTY_TS("s.paused_until")
    " END AS paused_until, CASE WHEN s.previous_secret_until > now() THEN " LOYALTY_TS(
        "s.previous_secret_until") " END AS previous_secret_until, " LOYALTY_TS_US("s.created_at")
    " AS created_at, " LOYALTY_TS("s.updated_at") " AS updated_at";

const std::string kOneSql = "SELECT " + kColumns +
                            " FROM webhook_subscriptions s WHERE s.tenant_id = $1 AND s.id = "
                            "$2::uuid";
const db::Query kOne{"webhook_one", kOneSql.c_str()};
const std::string kListSql =
    "SELECT " + kColumns +
    " FROM webhook_subscriptions s WHERE s.tenant_id = $1 AND (nullif($2, '') IS NULL OR "
    "(s.created_at, s.id) > (nullif($2, '')::timestamptz, nullif($3, '')::uuid)) "
    "ORDER BY s.created_at, s.id LIMIT $4";
const db::Query kList{"webhook_list", kListSql.c_str()};
const db::Query kInsert{"webhook_insert", R"sql(
INSERT INTO webhook_subscriptions (tenant_id, url, description, event_types, active, secret)
VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, $6)
RETURNING id::text)sql"};
const db::Query kUpdate{"webhook_update", R"sql(
UPDATE webhook_subscriptions
   SET url = $3, description = $4, event_types = ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),
       active = $6, updated_at = now(),
       disabled_reason = CASE WHEN $6 THEN NULL
                              WHEN active THEN 'disabled by ' || $7 ELSE disabled_reason END,
       consecutive_failures = CASE WHEN $6 AND NOT active THEN 0 ELSE consecutive_failures END,
       failing_since = CASE WHEN $6 AND NOT active THEN NULL ELSE failing_since END,
       paused_until = CASE WHEN $6 AND NOT active THEN NULL ELSE paused_until END
 WHERE tenant_id = $1 AND id = $2::uuid)sql"};
// Re-enabled: what waited is due now.
const db::Query kWake{"webhook_wake", R"sql(
UPDATE webhook_deliveries SET next_attempt_at = now()
 WHERE tenant_id = $1 AND subscription_id = $2::uuid AND status = 'pending'
   AND leased_by IS NULL AND next_attempt_at > now())sql"};
const db::Query kRotate{"webhook_rotate", R"sql(
UPDATE webhook_subscriptions
   SET previous_secret = secret, previous_secret_until = now() + interval '24 hours',
       secret = $3, updated_at = now()
 WHERE tenant_id = $1 AND id = $2::uuid)sql"};
const db::Query kDeleteAttempts{"webhook_delete_attempts", R"sql(
DELETE FROM webhook_attempts a USING webhook_deliveries d
 WHERE a.tenant_id = $1 AND d.tenant_id = $1 AND d.subscription_id = $2::uuid
   AND a.delivery_id = d.id)sql"};
const db::Query kDeleteDeliveries{
    "webhook_delete_deliveries",
    "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2::uuid"};
const db::Query kDelete{"webhook_delete",
                        "DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2::uuid"};

std::vector<std::string> parse_types(const std::string& text) {
  return json::parse(text).get<std::vector<std::string>>();
}

Subscription row_to_subscription(const pqxx::row& r) {
  Subscription s;
  s.id = r["id"].as<std::string>();
  s.url = r["url"].as<std::string>();
  s.description = r["description"].as<std::string>();
  s.event_types = parse_types(r["event_types"].as<std::string>());
  s.active = r["active"].as<bool>();
  s.disabled_reason = catalog::optional_text(r["disabled_reason"]);
  s.consecutive_failures = r["consecutive_failures"].as<int>();
  s.failing_since = catalog::optional_text(r["failing_since"]);
  s.paused_until = catalog::optional_text(r["paused_until"]);
  s.previous_secret_until = catalog::optional_text(r["previous_secret_until"]);
  s.created_at = r["created_at"].as<std::string>();
  s.updated_at = r["updated_at"].as<std::string>();
  if (!s.active) {
    s.status = "disabled";
  } else if (s.paused_until) {
    s.status = "paused";
  } else if (s.failing_since) {
    s.status = "failing";
  } else {
    s.status = "healthy";
  }
  return s;
}

struct SubscriptionInput {
  std::string url;
  std::string description;
  std::vector<std::string> event_types;
  bool active = true;
};

SubscriptionInput check_subscription(const json& fields) {
  catalog::FieldReader in(fields);
  in.only({"url", "event_types", "description", "active"});
  SubscriptionInput out;
  out.url = in.text("url", true, 2048).value_or("");
  out.description = in.description("description");
  out.active = in.boolean("active").value_or(true);
  const auto types = fields.find("event_types");
  if (types == fields.end() || types->is_null()) {
    in.error("/event_types", "is required: a list of event types, or [\"*\"] for all");
  } else if (!types->is_array() || types->empty() || types->size() > 50) {
    in.error("/event_types", "must be a list of 1 to 50 event types, or [\"*\"]");
  } else {
    const auto& known = event_types();
    for (std::size_t i = 0; i < types->size(); ++i) {
      const auto& t = (*types)[i];
      const std::string pointer = "/event_types/" + std::to_string(i);
      if (!t.is_string()) {
        in.error(pointer, "must be a string");
      } else if (t != "*" && std::find(known.begin(), known.end(), t) == known.end()) {
        in.error(pointer, "unknown event type '" + t.get<std::string>() + "'");
      } else if (std::find(out.event_types.begin(), out.event_types.end(), t) ==
                 out.event_types.end()) {
        out.event_types.push_back(t);
      }
    }
  }
  in.throw_if_errors("the webhook subscription is not valid");
  return out;
}

Subscription load(db::Tx& tx, const std::string& tenant_id, const std::string& id) {
  if (!is_uuid(id)) throw_not_found("webhook subscription '" + id + "'");
  auto rows = tx.exec(kOne, tenant_id, id);
  if (rows.empty()) throw_not_found("webhook subscription '" + id + "'");
  return row_to_subscription(rows[0]);
}

json to_input(const Subscription& s) {
  return {{"url", s.url},
          {"description", s.description},
          {"event_types", s.event_types},
          {"active", s.active}};
}

}  // namespace

const std::vector<std::string>& event_types() {
  static const std::vector<std::string> types = {
      "customer.enrolled", "reward.issued",    "reward.redeemed", "reward.cancelled",
      "reward.expired",    "budget.threshold", "points.earned",   "points.spent",
      "points.reversed",   "points.expired",   "points.adjusted", "tier.changed",
      "referral.completed"};
  return types;
}

nlohmann::json to_json(const Subscription& s) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", s.id},
          {"url", s.url},
          {"description", s.description},
          {"event_types", s.event_types},
          {"active", s.active},
          {"status", s.status},
          {"disabled_reason", opt(s.disabled_reason)},
          {"consecutive_failures", s.consecutive_failures},
          {"failing_since", opt(s.failing_since)},
          {"paused_until", opt(s.paused_until)},
          {"previous_secret_until", opt(s.previous_secret_until)},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

CreatedSubscription create_subscription(db::Database& database, const std::string& tenant_id,
                                        const Actor& actor, const nlohmann::json& fields,
                                        const outbound::AddressPolicy& policy) {
  SubscriptionInput in = check_subscription(fields);
  // Vetted after the other fields: it may resolve the host, worth doing only for a good body.
  in.url = outbound::vet_url(in.url, policy).url;
  std::string secret = generate_webhook_secret();
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    auto id = tx.exec1(kInsert, tenant_id, in.url, in.description, json(in.event_types).dump(),
                       in.active, secret)[0]
                  .as<std::string>();
    Subscription s = load(tx, tenant_id, id);
    audit::record(tx, tenant_id, actor, "webhook.create", "webhook", id, nullptr, to_json(s));
    return CreatedSubscription{s, secret};
  });
}

Subscription update_subscription(db::Database& database, const std::string& tenant_id,
                                 const Actor& actor, const std::string& id,
                                 const nlohmann::json& patch,
                                 const outbound::AddressPolicy& policy) {
  if (!patch.is_object()) throw_invalid("the patch must be a JSON object", {{"", "not an object"}});
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Subscription before = load(tx, tenant_id, id);
    json merged = to_input(before);
    merged.merge_patch(patch);
    SubscriptionInput in = check_subscription(merged);
    // Vetted again only when it changes (an unchanged URL is vetted at every send).
    if (in.url != before.url) in.url = outbound::vet_url(in.url, policy).url;
    tx.exec(kUpdate, tenant_id, before.id, in.url, in.description, json(in.event_types).dump(),
            in.active, catalog::actor_label(actor));
    if (in.active && !before.active) tx.exec(kWake, tenant_id, before.id);
    Subscription after = load(tx, tenant_id, id);
    audit::record(tx, tenant_id, actor, "webhook.update", "webhook", before.id, to_json(before),
                  to_json(after));
    return after;
  });
}

CreatedSubscription rotate_secret(db::Database& database, const std::string& tenant_id,
                                  const Actor& actor, const std::string& id) {
  std::string secret = generate_webhook_secret();
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Subscription before = load(tx, tenant_id, id);
    tx.exec(kRotate, tenant_id, before.id, secret);
    Subscription after = load(tx, tenant_id, id);
    audit::record(tx, tenant_id, actor, "webhook.rotate_secret", "webhook", before.id, nullptr,
                  {{"previous_secret_until", to_json(after)["previous_secret_until"]}});
    return CreatedSubscription{after, secret};
  });
}

void remove_subscription(db::Database& database, const std::string& tenant_id, const Actor& actor,
                         const std::string& id) {
  db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Subscription before = load(tx, tenant_id, id);
    tx.exec(kDeleteAttempts, tenant_id, before.id);
    tx.exec(kDeleteDeliveries, tenant_id, before.id);
    tx.exec(kDelete, tenant_id, before.id);
    audit::record(tx, tenant_id, actor, "webhook.remove", "webhook", before.id, to_json(before),
                  nullptr);
  });
}

Subscription get_subscription(db::Database& database, const std::string& tenant_id,
                              const std::string& id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) { return load(tx, tenant_id, id); });
}

Page<Subscription> list_subscriptions(db::Database& database, const std::string& tenant_id,
                                      const PageRequest& page) {
  auto after = decode_keyed_cursor(page.cursor);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return fill_page<Subscription>(tx.exec(kList, tenant_id, after.key, after.id, page.limit + 1),
                                   page.limit, row_to_subscription, [](const Subscription& s) {
                                     return CursorPosition{s.created_at, s.id};
                                   });
  });
}

}  // namespace loyalty::webhooks
