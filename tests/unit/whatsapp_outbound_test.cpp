// The Graph API message builders: equal to Meta's request examples in
// tests/data/whatsapp/meta_docs, and refusing every documented limit with a clear message,
// characters counted as code points. Also the fake Graph server's own shape checker
// (support/graph_shapes), which must accept Meta's examples and refuse what Meta refuses.

#include "support/graph_shapes.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/whatsapp/outbound.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>

using namespace loyalty::whatsapp;
using loyalty::test::graph_body_problems;
using nlohmann::json;

namespace {

json fixture(const std::string& name) {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/whatsapp/meta_docs/" + name,
                     std::ios::binary);
  REQUIRE(file.good());
  return json::parse(std::string(std::istreambuf_iterator<char>(file), {}));
}

std::string repeat(const std::string& unit, std::size_t times) {
  std::string text;
  for (std::size_t i = 0; i < times; ++i) text += unit;
  return text;
}

/// The error a builder throws; fails the test when it throws none.
loyalty::Error refusal(const std::function<void()>& build) {
  try {
    build();
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.type() == "whatsapp-message-invalid");
    return e;
  }
  FAIL("the builder accepted a message that breaks a limit");
  throw;  // not reached
}

/// The one field a refusal names.
loyalty::FieldError refused_field(const std::function<void()>& build) {
  const auto e = refusal(build);
  REQUIRE(e.fields().size() == 1);
  return e.fields()[0];
}

const std::string kTo = "+16505551234";

ButtonsMessage two_buttons() {
  ButtonsMessage m;
  m.body = "Redeem your reward?";
  m.buttons = {{"redeem-yes", "Yes"}, {"redeem-no", "No"}};
  return m;
}

ListMessage one_section(std::size_t rows) {
  ListMessage m;
  m.body = "Choose a reward";
  m.button = "Rewards";
  m.sections.push_back({"", {}});
  for (std::size_t i = 0; i < rows; ++i) {
    m.sections[0].rows.push_back({"r" + std::to_string(i), "Reward " + std::to_string(i), ""});
  }
  return m;
}

}  // namespace

TEST_CASE("whatsapp outbound: the builders equal Meta's request examples", "[unit]") {
  const json text = text_message(
      kTo,
      "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/",
      true);
  CHECK(text == fixture("send_text_request.json"));
  CHECK(text.dump() == fixture("send_text_request.json").dump());

  ButtonsMessage buttons;
  buttons.header.image_id = "2762702990552401";
  buttons.body =
      "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you "
      "need to reschedule. Thank you!";
  buttons.footer = "Lucky Shrub: Your gateway to succulents!\u2122";
  buttons.buttons = {{"change-button", "Change"}, {"cancel-button", "Cancel"}};
  CHECK(buttons_message(kTo, buttons) == fixture("send_interactive_buttons_request.json"));

  ListMessage list;
  list.header_text = "Choose Shipping Option";
  list.body = "Which shipping option do you prefer?";
  list.footer = "Lucky Shrub: Your gateway to succulents\u2122";
  list.button = "Shipping Options";
  list.sections = {
      {"I want it ASAP!",
       {{"priority_express", "Priority Mail Express", "Next Day to 2 Days"},
        {"priority_mail", "Priority Mail", "1\u20133 Days"}}},
      {"I can wait a bit",
       {{"usps_ground_advantage", "USPS Ground Advantage", "2\u20135 Days"},
        {"media_mail", "Media Mail", "2\u20138 Days"}}},
  };
  CHECK(list_message(kTo, list) == fixture("send_interactive_list_request.json"));

  TemplateMessage positional{
      "order_confirmation", "en_US", {{"", "Jessica"}, {"", "SKBUP2-4CPIG9"}}};
  CHECK(template_message(kTo, positional) ==
        fixture("send_template_positional_params_request.json"));
  TemplateMessage named{"order_confirmation",
                        "en_US",
                        {{"first_name", "Jessica"}, {"order_number", "SKBUP2-4CPIG9"}}};
  CHECK(template_message(kTo, named) == fixture("send_template_named_params_request.json"));
}

TEST_CASE("whatsapp outbound: a text goes without link preview unless asked", "[unit]") {
  const json body = text_message("263771234567", "You have 120 points.");
  CHECK(body["text"] == json{{"preview_url", false}, {"body", "You have 120 points."}});
  CHECK(body["to"] == "263771234567");
  CHECK(graph_body_problems(body).empty());
}

TEST_CASE("whatsapp outbound: a business-scoped user id goes as recipient, not to", "[unit]") {
  const json body = text_message("US.13491208655302741918", "Welcome");
  CHECK(body["recipient"] == "US.13491208655302741918");
  CHECK_FALSE(body.contains("to"));
  CHECK(graph_body_problems(body).empty());
  CHECK(text_message("US.ENT.11815799212886844830", "x")["recipient"] ==
        "US.ENT.11815799212886844830");
  for (const auto* bad : {"", "abc", "+", "12345", "+1234567890123456", "us.123", "US.", "US.1-2",
                          "2637 7123 4567"}) {
    INFO(bad);
    const auto field = refused_field([&] { text_message(bad, "x"); });
    CHECK(field.pointer == "/to");
    CHECK(field.message == "the recipient is neither a phone number nor a business-scoped user id");
  }
}

TEST_CASE("whatsapp outbound: text bodies are 1 to 4096 characters, counted as code points",
          "[unit]") {
  CHECK_NOTHROW(text_message(kTo, std::string(4096, 'a')));
  CHECK_NOTHROW(text_message(kTo, repeat("\xC3\xA9", 4096)));          // é: 8192 bytes
  CHECK_NOTHROW(text_message(kTo, repeat("\xF0\x9F\x8E\x81", 4096)));  // 🎁: 16384 bytes
  auto field = refused_field([] { text_message(kTo, std::string(4097, 'a')); });
  CHECK(field.pointer == "/text/body");
  CHECK(field.message == "the text is 4097 characters, at most 4096");
  field = refused_field([] { text_message(kTo, repeat("\xC3\xA9", 4097)); });
  CHECK(field.message == "the text is 4097 characters, at most 4096");
  CHECK(refused_field([] { text_message(kTo, ""); }).message == "the text is empty");
  CHECK(refused_field([] { text_message(kTo, "caf\xC3"); }).message ==
        "the text is not valid UTF-8");
  const auto e = refusal([] { text_message(kTo, std::string(5000, 'a')); });
  CHECK(std::string(e.what()) == "whatsapp message: the text is 5000 characters, at most 4096");
}

TEST_CASE("whatsapp outbound: character_count counts code points and refuses bad UTF-8", "[unit]") {
  CHECK(character_count("") == 0);
  CHECK(character_count("abc") == 3);
  CHECK(character_count("Mhoro, \xC3\xA9\xE2\x84\xA2\xF0\x9F\x8E\x81") == 10);
  CHECK(character_count("\xC0\xAF") == std::string_view::npos);      // overlong '/'
  CHECK(character_count("\xED\xA0\x80") == std::string_view::npos);  // a surrogate
  CHECK(character_count("a\xF0\x9F") == std::string_view::npos);     // cut short
}

TEST_CASE("whatsapp outbound: reply buttons are 1 to 3, titles up to 20 and ids up to 256",
          "[unit]") {
  auto m = two_buttons();
  m.buttons.push_back({"later", repeat("\xC3\xB1", 20)});  // ñ ×20: 20 characters, 40 bytes
  m.header.text = repeat("h", 60);
  m.footer = repeat("f", 60);
  m.body = repeat("b", 1024);
  m.buttons[0].id = std::string(256, 'i');
  const json body = buttons_message("263771234567", m);
  CHECK(graph_body_problems(body).empty());
  CHECK(body["interactive"]["header"] == json{{"type", "text"}, {"text", repeat("h", 60)}});

  m = two_buttons();
  m.buttons.push_back({"c", "C"});
  m.buttons.push_back({"d", "D"});
  auto field = refused_field([&] { buttons_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/buttons");
  CHECK(field.message == "4 buttons, from 1 to 3");
  m.buttons.clear();
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message == "0 buttons, from 1 to 3");

  m = two_buttons();
  m.buttons[1].title = repeat("\xC3\xB1", 21);
  field = refused_field([&] { buttons_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/buttons/1/reply/title");
  CHECK(field.message == "button 2's title is 21 characters, at most 20");

  m = two_buttons();
  m.buttons[0].id = std::string(257, 'i');
  field = refused_field([&] { buttons_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/buttons/0/reply/id");
  CHECK(field.message == "button 1's id is 257 characters, at most 256");

  m = two_buttons();
  m.buttons[1].title = "Yes";
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message ==
        "button 2's title is not unique");
  m = two_buttons();
  m.buttons[1].id = "redeem-yes";
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message == "button 2's id is not unique");

  m = two_buttons();
  m.body = repeat("b", 1025);
  field = refused_field([&] { buttons_message(kTo, m); });
  CHECK(field.pointer == "/interactive/body/text");
  CHECK(field.message == "the body is 1025 characters, at most 1024");
  m.body = "";
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message == "the body is empty");

  m = two_buttons();
  m.footer = repeat("f", 61);
  CHECK(refused_field([&] { buttons_message(kTo, m); }).pointer == "/interactive/footer/text");
  m = two_buttons();
  m.header.text = repeat("h", 61);
  CHECK(refused_field([&] { buttons_message(kTo, m); }).pointer == "/interactive/header/text");
  m.header.image_id = "123";
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message ==
        "the header is a text or an image, not both");
  m.header.text = "";
  m.header.image_id = "../etc";
  CHECK(refused_field([&] { buttons_message(kTo, m); }).message ==
        "the header image is not a media id");
}

TEST_CASE("whatsapp outbound: every broken limit is named in one refusal", "[unit]") {
  ButtonsMessage m;
  m.buttons = {{"", std::string(30, 't')}};
  const auto e = refusal([&] { buttons_message("nobody", m); });
  CHECK(std::string(e.what()) ==
        "whatsapp message: the recipient is neither a phone number nor a business-scoped user "
        "id (and 3 more)");
  const std::vector<loyalty::FieldError> expected = {
      {"/to", "the recipient is neither a phone number nor a business-scoped user id"},
      {"/interactive/body/text", "the body is empty"},
      {"/interactive/action/buttons/0/reply/id", "button 1's id is empty"},
      {"/interactive/action/buttons/0/reply/title",
       "button 1's title is 30 characters, at most 20"},
  };
  CHECK(e.fields() == expected);
}

TEST_CASE("whatsapp outbound: lists have 1 to 10 sections and 10 rows in all, within limits",
          "[unit]") {
  ListMessage m = one_section(10);
  m.body = repeat("b", 4096);
  m.button = repeat("\xE2\x84\xA2", 20);
  m.sections[0].rows[0] = {std::string(200, 'i'), repeat("r", 24), repeat("d", 72)};
  const json body = list_message(kTo, m);
  CHECK(graph_body_problems(body).empty());
  CHECK_FALSE(body["interactive"].contains("header"));
  CHECK_FALSE(body["interactive"]["action"]["sections"][0].contains("title"));  // one section
  CHECK_FALSE(body["interactive"]["action"]["sections"][0]["rows"][1].contains("description"));

  m = one_section(11);
  auto field = refused_field([&] { list_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/sections");
  CHECK(field.message == "11 rows in all, at most 10");

  m = one_section(6);
  m.sections.push_back({"More", {}});
  for (int i = 0; i < 5; ++i) m.sections[1].rows.push_back({"m" + std::to_string(i), "M", ""});
  m.sections[0].title = "First";
  CHECK(refused_field([&] { list_message(kTo, m); }).message == "11 rows in all, at most 10");

  m = one_section(1);
  m.sections.push_back({"Second", {{"s", "S", ""}}});
  field = refused_field([&] { list_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/sections/0/title");
  CHECK(field.message == "section 1's title is empty");
  m.sections[0].title = repeat("t", 25);
  CHECK(refused_field([&] { list_message(kTo, m); }).message ==
        "section 1's title is 25 characters, at most 24");

  m = one_section(2);
  m.sections[0].rows[1].title = repeat("\xC3\xA9", 25);
  field = refused_field([&] { list_message(kTo, m); });
  CHECK(field.pointer == "/interactive/action/sections/0/rows/1/title");
  CHECK(field.message == "section 1 row 2's title is 25 characters, at most 24");
  m = one_section(2);
  m.sections[0].rows[0].description = repeat("d", 73);
  CHECK(refused_field([&] { list_message(kTo, m); }).pointer ==
        "/interactive/action/sections/0/rows/0/description");
  m = one_section(2);
  m.sections[0].rows[0].id = std::string(201, 'i');
  CHECK(refused_field([&] { list_message(kTo, m); }).message ==
        "section 1 row 1's id is 201 characters, at most 200");
  m = one_section(2);
  m.sections[0].rows[1].id = "r0";
  CHECK(refused_field([&] { list_message(kTo, m); }).message ==
        "section 1 row 2's id is not unique");

  m = one_section(2);
  m.button = repeat("b", 21);
  CHECK(refused_field([&] { list_message(kTo, m); }).message ==
        "the list button is 21 characters, at most 20");
  m.button = "";
  CHECK(refused_field([&] { list_message(kTo, m); }).message == "the list button is empty");
  m = one_section(2);
  m.body = repeat("b", 4097);
  CHECK(refused_field([&] { list_message(kTo, m); }).message ==
        "the body is 4097 characters, at most 4096");
  m = one_section(2);
  m.header_text = repeat("h", 61);
  CHECK(refused_field([&] { list_message(kTo, m); }).pointer == "/interactive/header/text");

  m = one_section(0);
  m.sections.clear();
  CHECK(refused_field([&] { list_message(kTo, m); }).message == "0 sections, from 1 to 10");
  m = one_section(0);
  CHECK(refused_field([&] { list_message(kTo, m); }).message == "section 1 has no rows");
  m = one_section(0);
  for (int i = 0; i < 11; ++i) m.sections.push_back({"S" + std::to_string(i), {{"x", "X", ""}}});
  CHECK_FALSE(refusal([&] { list_message(kTo, m); }).fields().empty());
}

TEST_CASE("whatsapp outbound: templates need a valid name, language and one kind of parameter",
          "[unit]") {
  const json bare = template_message(kTo, {"loyalty_welcome", "en", {}});
  CHECK(bare["template"] == json{{"name", "loyalty_welcome"}, {"language", {{"code", "en"}}}});
  CHECK(graph_body_problems(bare).empty());
  CHECK_NOTHROW(template_message(kTo, {"reward_issued_2", "pt_BR", {{"", "Tendai"}}}));

  auto field = refused_field([] { template_message(kTo, {"Reward Issued", "en", {}}); });
  CHECK(field.pointer == "/template/name");
  field = refused_field([] { template_message(kTo, {"reward", "english", {}}); });
  CHECK(field.pointer == "/template/language/code");
  CHECK(field.message == "the language code is not like en or en_US");
  CHECK(refused_field([] {
          template_message(kTo, {"reward", "", {}});
        }).pointer == "/template/language/code");

  field = refused_field([] {
    template_message(kTo, {"reward", "en", {{"first_name", "Tendai"}, {"", "X1"}}});
  });
  CHECK(field.pointer == "/template/components/0/parameters/1");
  CHECK(field.message == "the parameters are all named or all positional");
  field = refused_field([] {
    template_message(kTo, {"reward", "en", {{"code", "A"}, {"code", "B"}}});
  });
  CHECK(field.message == "parameter 2's name is not unique");
  field = refused_field([] { template_message(kTo, {"reward", "en", {{"First Name", "A"}}}); });
  CHECK(field.pointer == "/template/components/0/parameters/0/parameter_name");

  field = refused_field([] { template_message(kTo, {"reward", "en", {{"", "line\nbreak"}}}); });
  CHECK(field.pointer == "/template/components/0/parameters/0/text");
  CHECK(field.message == "parameter 1 has a new line or a tab");
  CHECK(refused_field([] {
          template_message(kTo, {"reward", "en", {{"", "a     b"}}});
        }).message == "parameter 1 has more than 4 spaces in a row");
  CHECK_NOTHROW(template_message(kTo, {"reward", "en", {{"", "a    b"}}}));
  CHECK(refused_field([] {
          template_message(kTo, {"reward", "en", {{"", ""}}});
        }).message == "parameter 1 is empty");
  CHECK(refused_field([] {
          template_message(kTo, {"reward", "en", {{"", std::string(1025, 'x')}}});
        }).message == "parameter 1 is 1025 characters, at most 1024");
}

TEST_CASE("whatsapp outbound: the fake Graph's shape checker accepts Meta's examples only",
          "[unit]") {
  for (const auto* name :
       {"send_text_request.json", "send_interactive_buttons_request.json",
        "send_interactive_list_request.json", "send_template_named_params_request.json",
        "send_template_positional_params_request.json"}) {
    INFO(name);
    CHECK(graph_body_problems(fixture(name)).empty());
  }
  json four = fixture("send_interactive_buttons_request.json");
  auto& buttons = four["interactive"]["action"]["buttons"];
  buttons.push_back(buttons[0]);
  buttons.push_back(buttons[0]);
  CHECK(graph_body_problems(four) ==
        std::vector<std::string>{"/interactive/action/buttons: not an array of 1 to 3 buttons"});

  json long_title = fixture("send_interactive_list_request.json");
  long_title["interactive"]["action"]["sections"][0]["rows"][0]["title"] = repeat("\xC3\xA9", 25);
  CHECK(graph_body_problems(long_title) ==
        std::vector<std::string>{
            "/interactive/action/sections/0/rows/0/title: 25 characters, at most 24"});

  json extra = fixture("send_text_request.json");
  extra["text"]["preview"] = true;
  extra.erase("recipient_type");
  CHECK(graph_body_problems(extra) ==
        std::vector<std::string>{"/recipient_type: is not \"individual\"",
                                 "/text/preview: not a member of this shape"});
  CHECK_FALSE(graph_body_problems(json::array()).empty());
  CHECK_FALSE(graph_body_problems({{"messaging_product", "whatsapp"}}).empty());
}
