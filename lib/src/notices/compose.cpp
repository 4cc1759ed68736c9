#include <loyalty/core/error.hpp>
#include <loyalty/notices/compose.hpp>
#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/conversation.hpp>
#include <loyalty/whatsapp/outbound.hpp>
#include <loyalty/whatsapp/replies.hpp>

namespace loyalty::notices {

namespace {

using Action = Composed::Action;
using selfservice::Catalogue;

std::string field(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return "";
}

Composed refuse(Action action, std::string reason) {
  Composed c;
  c.action = action;
  c.reason = std::move(reason);
  return c;
}

/// The notice as a text in the customer's language.
std::string notice_text(const Pending& p) {
  const auto& catalogue = Catalogue::builtin();
  auto text = [&](std::string_view key, selfservice::Vars vars = {}) {
    vars.emplace_back("merchant", p.merchant);
    return catalogue.text(p.language, key, vars);
  };
  const std::string reward = field(p.payload, "reward_name");
  if (p.kind == kRewardRedeemed) return text("notice_reward_redeemed", {{"reward", reward}});
  if (p.kind == kRewardExpiring) {
    return text("notice_reward_expiring", {{"reward", reward}, {"date", p.valid_until}});
  }
  if (p.kind == kPointsExpiring) {
    return text("notice_points_expiring",
                {{"points", field(p.payload, "points")}, {"date", p.valid_until}});
  }
  if (field(p.payload, "reward_type") == "points") {
    return text("notice_points", {{"points", field(p.payload, "points")}});
  }
  std::string out = text("notice_reward_issued", {{"reward", reward}});
  if (auto code = field(p.payload, "code"); !code.empty()) {
    out += "\n" + text("notice_code", {{"code", code}});
  }
  if (auto pin = field(p.payload, "pin"); !pin.empty()) {
    out += "\n" + text("notice_pin", {{"pin", pin}});
  }
  if (!p.valid_until.empty()) out += "\n" + text("reward_until", {{"date", p.valid_until}});
  return out;
}

std::vector<whatsapp::TemplateParameter> template_parameters(const Pending& p) {
  auto value = [](std::string v) { return whatsapp::TemplateParameter{"", v.empty() ? "-" : v}; };
  if (p.kind == kPointsExpiring) {
    return {value(p.merchant), value(field(p.payload, "points")), value(p.valid_until)};
  }
  std::vector<whatsapp::TemplateParameter> out = {value(p.merchant),
                                                  value(field(p.payload, "reward_name"))};
  if (p.kind == kRewardExpiring) out.push_back(value(p.valid_until));
  if (p.kind == kRewardIssued) {
    out.push_back(value(field(p.payload, "code")));
    out.push_back(value(field(p.payload, "pin")));
    out.push_back(value(p.valid_until));
  }
  return out;
}

Composed notice(const Pending& p) {
  if (p.kind != kRewardIssued && p.kind != kRewardRedeemed && p.kind != kRewardExpiring &&
      p.kind != kPointsExpiring) {
    return refuse(Action::fail, "unknown notice kind " + p.kind);
  }
  if (p.customer_status != "active" || !p.consent) {
    return refuse(Action::cancel, "the customer has not consented to messages");
  }
  if (p.phone.empty()) return refuse(Action::cancel, "the customer has no phone number");
  Composed c;
  if (p.in_window && !p.payload.value("outside_window", false)) {
    c.body = whatsapp::text_message(p.phone, notice_text(p));
    c.sent_as = "message";
    return c;
  }
  const auto templates = p.route_config.value("templates", nlohmann::json::object());
  auto it = templates.find(p.kind);
  if (it == templates.end() || !it->is_object()) {
    return refuse(Action::fail, "outside the 24-hour window and no template for " + p.kind +
                                    " (loyaltyctl channel add --template)");
  }
  whatsapp::TemplateMessage t{it->value("name", std::string()),
                              it->value("language", std::string("en")), template_parameters(p)};
  c.body = whatsapp::template_message(p.phone, t);
  c.sent_as = "template";
  return c;
}

}  // namespace

Composed compose(const Pending& p) {
  if (p.number_id.empty()) {
    return refuse(Action::cancel,
                  "the tenant has no WhatsApp number (loyaltyctl channel add --whatsapp)");
  }
  try {
    if (p.kind == kReply) {
      if (p.recipient.empty()) return refuse(Action::fail, "the reply has no recipient");
      Composed c;
      c.body = whatsapp::reply_message(p.recipient, selfservice::answer_from_json(p.payload));
      c.sent_as = "message";
      return c;
    }
    return notice(p);
  } catch (const Error& e) {
    // A template name or an answer the builders refuse: nothing to retry.
    return refuse(Action::fail, e.what());
  }
}

}  // namespace loyalty::notices
