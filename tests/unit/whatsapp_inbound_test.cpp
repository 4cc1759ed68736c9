// The WhatsApp webhook parser against every payload in tests/data/whatsapp (Meta's doc
// examples, pywa's and whatsapp-api-js's test fixtures, the signed pywa body) and against
// bodies that are broken or hostile in every way the envelope allows.

#include <loyalty/core/error.hpp>
#include <loyalty/whatsapp/inbound.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using loyalty::whatsapp::Batch;
using loyalty::whatsapp::InboundMessage;
using loyalty::whatsapp::parse_webhook;
using loyalty::whatsapp::StatusUpdate;
using loyalty::whatsapp::WebhookError;
using nlohmann::json;

namespace {

const std::string kData = std::string(LOYALTY_SOURCE_DIR) + "/tests/data/whatsapp/";

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file.good());
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

Batch parse_file(const std::string& relative) { return parse_webhook(read_file(kData + relative)); }

/// One named payload of a pywa fixture file (each file maps names to webhook bodies).
Batch parse_pywa(const std::string& file, const std::string& name) {
  const json all = json::parse(read_file(kData + "pywa/" + file));
  REQUIRE(all.contains(name));
  return parse_webhook(all[name].dump());
}

InboundMessage only_message(const Batch& batch) {
  REQUIRE(batch.messages.size() == 1);
  CHECK(batch.statuses.empty());
  CHECK(batch.ignored.empty());
  return batch.messages[0];
}

StatusUpdate only_status(const Batch& batch) {
  REQUIRE(batch.statuses.size() == 1);
  CHECK(batch.messages.empty());
  CHECK(batch.ignored.empty());
  return batch.statuses[0];
}

/// A webhook body around one change value.
std::string with_value(const json& value) {
  return json{{"object", "whatsapp_business_account"},
              {"entry", {{{"id", "1"}, {"changes", {{{"field", "messages"}, {"value", value}}}}}}}}
      .dump();
}

json metadata() { return {{"display_phone_number", "15550783881"}, {"phone_number_id", "1065"}}; }

/// A body whose one change holds these messages.
std::string with_messages(const json& messages) {
  return with_value(
      {{"messaging_product", "whatsapp"}, {"metadata", metadata()}, {"messages", messages}});
}

json text_message(const std::string& id = "wamid.1") {
  return {{"from", "263771234567"},
          {"id", id},
          {"timestamp", "1750000000"},
          {"type", "text"},
          {"text", {{"body", "JOIN"}}}};
}

void check_refused(const std::string& body) {
  try {
    parse_webhook(body);
    FAIL("parse_webhook accepted a body that is not a WhatsApp webhook");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.type() == "whatsapp-webhook-invalid");
  }
}

}  // namespace

TEST_CASE("whatsapp inbound: Meta's text message example parses with every field", "[unit]") {
  const auto m = only_message(parse_file("meta_docs/webhook_text_message.json"));
  CHECK(m.phone_number_id == "106540352242922");
  CHECK(m.display_phone_number == "15550783881");
  CHECK(m.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
  CHECK(m.from == "16505551234");
  CHECK(m.from_user_id == "");
  CHECK(m.profile_name == "Sheena Nelson");
  CHECK(m.type == "text");
  CHECK(m.text == "Does it come in another color?");
  CHECK(m.reply_id == "");
  CHECK(m.context_id == "");
  CHECK(m.timestamp == 1749416383);
  CHECK(m.errors.empty());
}

TEST_CASE("whatsapp inbound: Meta's button and list replies give the reply id and title",
          "[unit]") {
  const auto button = only_message(parse_file("meta_docs/webhook_interactive_button_reply.json"));
  CHECK(button.type == "interactive");
  CHECK(button.reply_id == "cancel-button");
  CHECK(button.text == "Cancel");
  CHECK(button.context_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA");
  CHECK(button.from == "16505551234");
  CHECK(button.timestamp == 1750025136);

  const auto list = only_message(parse_file("meta_docs/webhook_interactive_list_reply.json"));
  CHECK(list.type == "interactive");
  CHECK(list.reply_id == "priority_express");
  CHECK(list.text == "Priority Mail Express");
  CHECK(list.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
  CHECK(list.timestamp == 1749854575);
}

TEST_CASE("whatsapp inbound: Meta's status examples give status, recipient, time and errors",
          "[unit]") {
  for (const auto* file :
       {"meta_docs/webhook_status_sent.json", "meta_docs/webhook_status_v24_minimal.json"}) {
    INFO(file);
    const auto s = only_status(parse_file(file));
    CHECK(s.phone_number_id == "106540352242922");
    CHECK(s.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
    // The v24 example is introduced as "read" but its JSON says sent (protocol notes, 4c).
    CHECK(s.status == "sent");
    CHECK(s.recipient == "16505551234");
    CHECK(s.timestamp == 1750030073);
    CHECK(s.errors.empty());
  }
  const auto failed = only_status(parse_file("meta_docs/webhook_status_failed.json"));
  CHECK(failed.status == "failed");
  CHECK(failed.timestamp == 1751142888);
  REQUIRE(failed.errors.size() == 1);
  CHECK(failed.errors[0].code == 131049);
  CHECK(failed.errors[0].title ==
        "This message was not delivered to maintain healthy ecosystem engagement.");
  CHECK(failed.errors[0].message == failed.errors[0].title);
  CHECK(failed.errors[0].details ==
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.");
}

TEST_CASE("whatsapp inbound: every pywa message kind parses to its type and content", "[unit]") {
  struct Expected {
    const char* name;
    const char* type;
    const char* text;
  };
  const Expected expected[] = {
      {"text", "text", "Body Text"},
      {"image", "image", ""},
      {"media_with_url", "image", ""},
      {"video", "video", "caption"},
      {"document", "document", "caption"},
      {"audio", "audio", ""},
      {"voice", "audio", ""},
      {"static_sticker", "sticker", ""},
      {"animated_sticker", "sticker", ""},
      {"reaction", "reaction", "\xF0\x9F\x98\xAE"},
      {"unreaction_empty", "reaction", ""},
      {"unreaction_no_emoji", "reaction", ""},
      {"current_location", "location", ""},
      {"chosen_location", "location", ""},
      {"contacts", "contacts", ""},
      {"order", "order", ""},
      {"unsupported", "unsupported", ""},
      {"unsupported_with_type", "unsupported", ""},
      {"reply", "text", "replied text"},
      {"forwarded", "text", "forwarded text"},
      {"forwarded_many_times", "text", "text forwarded many times"},
      {"interactive_message_with_err", "unsupported", ""},
      {"referral", "text", "BODY"},
  };
  const json all = json::parse(read_file(kData + "pywa/message.json"));
  CHECK(all.size() == std::size(expected));  // every kind in the file is listed here
  for (const auto& e : expected) {
    INFO(e.name);
    const auto m = only_message(parse_pywa("message.json", e.name));
    CHECK(m.type == e.type);
    CHECK(m.text == e.text);
    CHECK(m.phone_number_id == "1122334455667");
    CHECK(m.display_phone_number == "972123456789");
    CHECK(m.from == "972987654321");
    CHECK(m.profile_name == "Test Name");
    CHECK(m.timestamp > 1697000000);
    CHECK_FALSE(m.wamid.empty());
  }
  const auto reaction = only_message(parse_pywa("message.json", "reaction"));
  CHECK(reaction.context_id == "wamid.yzxyzx=");
  const auto reply = only_message(parse_pywa("message.json", "reply"));
  CHECK(reply.context_id == "wamid.xyzxyz==");
  const auto unsupported = only_message(parse_pywa("message.json", "unsupported"));
  REQUIRE(unsupported.errors.size() == 1);
  CHECK(unsupported.errors[0] == WebhookError{131051, "Message type unknown",
                                              "Message type unknown",
                                              "Message type is currently not supported."});
  // type "interactive" without the interactive object: the change's own errors explain it.
  const auto broken = only_message(parse_pywa("message.json", "interactive_message_with_err"));
  CHECK(broken.wamid == "wamid.wegrchytvwcggt=");
  REQUIRE(broken.errors.size() == 1);
  CHECK(broken.errors[0].code == 131000);
  CHECK(broken.errors[0].details == "Unsupported webhook payload");
}

TEST_CASE("whatsapp inbound: pywa's button, quick reply and list selections give reply ids",
          "[unit]") {
  const auto button = only_message(parse_pywa("callback_button.json", "button"));
  CHECK(button.type == "interactive");
  CHECK(button.reply_id == "callback_data");
  CHECK(button.text == "title");
  CHECK(button.context_id == "wamid.xyzxyz");

  for (const auto* name : {"quick_reply", "quick_reply_without_context"}) {
    INFO(name);
    const auto quick = only_message(parse_pywa("callback_button.json", name));
    CHECK(quick.type == "button");
    CHECK(quick.reply_id == "callback_data");
    CHECK(quick.text == "title");
    CHECK(quick.from == "972987654321");
  }
  CHECK(only_message(parse_pywa("callback_button.json", "quick_reply")).context_id ==
        "wamid.xyzxyz==");
  const auto bare = only_message(parse_pywa("callback_button.json", "quick_reply_without_context"));
  CHECK(bare.context_id == "");
  CHECK(bare.from_user_id == "US.13491208655302741918");

  for (const auto* name : {"callback", "description"}) {
    INFO(name);
    const auto selection = only_message(parse_pywa("callback_selection.json", name));
    CHECK(selection.type == "interactive");
    CHECK(selection.reply_id == "callback_data");
    CHECK(selection.text == "title");
  }
}

TEST_CASE("whatsapp inbound: pywa's statuses, the played and group ones included", "[unit]") {
  const std::pair<const char*, const char*> expected[] = {
      {"sent", "sent"},     {"delivered", "delivered"}, {"read", "read"},  {"played", "played"},
      {"failed", "failed"}, {"with_tracker", "sent"},   {"group", "read"},
  };
  for (const auto& [name, status] : expected) {
    INFO(name);
    const auto s = only_status(parse_pywa("message_status.json", name));
    CHECK(s.status == status);
    CHECK_FALSE(s.wamid.empty());
    CHECK(s.timestamp >= 1689380458);
  }
  const auto failed = only_status(parse_pywa("message_status.json", "failed"));
  CHECK(failed.recipient == "972987654321");
  REQUIRE(failed.errors.size() == 1);
  CHECK(failed.errors[0].code == 130472);
  CHECK(only_status(parse_pywa("message_status.json", "with_tracker")).callback_data ==
        "some data");
  CHECK(only_status(parse_pywa("message_status.json", "group")).recipient == "fowefinoewcnw");
}

TEST_CASE("whatsapp inbound: pywa's system messages carry a changed number", "[unit]") {
  const auto changed = only_message(parse_pywa("system.json", "phone_number_change"));
  CHECK(changed.type == "system");
  CHECK(changed.new_wa_id == "972912345678");
  CHECK(changed.from == "972987654321");
  CHECK(changed.profile_name == "");  // that payload has no contacts
  const auto identity = only_message(parse_pywa("system.json", "identity_change"));
  CHECK(identity.type == "system");
  CHECK(identity.text == "User identity changed");
  CHECK(identity.new_wa_id == "");
}

TEST_CASE("whatsapp inbound: whatsapp-api-js v25 payloads carry business-scoped user ids",
          "[unit]") {
  const auto m = only_message(parse_file("whatsapp_api_js/incoming.json"));
  CHECK(m.from == "16315551181");
  CHECK(m.from_user_id == "US.13491208655302741918");
  CHECK(m.profile_name == "test user name");
  CHECK(m.text == "this is a text message");
  CHECK(m.phone_number_id == "123456123");
  for (const auto* status : {"sent", "delivered", "read"}) {
    INFO(status);
    const auto s = only_status(parse_file(std::string("whatsapp_api_js/") + status + ".json"));
    CHECK(s.status == status);
    CHECK(s.wamid == "ABGGFlA5Fpa");
    CHECK(s.recipient == "16315551181");
    CHECK(s.recipient_user_id == "US.13491208655302741918");
    CHECK(s.timestamp == 1504902988);
  }
}

TEST_CASE("whatsapp inbound: the signed pywa body parses byte for byte as received", "[unit]") {
  const auto m = only_message(parse_file("signature_vector_pywa.body.bin"));
  CHECK(m.text == "Hey there! I am using PyWa.");
  CHECK(m.phone_number_id == "277321005464405");
  CHECK(m.from == "972544401243");
  CHECK(m.profile_name == "PyWa Tests");
}

TEST_CASE("whatsapp inbound: every fixture file parses without an exception", "[unit]") {
  int bodies = 0;
  const auto check_one = [&](const std::string& body) {
    const Batch batch = parse_webhook(body);
    CHECK(batch.messages.size() + batch.statuses.size() == 1);
    CHECK(batch.ignored.empty());
    ++bodies;
  };
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kData)) {
    const auto path = entry.path().string();
    const auto name = entry.path().filename().string();
    INFO(path);
    if (path.find("/pywa/") != std::string::npos) {
      const json named = json::parse(read_file(path));
      for (const auto& [key, body] : named.items()) check_one(body.dump());
    } else if (path.find("/whatsapp_api_js/") != std::string::npos ||
               name.rfind("webhook_", 0) == 0) {
      check_one(read_file(path));
    }
  }
  CHECK(bodies == 6 + 4 + 23 + 7 + 3 + 2 + 2);
}

TEST_CASE("whatsapp inbound: a body that is not a WhatsApp webhook is refused with one error",
          "[unit]") {
  check_refused("");
  check_refused("not json");
  check_refused("{\"object\":");
  check_refused("[]");
  check_refused("\"whatsapp_business_account\"");
  check_refused("{}");
  check_refused(R"({"object":"page","entry":[]})");
  check_refused(R"({"object":"whatsapp_business_account"})");
  check_refused(R"({"object":"whatsapp_business_account","entry":{}})");
  check_refused(R"({"object":"whatsapp_business_account","entry":[1e400]})");
  check_refused(std::string(R"({"object":"whatsapp_business_account","entry":[],"x":")") +
                "\xFF\"}");
  check_refused(std::string(64, '[') + std::string(64, ']'));
  check_refused(std::string(loyalty::whatsapp::kMaxBodyBytes + 1, ' '));
  // Deep nesting inside an otherwise fine envelope never reaches the parser.
  check_refused(
      with_messages({{{"deep", json::parse(std::string(40, '[') + std::string(40, ']'))}}}));
}

TEST_CASE("whatsapp inbound: an empty entry list is a webhook with nothing in it", "[unit]") {
  const Batch batch = parse_webhook(R"({"object":"whatsapp_business_account","entry":[]})");
  CHECK(batch.messages.empty());
  CHECK(batch.statuses.empty());
  CHECK(batch.ignored.empty());
}

TEST_CASE("whatsapp inbound: malformed parts are skipped and noted, the rest is kept", "[unit]") {
  const json good = text_message("wamid.good");
  const json entries = json::array({
      1,
      "entry",
      nullptr,
      json::object(),
      {{"changes", "no"}},
      {{"changes",
        json::array({
            7,
            {{"field", "account_update"}, {"value", json::object()}},
            {{"field", 5}},
            {{"field", "messages"}, {"value", "text"}},
            {{"field", "messages"}, {"value", {{"messages", json::array({good})}}}},
            {{"field", "messages"},
             {"value",
              {{"metadata", {{"phone_number_id", 1065}}}, {"messages", json::array({good})}}}},
            {{"field", "messages"}, {"value", {{"metadata", metadata()}, {"messages", "many"}}}},
            {{"field", "messages"},
             {"value",
              {{"metadata", metadata()},
               {"contacts", "nobody"},
               {"messages", json::array({
                                good,
                                3,
                                {{"from", "2637"}, {"type", "text"}},
                                {{"id", 12}, {"from", "2637"}},
                                {{"id", std::string(600, 'w')}, {"from", "2637"}},
                                {{"id", "wamid.nosender"}, {"type", "text"}},
                                {{"id", "wamid.badsender"}, {"from", {{"x", 1}}}},
                                {{"id", "wamid.ctl"}, {"from", "26\n37"}},
                            })},
               {"statuses",
                json::array({
                    {{"id", "wamid.s"}, {"status", "deleted"}},
                    {{"status", "read"}},
                    false,
                    {{"id", "wamid.s"}, {"status", "read"}, {"timestamp", "1750000000"}},
                })}}}},
        })}},
  });
  const Batch batch =
      parse_webhook(json{{"object", "whatsapp_business_account"}, {"entry", entries}}.dump());
  REQUIRE(batch.messages.size() == 1);
  CHECK(batch.messages[0].wamid == "wamid.good");
  CHECK(batch.messages[0].text == "JOIN");
  REQUIRE(batch.statuses.size() == 1);
  CHECK(batch.statuses[0].status == "read");
  CHECK(batch.statuses[0].recipient == "");
  const std::vector<std::string> expected = {
      "entry 0: no changes array",
      "entry 1: no changes array",
      "entry 2: no changes array",
      "entry 3: no changes array",
      "entry 4: no changes array",
      "entry 5 change 0: no field",
      "entry 5 change 1: field 'account_update' is not messages",
      "entry 5 change 2: no field",
      "entry 5 change 3: no value object",
      "entry 5 change 4: no metadata.phone_number_id",
      "entry 5 change 5: no metadata.phone_number_id",
      "entry 5 change 6: neither messages nor statuses",
      "entry 5 change 7 message 1: not an object",
      "entry 5 change 7 message 2: no readable id",
      "entry 5 change 7 message 3: no readable id",
      "entry 5 change 7 message 4: no readable id",
      "entry 5 change 7 message 5: no sender",
      "entry 5 change 7 message 6: unreadable sender",
      "entry 5 change 7 message 7: unreadable sender",
      "entry 5 change 7 status 0: status is none of sent, delivered, read, failed, played",
      "entry 5 change 7 status 1: no readable id",
      "entry 5 change 7 status 2: not an object",
  };
  CHECK(batch.ignored == expected);
}

TEST_CASE("whatsapp inbound: wrong types inside a message leave fields empty, never throw",
          "[unit]") {
  const Batch batch = parse_webhook(with_messages(json::array({
      {{"id", "wamid.1"}, {"from", "2637"}, {"type", "text"}, {"text", {{"body", 42}}}},
      {{"id", "wamid.2"},
       {"from", "2637"},
       {"type", "interactive"},
       {"interactive", {{"type", "button_reply"}, {"button_reply", {{"id", 7}}}}}},
      {{"id", "wamid.3"},
       {"from", "2637"},
       {"type", "interactive"},
       {"interactive", {{"type", "nfm_reply"}, {"nfm_reply", {{"id", "x"}}}}}},
      {{"id", "wamid.4"}, {"from", "2637"}, {"type", "Text; DROP"}, {"timestamp", -5}},
      {{"id", "wamid.5"}, {"from", "2637"}, {"type", 3}, {"timestamp", "99999999999999999999"}},
      {{"id", "wamid.6"},
       {"from", "2637"},
       {"type", "button"},
       {"button", "yes"},
       {"timestamp", 1750000000},
       {"errors", {1, {{"code", "x"}}, {{"code", 131051}}}}},
      {{"id", "wamid.7"},
       {"from", "2637"},
       {"type", "text"},
       {"context", "none"},
       {"text", {{"body", std::string("a\0b", 3)}}},
       {"timestamp", 1.5}},
      {{"id", "wamid.8"},
       {"from", nullptr},
       {"from_user_id", "US.1"},
       {"type", "image"},
       {"image", {{"caption", {"no"}}}}},
  })));
  CHECK(batch.ignored.empty());
  REQUIRE(batch.messages.size() == 8);
  const auto& m = batch.messages;
  CHECK(m[0].type == "unsupported");
  CHECK(m[0].text == "");
  CHECK(m[1].type == "unsupported");
  CHECK(m[1].reply_id == "");
  CHECK(m[2].type == "unsupported");
  CHECK(m[3].type == "unsupported");
  CHECK(m[3].timestamp == -5);  // as sent: Meta's are strings of seconds, never negative
  CHECK(m[4].type == "unsupported");
  CHECK(m[4].timestamp == 0);
  CHECK(m[5].type == "unsupported");  // a quick reply without payload or text
  CHECK(m[5].timestamp == 1750000000);
  REQUIRE(m[5].errors.size() == 2);
  CHECK(m[5].errors[0].code == 0);
  CHECK(m[5].errors[1].code == 131051);
  CHECK(m[6].text ==
        "a\xEF\xBF\xBD"
        "b");  // NUL replaced: the text is storable
  CHECK(m[6].context_id == "");
  CHECK(m[6].timestamp == 0);
  CHECK(m[7].from == "");  // a username-only sender
  CHECK(m[7].from_user_id == "US.1");
  CHECK(m[7].type == "image");
  CHECK(m[7].text == "");
}

TEST_CASE("whatsapp inbound: at most 1000 updates are kept from one body", "[unit]") {
  json messages = json::array();
  for (int i = 0; i < 1200; ++i) messages.push_back(text_message("wamid." + std::to_string(i)));
  const Batch batch = parse_webhook(with_messages(messages));
  CHECK(batch.messages.size() == loyalty::whatsapp::kMaxUpdates);
  CHECK(batch.messages.back().wamid == "wamid.999");
  CHECK(batch.ignored == std::vector<std::string>{"more than 1000 updates: the rest skipped"});
}

TEST_CASE("whatsapp inbound: entries and changes past the bounds are skipped, notes are capped",
          "[unit]") {
  json entries = json::array();
  for (int i = 0; i < 1500; ++i) entries.push_back({{"changes", json::array({{{"field", "x"}}})}});
  const Batch batch =
      parse_webhook(json{{"object", "whatsapp_business_account"}, {"entry", entries}}.dump());
  CHECK(batch.messages.empty());
  REQUIRE(batch.ignored.size() == loyalty::whatsapp::kMaxIgnored);
  CHECK(batch.ignored.front() == "entry 0 change 0: field 'x' is not messages");
  CHECK(batch.ignored.back() == "more parts were skipped than are noted");
}

TEST_CASE("whatsapp inbound: notes never quote a value from the body", "[unit]") {
  const Batch batch = parse_webhook(with_value(
      {{"metadata", metadata()},
       {"messages",
        json::array({{{"id", "wamid.x"}, {"from", "263771234567\n"}, {"text", "secret"}},
                     {{"from", "263771234567"}, {"text", {{"body", "my PIN is 4321"}}}}})},
       {"statuses", json::array({{{"id", "wamid.y"}, {"status", "263771234567"}}})}}));
  REQUIRE(batch.ignored.size() == 3);
  for (const auto& note : batch.ignored) {
    CHECK(note.find("2637") == std::string::npos);
    CHECK(note.find("4321") == std::string::npos);
    CHECK(note.find("wamid") == std::string::npos);
  }
  const Batch field = parse_webhook(json{{"object", "whatsapp_business_account"},
                                         {"entry", {{{"changes", {{{"field", "+263 77 123"}}}}}}}}
                                        .dump());
  CHECK(field.ignored ==
        std::vector<std::string>{"entry 0 change 0: field '(unreadable)' is not messages"});
}

TEST_CASE("whatsapp inbound: several entries and changes keep their order", "[unit]") {
  const json change_a = {{"field", "messages"},
                         {"value",
                          {{"metadata", {{"phone_number_id", "111"}}},
                           {"messages", json::array({text_message("wamid.a")})}}}};
  const json change_b = {
      {"field", "messages"},
      {"value",
       {{"metadata", {{"phone_number_id", "222"}}},
        {"messages", json::array({text_message("wamid.b")})},
        {"statuses", {{{"id", "wamid.s"}, {"status", "delivered"}, {"recipient_id", "2637"}}}}}}};
  const Batch batch = parse_webhook(json{
      {"object", "whatsapp_business_account"},
      {"entry",
       {{{"changes", json::array({change_a})}}, {{"changes", json::array({change_b, change_a})}}}}}
                                        .dump());
  REQUIRE(batch.messages.size() == 3);
  CHECK(batch.messages[0].phone_number_id == "111");
  CHECK(batch.messages[1].phone_number_id == "222");
  CHECK(batch.messages[1].wamid == "wamid.b");
  CHECK(batch.messages[2].wamid == "wamid.a");
  REQUIRE(batch.statuses.size() == 1);
  CHECK(batch.statuses[0].phone_number_id == "222");
  CHECK(batch.statuses[0].recipient == "2637");
}
