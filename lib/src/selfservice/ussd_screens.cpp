// The USSD screens.
#include <loyalty/selfservice/ussd.hpp>

#include <vector>

namespace loyalty::selfservice::ussd {

namespace {

std::string numbered(std::size_t n, const std::string& label) {
  return std::to_string(n) + ". " + label;
}

}  // namespace

Screens::Screens(std::string language, const std::string& merchant_name, std::string service_code)
    : language_(std::move(language)),
      merchant_(gsm7_safe(merchant_name, 20)),
      service_code_(std::move(service_code)) {}

std::string Screens::text(std::string_view key, const Vars& vars) const {
  Vars all = vars;
  all.emplace_back("merchant", merchant_);
  all.emplace_back("code", service_code_);
  return Catalogue::builtin().text(language_, key, all);
}

std::string Screens::main_guest() const {
  return text("title_guest") + "\n" + numbered(1, text("menu_join")) + "\n" +
         numbered(2, text("menu_language")) + "\n" + numbered(3, text("menu_help"));
}

std::string Screens::main_member() const {
  return text("title_member") + "\n" + numbered(1, text("menu_points")) + "\n" +
         numbered(2, text("menu_rewards")) + "\n" + numbered(3, text("menu_redeem")) + "\n" +
         numbered(4, text("menu_language")) + "\n" + numbered(5, text("menu_opt_out")) + "\n" +
         numbered(6, text("menu_help"));
}

std::string Screens::join_confirm() const {
  return text("join_confirm") + "\n" + numbered(1, text("yes")) + "\n" + numbered(2, text("no"));
}

std::string Screens::points(const Points& p) const {
  std::string s = text("points_balance", {{"points", std::to_string(p.balance)}});
  if (p.expiring > 0 && !p.expiring_on.empty()) {
    s += "\n" +
         text("points_expiring", {{"points", std::to_string(p.expiring)}, {"date", p.expiring_on}});
  }
  return s + "\n0. " + text("back");
}

std::string Screens::page_of(std::string_view title_key, const std::vector<std::string>& labels,
                             std::size_t page) const {
  if (labels.empty()) return text("no_rewards") + "\n0. " + text("back");
  std::string s = text(title_key);
  const std::size_t from = page * kPageSize;
  for (std::size_t i = from; i < std::min(labels.size(), from + kPageSize); ++i)
    s += "\n" + numbered(i - from + 1, labels[i]);
  if (labels.size() > from + kPageSize) s += "\n9. " + text("more");
  return s + "\n0. " + text("back");
}

std::string Screens::list(std::string_view title_key, const std::vector<Reward>& items,
                          std::size_t page) const {
  std::vector<std::string> labels;
  for (const auto& r : items) labels.push_back(gsm7_safe(r.name, 20));
  return page_of(title_key, labels, page);
}

std::string Screens::redeem_list(const std::vector<Reward>& items, bool offers,
                                 std::size_t page) const {
  std::vector<std::string> labels;
  for (const auto& r : items) labels.push_back(gsm7_safe(r.name, 20));
  if (offers) labels.push_back(text("menu_claim"));
  return page_of("redeem_title", labels, page);
}

std::string Screens::claim_list(const std::vector<Offer>& offers, std::size_t page) const {
  std::vector<std::string> labels;
  for (const auto& o : offers)
    labels.push_back(gsm7_safe(o.name, 12) + " " + std::to_string(o.points_price));
  return page_of("claim_title", labels, page);
}

std::string Screens::claim_confirm(const Offer& o, long long balance) const {
  const Vars v = {{"reward", gsm7_safe(o.name, 24)},
                  {"price", std::to_string(o.points_price)},
                  {"points", std::to_string(balance)}};
  if (balance < o.points_price) return text("claim_short", v) + "\n0. " + text("back");
  return text("claim_confirm", v) + "\n" + numbered(1, text("yes")) + "\n" +
         numbered(2, text("no"));
}

std::string Screens::claimed(const Offer& o, long long balance, const Reward& r,
                             const std::string& pin) const {
  // With a PIN the screen has no room for the balance.
  if (!pin.empty()) {
    return text("claimed_short", {{"price", std::to_string(o.points_price)}}) + "\n" +
           this->pin(r, pin);
  }
  std::string s = text("claimed", {{"reward", gsm7_safe(o.name, 24)},
                                   {"price", std::to_string(o.points_price)},
                                   {"points", std::to_string(balance)}});
  if (!r.code.empty()) s += "\n" + text("notice_code", {{"code", gsm7_safe(r.code, 32)}});
  return s;
}

std::string Screens::claim_refused(const Offer& o, long long balance,
                                   const std::string& refused) const {
  const Vars v = {{"reward", gsm7_safe(o.name, 24)},
                  {"price", std::to_string(o.points_price)},
                  {"points", std::to_string(balance)}};
  return text(refused == "insufficient-points" ? "claim_short" : "claim_unavailable", v);
}

std::string Screens::reward(const Reward& r) const {
  std::string s = r.code.empty() ? gsm7_safe(r.name, 24)
                                 : text("reward_code", {{"reward", gsm7_safe(r.name, 24)},
                                                        {"code", gsm7_safe(r.code, 32)}});
  if (!r.expires_on.empty()) s += "\n" + text("reward_until", {{"date", r.expires_on}});
  if (r.pin_required) s += "\n1. " + text("get_pin");
  return s + "\n0. " + text("back");
}

std::string Screens::pin(const Reward& r, const std::string& pin) const {
  return text("pin_sent", {{"reward", gsm7_safe(r.name, 24)},
                           {"pin", pin},
                           {"minutes", std::to_string(kPinValidity.count() / 60)}});
}

std::string Screens::languages() const {
  std::string s = text("language_title");
  const auto& codes = Catalogue::builtin().languages();
  for (std::size_t i = 0; i < codes.size(); ++i)
    s += "\n" + numbered(i + 1, Catalogue::builtin().text(codes[i], "language_name"));
  return s + "\n0. " + text("back");
}

std::string Screens::opt_out_confirm() const {
  return text("opt_out_confirm") + "\n" + numbered(1, text("yes")) + "\n" + numbered(2, text("no"));
}

std::string Screens::help() const { return text("help") + "\n0. " + text("back"); }

}  // namespace loyalty::selfservice::ussd
