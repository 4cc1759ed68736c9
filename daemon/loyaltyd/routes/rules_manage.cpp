// A tenant's stored rules, in the rules engine's definition format; and the rule builder's
// checks of a draft: validate (a rule or bare JsonLogic) and simulate (a rule against an event).
#include "server.hpp"

#include <loyalty/events/events.hpp>
#include <loyalty/rules/engine.hpp>
#include <loyalty/rulesets/rulesets.hpp>

namespace loyaltyd {

namespace {

const std::vector<std::string> kRuleFields = {
    "name", "description", "event_type", "conditions", "reward",      "budget",         "campaign",
    "caps", "priority",    "active",     "valid_from", "valid_until", "stop_processing"};

/// Problems of a part of the body, their pointers made relative to the body ("/rule" + ...).
std::vector<loyalty::FieldError> under(const std::string& prefix,
                                       std::vector<loyalty::FieldError> errors) {
  for (auto& e : errors) e.pointer = prefix + e.pointer;
  return errors;
}

[[noreturn]] void refuse(std::vector<loyalty::FieldError> errors) {
  std::string detail = std::to_string(errors.size()) + " problem" +
                       (errors.size() == 1 ? "" : "s") + "; first: " + errors[0].pointer + " " +
                       errors[0].message;
  loyalty::throw_invalid(detail, std::move(errors));
}

/// Runs `fn`, giving the pointers of an Error(invalid) it throws the prefix of its part.
template <typename Fn>
auto within(const std::string& prefix, Fn&& fn) {
  try {
    return fn();
  } catch (const loyalty::Error& e) {
    if (e.code() != loyalty::ErrorCode::invalid || e.fields().empty()) throw;
    throw loyalty::Error(e.code(), e.type(), e.what(), under(prefix, e.fields()));
  }
}

/// POST .../rules/validate: {"rule": DEFINITION} or {"logic": JSONLOGIC}.
nlohmann::json validate(App& app, Request& req) {
  auto body = req.json_body({"rule", "logic"});
  if (body.contains("rule") == body.contains("logic")) {
    loyalty::throw_invalid("give either a rule or bare JsonLogic",
                           {{"", "exactly one of rule and logic is required"}});
  }
  if (body.contains("logic")) {
    auto errors = loyalty::rules::check_logic(body["logic"], "/logic");
    if (!errors.empty()) refuse(std::move(errors));
    return {{"ok", true}};
  }
  auto errors = loyalty::rulesets::check_rule(*app.db, req.tenant_id, body["rule"]);
  if (!errors.empty()) refuse(under("/rule", std::move(errors)));
  return {{"ok", true},
          {"rule", loyalty::rules::to_json(loyalty::rules::parse_definitions(body["rule"]).at(0))}};
}

/// POST .../rules/simulate: {"rule": DEFINITION, "event": EVENT, "rule_id": ID?}.
nlohmann::json simulate(App& app, Request& req) {
  auto body = req.json_body({"rule", "event", "rule_id"});
  std::vector<loyalty::FieldError> missing;
  if (!body.contains("rule")) missing.push_back({"/rule", "a rule definition is required"});
  if (!body.contains("event") || !body["event"].is_object()) {
    missing.push_back({"/event", "an event object, as POSTed to /events, is required"});
  }
  if (!missing.empty()) refuse(std::move(missing));
  std::string id = optional_string(body, "rule_id").value_or("");
  auto draft = within("/rule", [&] {
    return loyalty::rulesets::resolve_draft(*app.db, req.tenant_id, body["rule"], id);
  });
  auto result = within("/event", [&] {
    return loyalty::events::simulate_event(*app.db, req.tenant_id, body["event"], {draft});
  });
  nlohmann::json out = {
      {"customer_known", result["customer_known"]}, {"matches", false}, {"would_issue", false}};
  if (result["rules"].empty()) {
    // Not evaluated: the customer or tenant is not active, or the event is of another type.
    const auto& not_issued = result["not_issued"];
    out["reason"] = !not_issued.empty() && not_issued[0].contains("reason")
                        ? not_issued[0]["reason"].get<std::string>()
                        : std::string("other_event_type");
  } else {
    const auto& rule = result["rules"][0];
    out["matches"] = rule["matches"];
    if (!rule["matches"].get<bool>()) {
      out["reason"] = "conditions_not_met";
    } else if (rule["would_issue"].get<bool>()) {
      out["would_issue"] = true;
      out["reward_id"] = draft.reward_id;
    } else {
      out["reason"] = rule["reason"];
    }
  }
  return out;
}

void add_rule_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/rules/validate", kAnyUser,
              [&app](Request& req) { return Reply::json(200, validate(app, req)); },
              "check a rule definition, or bare JsonLogic, as the engine and the tenant would"});
  server.add({"POST", "/v1/tenants/{tid}/rules/simulate", kAnyUser,
              [&app](Request& req) { return Reply::json(200, simulate(app, req)); },
              "evaluate a draft rule against a sample event, writing nothing"});
  server.add({"POST", "/v1/tenants/{tid}/rules", kAdmin | kManager,
              [&app](Request& req) {
                auto rule = loyalty::rulesets::create_rule(*app.db, req.tenant_id, actor_of(req),
                                                           req.json_body(kRuleFields));
                return Reply::json(201, loyalty::rulesets::to_json(rule));
              },
              "create a rule"});
  server.add({"GET", "/v1/tenants/{tid}/rules", kAnyUser,
              [&app](Request& req) {
                loyalty::rulesets::RuleFilter filter;
                filter.event_type = req.query("event_type");
                filter.campaign = req.query("campaign");
                auto active = req.query("active");
                if (active == "true" || active == "false") {
                  filter.active = active == "true";
                } else if (!active.empty()) {
                  loyalty::throw_invalid("the active filter is not valid",
                                         {{"/active", "must be true or false"}});
                }
                auto page = loyalty::rulesets::list_rules(
                    *app.db, req.tenant_id, filter,
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& r) {
                                     return loyalty::rulesets::to_json(r);
                                   }));
              },
              "list rules"});
  server.add({"GET", "/v1/tenants/{tid}/rules/{id}", kAnyUser,
              [&app](Request& req) {
                return Reply::json(200, loyalty::rulesets::to_json(loyalty::rulesets::get_rule(
                                            *app.db, req.tenant_id, req.params["id"])));
              },
              "show a rule"});
  server.add({"PATCH", "/v1/tenants/{tid}/rules/{id}", kAdmin | kManager,
              [&app](Request& req) {
                auto rule =
                    loyalty::rulesets::update_rule(*app.db, req.tenant_id, actor_of(req),
                                                   req.params["id"], req.json_body(kRuleFields));
                return Reply::json(200, loyalty::rulesets::to_json(rule));
              },
              "change a rule (JSON merge patch; conditions are replaced whole)"});
  server.add({"DELETE", "/v1/tenants/{tid}/rules/{id}", kAdmin | kManager,
              [&app](Request& req) {
                loyalty::rulesets::delete_rule(*app.db, req.tenant_id, actor_of(req),
                                               req.params["id"]);
                return Reply{204, "application/json", "", {}};
              },
              "delete a rule"});
}

const RouteGroup kRuleRoutes(add_rule_routes);

}  // namespace

}  // namespace loyaltyd
