// libFuzzer target for the WhatsApp webhook parser (whatsapp::parse_webhook), which reads every
// POST /public/wa/webhook body once its X-Hub-Signature-256 verified. The input is the body.
// The parser may refuse a body only with loyalty::Error(invalid, "whatsapp-webhook-invalid");
// any other exception, a crash, a leak, UB or a broken promise checked below is a finding.
//
//   scripts/fuzz whatsapp_payload
#include <loyalty/core/error.hpp>
#include <loyalty/core/utf8.hpp>
#include <loyalty/whatsapp/inbound.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace wa = loyalty::whatsapp;

void check(bool promise) {
  if (!promise) __builtin_trap();
}

/// An id the parser kept: present, bounded, no control characters.
void check_id(const std::string& id, bool required) {
  check(!required || !id.empty());
  check(id.size() <= wa::kMaxIdBytes);
  check(std::none_of(id.begin(), id.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
}

/// A text the parser kept: storable as it is (valid UTF-8, no NUL, bounded).
void check_text(const std::string& text) {
  check(text.size() <= wa::kMaxTextBytes);
  check(loyalty::utf8::valid(text));
  check(text.find('\0') == std::string::npos);
}

void check_errors(const std::vector<wa::WebhookError>& errors) {
  check(errors.size() <= wa::kMaxErrors);
  for (const auto& e : errors) {
    check_text(e.title);
    check_text(e.message);
    check_text(e.details);
  }
}

bool type_name(const std::string& type) {
  return !type.empty() && type.size() <= 32 && std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(bytes), size);
  wa::Batch batch;
  try {
    batch = wa::parse_webhook(body);
  } catch (const loyalty::Error& e) {
    check(e.code() == loyalty::ErrorCode::invalid);
    check(e.type() == "whatsapp-webhook-invalid");
    return 0;
  }
  check(batch.messages.size() + batch.statuses.size() <= wa::kMaxUpdates);
  check(batch.ignored.size() <= wa::kMaxIgnored);
  nlohmann::json shown = nlohmann::json::array();
  for (const auto& note : batch.ignored) {
    check(!note.empty() && loyalty::utf8::valid(note));
    shown.push_back(note);
  }
  for (const auto& m : batch.messages) {
    check_id(m.phone_number_id, true);
    check_id(m.display_phone_number, false);
    check_id(m.wamid, true);
    check_id(m.from, false);
    check_id(m.from_user_id, false);
    check(!m.from.empty() || !m.from_user_id.empty());
    check_id(m.reply_id, false);
    check_id(m.context_id, false);
    check_id(m.new_wa_id, false);
    check(type_name(m.type));
    check(m.type != "interactive" || !m.reply_id.empty());
    check(m.type != "button" || !m.reply_id.empty() || !m.text.empty());
    check_text(m.text);
    check_text(m.profile_name);
    check_errors(m.errors);
    // What the webhook handler would queue or log must serialise.
    shown.push_back({{"wamid", m.wamid},
                     {"from", m.from},
                     {"text", m.text},
                     {"name", m.profile_name},
                     {"type", m.type}});
  }
  for (const auto& s : batch.statuses) {
    check_id(s.phone_number_id, true);
    check_id(s.wamid, true);
    check(s.status == "sent" || s.status == "delivered" || s.status == "read" ||
          s.status == "failed" || s.status == "played");
    check_id(s.recipient, false);
    check_id(s.recipient_user_id, false);
    check_text(s.callback_data);
    check_errors(s.errors);
    shown.push_back({{"wamid", s.wamid}, {"status", s.status}, {"recipient", s.recipient}});
  }
  (void)shown.dump();
  return 0;
}
