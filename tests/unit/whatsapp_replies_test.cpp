// Conversation answers and notices as WhatsApp messages: every menu of the catalogue, in every
// language, becomes a message Meta accepts (the builders check every limit), long titles are
// shortened, and a notice goes as text inside the 24-hour window, as a template outside it, or
// not at all without consent.
#include <loyalty/core/utf8.hpp>
#include <loyalty/notices/compose.hpp>
#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/conversation.hpp>
#include <loyalty/whatsapp/outbound.hpp>
#include <loyalty/whatsapp/replies.hpp>

#include <catch2/catch.hpp>

using loyalty::notices::compose;
using loyalty::notices::Composed;
using loyalty::notices::Pending;
using loyalty::selfservice::Answer;
using loyalty::selfservice::Catalogue;
using loyalty::selfservice::Option;
using loyalty::whatsapp::character_count;
using loyalty::whatsapp::reply_message;

TEST_CASE("whatsapp replies: the menus of every language send as buttons or a list", "[unit]") {
  const auto& c = Catalogue::builtin();
  for (const auto& lang : c.languages()) {
    INFO(lang);
    std::vector<Option> menu = {{"balance", c.text(lang, "menu_points"), ""},
                                {"rewards", c.text(lang, "menu_rewards"), ""},
                                {"lang", c.text(lang, "menu_language"), ""},
                                {"stop", c.text(lang, "menu_opt_out"), ""},
                                {"help", c.text(lang, "menu_help"), ""}};
    auto list = reply_message(
        "263771234567", Answer{c.text(lang, "help_whatsapp_member"), c.text(lang, "menu"), menu});
    CHECK(list["interactive"]["type"] == "list");
    CHECK(list["interactive"]["action"]["sections"][0]["rows"].size() == 5);
    std::vector<Option> guest = {{"join", c.text(lang, "menu_join"), ""},
                                 {"help", c.text(lang, "menu_help"), ""}};
    auto buttons = reply_message("263771234567",
                                 Answer{c.text(lang, "not_member"), c.text(lang, "menu"), guest});
    CHECK(buttons["interactive"]["type"] == "button");
    CHECK(buttons["interactive"]["action"]["buttons"][0]["reply"]["id"] == "join");
  }
}

TEST_CASE("whatsapp replies: a text without options, and titles too long are shortened", "[unit]") {
  auto text = reply_message("263771234567", Answer{"You have 120 points.", "Menu", {}});
  CHECK(text["type"] == "text");
  CHECK(text["text"]["body"] == "You have 120 points.");
  // A reward name of 60 characters in a list row of at most 24.
  std::string name(60, 'x');
  auto list = reply_message("263771234567",
                            Answer{"Use which reward?", "Menu", {{"pin:1", name, "Get PIN"}}});
  // One option whose title does not fit a button goes as a list row, shortened with "…".
  auto row = list["interactive"]["action"]["sections"][0]["rows"][0];
  CHECK(character_count(row["title"].get<std::string>()) == 24);
  CHECK(row["title"].get<std::string>().substr(23) == "\u2026");
  // Eleven options: a list holds ten.
  std::vector<Option> many;
  for (int i = 0; i < 11; ++i)
    many.push_back({"pin:" + std::to_string(i), "R" + std::to_string(i), ""});
  auto ten = reply_message("263771234567", Answer{"Pick", "Menu", many});
  CHECK(ten["interactive"]["action"]["sections"][0]["rows"].size() == 10);
  CHECK(loyalty::utf8::shortened("Mapoinzi angu", 20) == "Mapoinzi angu");
}

namespace {

Pending notice() {
  Pending p;
  p.kind = loyalty::notices::kRewardIssued;
  p.payload = {{"reward_name", "Free coffee"},
               {"reward_type", "physical"},
               {"code", "AB12CD"},
               {"pin", "123456"}};
  p.valid_until = "2026-12-31";
  p.phone = "+263771234567";
  p.customer_status = "active";
  p.consent = true;
  p.in_window = true;
  p.language = "en";
  p.merchant = "Shop";
  p.number_id = "106540352242922";
  return p;
}

}  // namespace

TEST_CASE("notices: inside the window a text in the customer's language", "[unit]") {
  auto c = compose(notice());
  REQUIRE(c.action == Composed::Action::send);
  CHECK(c.sent_as == "message");
  CHECK(c.body["text"]["body"] ==
        "Shop: you have a new reward, Free coffee.\nCode: AB12CD\nPIN: 123456. Show it only at "
        "the till.\nValid until 2026-12-31.");
  auto p = notice();
  p.language = "sn";
  CHECK(compose(p).body["text"]["body"].get<std::string>().rfind(
            "Shop: wawana mubayiro mutsva, Free coffee.", 0) == 0);
}

TEST_CASE("notices: outside the window the configured template, else a failure that says why",
          "[unit]") {
  auto p = notice();
  p.in_window = false;
  auto none = compose(p);
  CHECK(none.action == Composed::Action::fail);
  CHECK(none.reason.find("no template for reward_issued") != std::string::npos);
  p.route_config = {
      {"templates", {{"reward_issued", {{"name", "reward_ready"}, {"language", "en"}}}}}};
  auto t = compose(p);
  REQUIRE(t.action == Composed::Action::send);
  CHECK(t.sent_as == "template");
  auto params = t.body["template"]["components"][0]["parameters"];
  REQUIRE(params.size() == 5);
  CHECK(params[3]["text"] == "123456");
  CHECK(params[4]["text"] == "2026-12-31");
  // Meta said the window had closed although our clock thought otherwise: template too.
  p = notice();
  p.payload["outside_window"] = true;
  CHECK(compose(p).action == Composed::Action::fail);
}

TEST_CASE("notices: without consent, a number or a WhatsApp number nothing is sent", "[unit]") {
  auto p = notice();
  p.consent = false;
  CHECK(compose(p).action == Composed::Action::cancel);
  p = notice();
  p.customer_status = "opted_out";
  CHECK(compose(p).action == Composed::Action::cancel);
  p = notice();
  p.number_id.clear();
  CHECK(compose(p).action == Composed::Action::cancel);
  p = notice();
  p.phone.clear();
  CHECK(compose(p).action == Composed::Action::cancel);
  // A reply needs no consent: the customer wrote.
  Pending r;
  r.kind = loyalty::notices::kReply;
  r.recipient = "263771234567";
  r.number_id = "106540352242922";
  r.payload = loyalty::selfservice::to_json(Answer{"Hello", "Menu", {}});
  CHECK(compose(r).action == Composed::Action::send);
}
