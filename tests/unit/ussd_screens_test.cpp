// Every USSD screen, in every language, with the longest values a merchant or the engine can put
// on it, fits one message in GSM 03.38's 7-bit alphabet; the catalogues are complete.
#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/ussd.hpp>

#include <catch2/catch.hpp>

using loyalty::selfservice::Catalogue;
using loyalty::selfservice::Command;
using loyalty::selfservice::Offer;
using loyalty::selfservice::Points;
using loyalty::selfservice::Reward;
using loyalty::selfservice::ussd::gsm7_length;
using loyalty::selfservice::ussd::gsm7_safe;
using loyalty::selfservice::ussd::kScreenLimit;
using loyalty::selfservice::ussd::Screens;

namespace {

void require_fits(const std::string& screen) {
  INFO(screen);
  const long n = gsm7_length(screen);
  CHECK(n >= 0);
  CHECK(n <= static_cast<long>(kScreenLimit));
}

}  // namespace

TEST_CASE(
    "ussd screens: every screen in every language fits 160 GSM-7 characters with the "
    "longest values, an invalid-choice line included",
    "[unit]") {
  const std::string merchant(200, 'W');  // tenant names go up to 200 characters
  Reward longest{"id", std::string(200, 'R') + "\xE2\x84\xA2", std::string(64, 'C'), "2026-12-31",
                 true};
  std::vector<Reward> many(9, longest);
  Points points{999999999999, 999999999999, "2026-12-31"};
  for (const auto& lang : Catalogue::builtin().languages()) {
    INFO(lang);
    Screens s(lang, merchant, "*123*45678*9#");
    const std::string invalid = s.text("invalid_choice") + "\n";
    std::vector<std::string> screens = {s.main_guest(),
                                        s.main_member(),
                                        s.join_confirm(),
                                        s.points(points),
                                        s.list("rewards_title", many, 0),
                                        s.list("redeem_title", many, 1),
                                        s.list("rewards_title", {}, 0),
                                        s.reward(longest),
                                        s.pin(longest, "123456"),
                                        s.languages(),
                                        s.opt_out_confirm(),
                                        s.help()};
    for (const char* key :
         {"joined", "join_declined", "opted_out", "stayed", "suspended", "unavailable", "error"})
      screens.push_back(s.text(key));
    // Claiming with points: the list, the confirmation (affordable or not) mid-session; the
    // claim made or refused ends it, so no invalid-choice line goes with those.
    Offer offer{"id", std::string(200, 'O'), 1'000'000'000};
    std::vector<Offer> offers(9, offer);
    screens.push_back(s.redeem_list(many, true, 3));
    screens.push_back(s.redeem_list(many, true, 2));
    screens.push_back(s.redeem_list({}, true, 0));
    screens.push_back(s.claim_list(offers, 1));
    screens.push_back(s.claim_confirm(offer, 999999999999));
    screens.push_back(s.claim_confirm(offer, 0));
    for (const auto& screen : screens) {
      require_fits(screen);
      require_fits(invalid + screen);
    }
    for (const auto& end : {s.claimed(offer, 999999999999, longest, "123456"),
                            s.claimed(offer, 999999999999, longest, ""),
                            s.claim_refused(offer, 999999999999, "insufficient-points"),
                            s.claim_refused(offer, 999999999999, "out-of-stock")})
      require_fits(end);
  }
}

TEST_CASE("ussd screens: names outside the GSM alphabet are shown with '?' and cut with ...",
          "[unit]") {
  CHECK(gsm7_safe("Caf\xC3\xA9 \xE2\x84\xA2", 20) == "Caf\xC3\xA9 ?");  // é is GSM-7, ™ is not
  CHECK(gsm7_safe("Mbare Musika Supermarket", 10) == "Mbare M...");
  CHECK(gsm7_safe("line\nbreak", 20) == "line?break");
  CHECK(gsm7_length("\xE2\x84\xA2") == -1);
  CHECK(gsm7_length("{}") == 4);  // extension characters count two
  CHECK(gsm7_length("abc\n") == 4);
}

TEST_CASE(
    "message catalogues: every language has every text, and every command word is "
    "understood whatever the customer's language",
    "[unit]") {
  const auto& c = Catalogue::builtin();
  REQUIRE(c.languages() == std::vector<std::string>{"en", "sn", "nd"});
  for (const auto& lang : c.languages())
    for (const auto& key : c.keys()) CHECK_FALSE(c.text(lang, key).empty());
  CHECK(c.command_of("join") == Command::join);
  CHECK(c.command_of("Pinda") == Command::join);
  CHECK(c.command_of("JOYINA") == Command::join);
  CHECK(c.command_of("mapoinzi") == Command::balance);
  CHECK(c.command_of("amaphuzu") == Command::balance);
  CHECK(c.command_of("stop") == Command::stop);
  CHECK(c.command_of("misa") == Command::stop);
  CHECK(c.command_of("hello") == Command::none);
  CHECK(c.text("sn", "points_balance", {{"points", "12"}}) == "Une mapoinzi 12.");
  CHECK(c.text("xx", "yes") == "Yes");  // an unknown language falls back to English
}
