#include <loyalty/core/error.hpp>
#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/conversation.hpp>

#include <algorithm>
#include <cctype>

namespace loyalty::selfservice {

namespace {

/// Rewards listed in one answer: a WhatsApp text holds 4,096 characters, a list 10 rows.
constexpr std::size_t kRewardsShown = 20;
constexpr std::size_t kPinOptions = 10;

/// What a message asks for.
struct Intent {
  Command command = Command::none;
  std::string argument;     ///< the words after the command ("REDEEM AB12" → "AB12")
  std::string issuance_id;  ///< a "pin:<id>" option
  std::string offer;        ///< a "claim:<reward id>" option (claim_confirmed: "claimok:<id>:<n>")
  bool claim_confirmed = false;
  std::optional<long long> confirmed_balance;  ///< the balance the confirmation showed (n)
};

std::string trim(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Intent intent_of(const Said& said) {
  if (!said.option_id.empty()) {
    const std::string& id = said.option_id;
    if (id.rfind("pin:", 0) == 0)
      return {Command::redeem, "", id.substr(4), "", false, std::nullopt};
    if (id.rfind("lang:", 0) == 0)
      return {Command::language, id.substr(5), "", "", false, std::nullopt};
    if (id.rfind("claim:", 0) == 0)
      return {Command::redeem, "", "", id.substr(6), false, std::nullopt};
    if (id.rfind("claimok:", 0) == 0) {
      // claimok:<reward id>:<balance>: what the customer confirmed, so that the same Yes sent
      // twice claims once.
      const std::string rest = id.substr(8);
      const auto colon = rest.find(':');
      Intent confirmed{Command::redeem, "", "", rest.substr(0, colon), true, std::nullopt};
      if (colon != std::string::npos) {
        try {
          confirmed.confirmed_balance = std::stoll(rest.substr(colon + 1));
        } catch (const std::exception&) {
          confirmed.confirmed_balance = -1;  // matches no balance: asks again
        }
      }
      return confirmed;
    }
    static const std::vector<std::pair<std::string, Command>> kIds = {
        {"join", Command::join},     {"balance", Command::balance}, {"rewards", Command::rewards},
        {"redeem", Command::redeem}, {"stop", Command::stop},       {"help", Command::help},
        {"lang", Command::language}};
    for (const auto& [name, command] : kIds) {
      if (id == name) return {command, "", "", "", false, std::nullopt};
    }
    // A quick reply of a template carries its own payload: read it as a typed command.
    return intent_of(Said{said.text.empty() ? id : said.text, ""});
  }
  std::string text = trim(said.text);
  auto space = std::find_if(text.begin(), text.end(),
                            [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  std::string word(text.begin(), space);
  return {Catalogue::builtin().command_of(word),
          trim(std::string(space, text.end())),
          "",
          "",
          false,
          std::nullopt};
}

/// Texts in one language, with the merchant's name filled in.
class Texts {
 public:
  Texts(const Merchant& m, std::string language) : m_(m), language_(std::move(language)) {}
  std::string operator()(std::string_view key, Vars vars = {}) const {
    vars.emplace_back("merchant", m_.name);
    return Catalogue::builtin().text(language_, key, vars);
  }
  void switch_to(std::string language) { language_ = std::move(language); }

  Answer answer(std::string text, std::vector<Option> options = {}) const {
    return Answer{std::move(text), (*this)("menu"), std::move(options)};
  }
  std::vector<Option> member_menu() const {
    return {{"balance", (*this)("menu_points"), ""},
            {"rewards", (*this)("menu_rewards"), ""},
            {"lang", (*this)("menu_language"), ""},
            {"stop", (*this)("menu_opt_out"), ""},
            {"help", (*this)("menu_help"), ""}};
  }
  std::vector<Option> guest_menu() const {
    return {{"join", (*this)("menu_join"), ""}, {"help", (*this)("menu_help"), ""}};
  }

 private:
  const Merchant& m_;
  std::string language_;
};

Answer balance(db::Database& db, const Merchant& m, const Member& member, const Texts& t) {
  auto p = points(db, m, member.customer_id);
  std::string text = t("points_balance", {{"points", std::to_string(p.balance)}});
  if (p.expiring > 0) {
    text += " " +
            t("points_expiring", {{"points", std::to_string(p.expiring)}, {"date", p.expiring_on}});
  }
  return t.answer(text, t.member_menu());
}

std::vector<Option> pin_options(const std::vector<Reward>& list, const Texts& t) {
  std::vector<Option> options;
  for (const auto& r : list) {
    if (!r.pin_required || options.size() == kPinOptions) continue;
    options.push_back({"pin:" + r.issuance_id, r.name, t("get_pin")});
  }
  return options;
}

Answer list_rewards(db::Database& db, const Merchant& m, const Member& member, const Texts& t) {
  auto list = rewards(db, m, member.customer_id);
  if (list.empty()) return t.answer(t("no_rewards"), t.member_menu());
  std::string text = t("rewards_title");
  for (std::size_t i = 0; i < list.size() && i < kRewardsShown; ++i) {
    const auto& r = list[i];
    text += "\n\n" +
            (r.code.empty() ? r.name : t("reward_code", {{"reward", r.name}, {"code", r.code}}));
    if (!r.expires_on.empty()) text += "\n" + t("reward_until", {{"date", r.expires_on}});
    if (r.pin_required) text += "\n" + t("reward_pin_note");
  }
  auto options = pin_options(list, t);
  return t.answer(text, options.empty() ? t.member_menu() : options);
}

Answer pin_for(db::Database& db, const Merchant& m, const Member& member, const Reward& reward,
               const std::string& channel, const Texts& t) {
  std::string pin = fresh_pin(db, m, member.customer_id, reward.issuance_id, channel);
  return t.answer(t("pin_sent", {{"reward", reward.name},
                                 {"pin", pin},
                                 {"minutes", std::to_string(kPinValidity.count() / 60)}}));
}

/// The redeem menu's options: the rewards that need a PIN, then those the customer can claim
/// with points (a WhatsApp list holds 10 rows).
std::vector<Option> redeem_options(const std::vector<Reward>& list,
                                   const std::vector<Offer>& offers, const Texts& t) {
  auto options = pin_options(list, t);
  for (const auto& o : offers) {
    if (options.size() == kPinOptions) break;
    options.push_back({"claim:" + o.reward_id, o.name,
                       t("offer_price", {{"price", std::to_string(o.points_price)}})});
  }
  return options;
}

/// A reward picked to claim with points: what it costs first, then (confirmed) the claim.
Answer claim_offer(db::Database& db, const Merchant& m, const Member& member, const Intent& intent,
                   const std::string& channel, const Texts& t) {
  auto all = offers(db, m);
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const Offer& o) { return o.reward_id == intent.offer; });
  if (it == all.end()) return t.answer(t("claim_unavailable_any"), t.member_menu());
  const Vars what = {{"reward", it->name}, {"price", std::to_string(it->points_price)}};
  auto with_points = [&](Vars v, long long points) {
    v.emplace_back("points", std::to_string(points));
    return v;
  };
  auto confirm = [&](long long have) {
    if (have < it->points_price)
      return t.answer(t("claim_short", with_points(what, have)), t.member_menu());
    return t.answer(t("claim_confirm", with_points(what, have)),
                    {{"claimok:" + it->reward_id + ":" + std::to_string(have), t("yes"), ""},
                     {"balance", t("no"), ""}});
  };
  if (!intent.claim_confirmed) return confirm(points(db, m, member.customer_id).balance);
  // A Yes without the balance it confirmed (an older button) confirms nothing: asked again.
  if (!intent.confirmed_balance) return confirm(points(db, m, member.customer_id).balance);
  auto claimed =
      claim(db, m, member.customer_id, it->reward_id, channel, *intent.confirmed_balance);
  if (!claimed.reward) {
    // The balance moved since the Yes (the same Yes twice, points earned or spent meanwhile).
    if (claimed.refused == "points-changed") return confirm(claimed.balance);
    if (claimed.refused == "insufficient-points")
      return t.answer(t("claim_short", with_points(what, claimed.balance)), t.member_menu());
    return t.answer(t("claim_unavailable", what), t.member_menu());
  }
  // The reward's notice follows as for any reward, with its code and PIN: a PIN made here would
  // make the notice's stale.
  std::string text = t("claimed", with_points(what, claimed.balance));
  const Reward& r = *claimed.reward;
  if (!r.code.empty()) {
    text += "\n\n" + t("reward_show_code", {{"code", r.code}, {"reward", r.name}});
  }
  if (r.pin_required) text += "\n" + t("reward_pin_note");
  return t.answer(text, t.member_menu());
}

Answer redeem(db::Database& db, const Merchant& m, const Member& member, const Intent& intent,
              const std::string& channel, const Texts& t) {
  if (!intent.offer.empty()) return claim_offer(db, m, member, intent, channel, t);
  auto list = rewards(db, m, member.customer_id);
  if (!intent.issuance_id.empty() || !intent.argument.empty()) {
    auto it = std::find_if(list.begin(), list.end(), [&](const Reward& r) {
      return intent.issuance_id.empty()
                 ? (!r.code.empty() && lower(r.code) == lower(intent.argument))
                 : r.issuance_id == intent.issuance_id;
    });
    if (it == list.end()) return t.answer(t("unknown_code"), t.member_menu());
    if (it->pin_required) return pin_for(db, m, member, *it, channel, t);
    return t.answer(t("reward_show_code", {{"code", it->code}, {"reward", it->name}}));
  }
  auto options = redeem_options(list, offers(db, m), t);
  if (options.empty()) {
    if (list.empty()) return t.answer(t("no_rewards"), t.member_menu());
    return list_rewards(db, m, member, t);
  }
  return t.answer(t("redeem_title"), options);
}

Answer language(db::Database& db, const Merchant& m, const Member& member, const Intent& intent,
                Texts& t) {
  const auto& catalogue = Catalogue::builtin();
  std::string wanted = lower(intent.argument);
  for (const auto& code : catalogue.languages()) {
    if (wanted == code || wanted == lower(catalogue.text(code, "language_name"))) {
      set_language(db, m, member.customer_id, code);
      t.switch_to(code);
      return t.answer(t("language_set"), t.member_menu());
    }
  }
  std::vector<Option> options;
  for (const auto& code : catalogue.languages()) {
    options.push_back({"lang:" + code, catalogue.text(code, "language_name"), ""});
  }
  return t.answer(t("language_title"), options);
}

Answer guest(db::Database& db, const Merchant& m, const std::string& phone,
             const std::optional<Member>& member, const Intent& intent, const std::string& channel,
             Texts& t) {
  if (intent.command == Command::join) {
    // "JOIN CODE": the referral code of the customer who sent them.
    bool code_refused = false;
    auto joined = join(db, m, phone, channel, intent.argument, &code_refused);
    t.switch_to(joined.language);
    return t.answer(t("joined") + (code_refused ? "\n\n" + t("referral_unknown") : "") + "\n\n" +
                        t("your_referral_code", {{"code", joined.referral_code}}) + "\n\n" +
                        t("help_whatsapp_member"),
                    t.member_menu());
  }
  if (intent.command == Command::help) return t.answer(t("help_whatsapp"), t.guest_menu());
  if (member) return t.answer(t("rejoin_hint"), {{"join", t("menu_join"), ""}});
  return t.answer(t("title_guest") + "\n" + t("not_member"), t.guest_menu());
}

}  // namespace

Answer converse(db::Database& db, const Merchant& m, const std::string& phone, const Said& said,
                const std::string& channel) {
  auto member = find_member(db, m, phone);
  Texts t(m, member ? member->language : m.language);
  Intent intent = intent_of(said);
  if (!member || member->status == "opted_out") {
    return guest(db, m, phone, member, intent, channel, t);
  }
  if (member->status != "active") return t.answer(t("suspended"));
  switch (intent.command) {
    case Command::balance:
      return balance(db, m, *member, t);
    case Command::rewards:
      return list_rewards(db, m, *member, t);
    case Command::redeem:
      return redeem(db, m, *member, intent, channel, t);
    case Command::stop:
      opt_out(db, m, member->customer_id, channel);
      return t.answer(t("opted_out_whatsapp"));
    case Command::language:
      return language(db, m, *member, intent, t);
    case Command::join:
      return t.answer(t("stayed"), t.member_menu());
    case Command::help:
      return t.answer(t("help_whatsapp_member"), t.member_menu());
    case Command::none:
      break;
  }
  return t.answer(t("unknown_command") + " " + t("help_whatsapp_member"), t.member_menu());
}

nlohmann::json to_json(const Answer& answer) {
  nlohmann::json options = nlohmann::json::array();
  for (const auto& o : answer.options) {
    options.push_back({{"id", o.id}, {"title", o.title}, {"description", o.description}});
  }
  return {{"text", answer.text}, {"options_label", answer.options_label}, {"options", options}};
}

Answer answer_from_json(const nlohmann::json& j) {
  try {
    Answer a{j.at("text").get<std::string>(), j.value("options_label", std::string()), {}};
    for (const auto& o : j.value("options", nlohmann::json::array())) {
      a.options.push_back({o.at("id").get<std::string>(), o.at("title").get<std::string>(),
                           o.value("description", std::string())});
    }
    return a;
  } catch (const nlohmann::json::exception&) {
    throw_invalid("not a conversation answer");
  }
}

}  // namespace loyalty::selfservice
