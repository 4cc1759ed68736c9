#include "audit/audit.hpp"
#include "catalog/fields.hpp"
#include "db/tx.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>

#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace loyalty::channels {

namespace {

const db::Query kFind{"channel_find",
                      "SELECT tenant_id::text, config::text FROM "
                      "channel_find_tenant($1, $2)"};
const db::Query kAdd{"channel_add",
                     "INSERT INTO channel_routes (tenant_id, channel, address, config) VALUES "
                     "($1::uuid, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING RETURNING id::text, "
                     "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"};
const db::Query kList{"channel_list",
                      "SELECT id::text, channel, address, config::text, to_char(created_at AT TIME "
                      "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM channel_routes WHERE "
                      "tenant_id = $1::uuid ORDER BY channel, address"};
const db::Query kRemove{"channel_remove",
                        "DELETE FROM channel_routes WHERE tenant_id = $1::uuid AND channel = $2 "
                        "AND address = $3"};

const db::Query kRemoveById{"channel_remove_by_id",
                            "DELETE FROM channel_routes WHERE tenant_id = $1::uuid AND id = "
                            "$2::uuid RETURNING channel, address"};

const db::Query kSecretFiles{
    "channel_secret_files", "SELECT address, app_secret_file FROM channel_whatsapp_secret_files()"};

void check(const Route& r) {
  if (r.channel == "ussd") {
    if (!is_service_code(r.address))
      throw_invalid("not a USSD service code",
                    {{"/address", "dialled form, e.g. *123# or *123*4#"}});
  } else if (r.channel == "whatsapp") {
    static const std::regex kId("^[0-9]{5,30}$");
    if (!std::regex_match(r.address, kId))
      throw_invalid("not a WhatsApp phone number id",
                    {{"/address", "the digits of the phone number id Meta shows"}});
    // Meta's template names: lower-case letters, digits and '_'; languages such as en, en_US.
    static const std::regex kName("^[a-z0-9_]{1,512}$"), kLanguage("^[a-z]{2,3}(_[A-Z]{2})?$");
    const auto templates = r.config.value("templates", nlohmann::json::object());
    for (const auto& [kind, t] : templates.items()) {
      const std::string pointer = "/config/templates/" + kind;
      static const std::set<std::string> kKinds = {"reward_issued", "reward_redeemed",
                                                   "reward_expiring", "points_expiring"};
      if (!kKinds.count(kind)) {
        throw_invalid(
            "unknown notice kind " + kind,
            {{pointer, "reward_issued, reward_redeemed, reward_expiring or points_expiring"}});
      }
      if (!std::regex_match(t.value("name", ""), kName)) {
        throw_invalid("not a WhatsApp template name",
                      {{pointer + "/name", "lower-case letters, digits and '_'"}});
      }
      if (!std::regex_match(t.value("language", ""), kLanguage)) {
        throw_invalid("not a template language",
                      {{pointer + "/language", "a language code such as en or en_US"}});
      }
    }
  } else {
    throw_invalid("unknown channel", {{"/channel", "whatsapp or ussd"}});
  }
}

Route insert_route(db::Tx& tx, const std::string& tenant_id, const Route& route,
                   const Actor& actor) {
  auto rows = tx.exec(kAdd, tenant_id, route.channel, route.address, route.config.dump());
  if (rows.empty()) {
    throw Error(ErrorCode::conflict, "channel-taken",
                route.channel + " " + route.address + " already belongs to a tenant");
  }
  Route added = route;
  added.tenant_id = tenant_id;
  added.id = rows[0][0].as<std::string>();
  added.created_at = rows[0][1].as<std::string>();
  audit::record(tx, tenant_id, actor, "channel.add", "channel", route.channel + ":" + route.address,
                nullptr, to_json(added));
  return added;
}

std::vector<Route> select_routes(db::Tx& tx, const std::string& tenant_id) {
  std::vector<Route> out;
  for (const auto& r : tx.exec(kList, tenant_id)) {
    out.push_back(Route{r[0].as<std::string>(), tenant_id, r[1].as<std::string>(),
                        r[2].as<std::string>(), nlohmann::json::parse(r[3].as<std::string>()),
                        r[4].as<std::string>()});
  }
  return out;
}

/// The API's fields as a route: every problem of their shape at its pointer, then check()'s.
Route route_of_fields(const nlohmann::json& fields) {
  catalog::FieldReader in(fields);
  in.only({"channel", "address", "config"});
  Route r;
  r.channel = in.choice("channel", true, {"whatsapp", "ussd"}).value_or("");
  r.address = in.text("address", true, 100).value_or("");
  if (fields.contains("config") && !fields["config"].is_null()) {
    const auto& config = fields["config"];
    if (!config.is_object()) {
      in.error("/config", "must be an object");
    } else {
      for (const auto& [key, value] : config.items()) {
        if (key != "templates") {
          in.error("/config/" + key,
                   key == "access_token_file" || key == "app_secret_file"
                       ? "a secret file is set by the operator (loyaltyctl channel add)"
                       : "unknown field: only templates");
        } else if (!value.is_object()) {
          in.error("/config/templates", "must be an object of notice kinds");
        } else {
          for (const auto& [kind, t] : value.items()) {
            if (!t.is_object() || !t.contains("name") || !t["name"].is_string() ||
                !t.value("language", nlohmann::json("en")).is_string()) {
              in.error("/config/templates/" + kind,
                       "must be {\"name\": TEMPLATE, \"language\": LANGUAGE}");
            }
          }
        }
      }
    }
  }
  in.throw_if_errors("the channel is not valid");
  // Well formed now: each template {name, language (default en)}, as loyaltyctl writes them.
  if (fields.contains("config") && fields["config"].is_object() &&
      fields["config"].contains("templates") && !fields["config"]["templates"].empty()) {
    nlohmann::json templates = nlohmann::json::object();
    for (const auto& [kind, t] : fields["config"]["templates"].items()) {
      templates[kind] = {{"name", t["name"]}, {"language", t.value("language", std::string("en"))}};
    }
    r.config["templates"] = templates;
  }
  if (r.channel == "ussd" && r.config.contains("templates")) {
    throw_invalid("templates are for WhatsApp numbers",
                  {{"/config/templates", "a USSD code sends no WhatsApp templates"}});
  }
  check(r);
  return r;
}

}  // namespace

bool is_service_code(const std::string& code) {
  static const std::regex kCode("^\\*[0-9]{1,6}(\\*[0-9]{1,6}){0,4}#$");
  return code.size() <= 40 && std::regex_match(code, kCode);
}

std::optional<Route> find_route(db::Database& database, const std::string& channel,
                                const std::string& address) {
  return db::read_once(database, [&](db::Tx& tx) -> std::optional<Route> {
    auto rows = tx.exec(kFind, channel, address);
    if (rows.empty()) return std::nullopt;
    Route r;
    r.tenant_id = rows[0][0].as<std::string>();
    r.channel = channel;
    r.address = address;
    r.config = nlohmann::json::parse(rows[0][1].as<std::string>());
    return r;
  });
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  return secret;
}

std::vector<std::pair<std::string, std::string>> whatsapp_secret_files(db::Database& database) {
  return db::read_once(database, [&](db::Tx& tx) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : tx.exec(kSecretFiles)) {
      out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
    }
    return out;
  });
}

Route add_route(db::Database& owner, const std::string& tenant_id, const Route& route,
                const Actor& actor) {
  check(route);
  return db::with_tx(owner, [&](db::Tx& tx) { return insert_route(tx, tenant_id, route, actor); });
}

std::vector<Route> list_routes(db::Database& owner, const std::string& tenant_id) {
  return db::with_tx(owner, [&](db::Tx& tx) { return select_routes(tx, tenant_id); });
}

void remove_route(db::Database& owner, const std::string& tenant_id, const std::string& channel,
                  const std::string& address, const Actor& actor) {
  db::with_tx(owner, [&](db::Tx& tx) {
    if (tx.exec(kRemove, tenant_id, channel, address).affected_rows() == 0)
      throw_not_found(channel + " " + address);
    audit::record(tx, tenant_id, actor, "channel.remove", "channel", channel + ":" + address,
                  {{"channel", channel}, {"address", address}}, nullptr);
  });
}

Route add_tenant_route(db::Database& app, const std::string& tenant_id, const Actor& actor,
                       const nlohmann::json& fields) {
  auto route = route_of_fields(fields);
  return db::with_tenant(app, tenant_id,
                         [&](db::Tx& tx) { return insert_route(tx, tenant_id, route, actor); });
}

std::vector<Route> tenant_routes(db::Database& app, const std::string& tenant_id) {
  return db::with_tenant(app, tenant_id, [&](db::Tx& tx) { return select_routes(tx, tenant_id); });
}

void remove_tenant_route(db::Database& app, const std::string& tenant_id, const Actor& actor,
                         const std::string& id) {
  if (!is_uuid(id)) throw_not_found("channel '" + id + "'");
  db::with_tenant(app, tenant_id, [&](db::Tx& tx) {
    auto rows = tx.exec(kRemoveById, tenant_id, id);
    if (rows.empty()) throw_not_found("channel '" + id + "'");
    const auto channel = rows[0][0].as<std::string>(), address = rows[0][1].as<std::string>();
    audit::record(tx, tenant_id, actor, "channel.remove", "channel", channel + ":" + address,
                  {{"channel", channel}, {"address", address}}, nullptr);
  });
}

nlohmann::json to_api_json(const Route& r) {
  return {{"id", r.id},
          {"channel", r.channel},
          {"address", r.address},
          {"templates", r.config.value("templates", nlohmann::json::object())},
          {"own_access_token", r.config.contains("access_token_file")},
          {"own_app_secret", r.config.contains("app_secret_file")},
          {"created_at", r.created_at}};
}

nlohmann::json to_json(const Route& r) {
  return {{"id", r.id},
          {"channel", r.channel},
          {"address", r.address},
          {"config", r.config},
          {"created_at", r.created_at}};
}

}  // namespace loyalty::channels
