#include <loyalty/whatsapp/inbound.hpp>

#include "whatsapp/json_read.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/core/json_text.hpp>
#include <loyalty/core/utf8.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace loyalty::whatsapp {

namespace {

using detail::array_at;
using detail::integer_at;
using detail::object_at;
using detail::string_at;
using detail::string_or_empty;
using nlohmann::json;

[[noreturn]] void not_a_webhook(std::string detail) {
  throw loyalty::Error(ErrorCode::invalid, "whatsapp-webhook-invalid", std::move(detail));
}

json parse_envelope(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    not_a_webhook("the body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  if (loyalty::json_text::depth(body) > kMaxJsonDepth) {
    not_a_webhook("the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::exception& e) {
    // parse_error (syntax, invalid UTF-8) or out_of_range (a number past a double's range).
    not_a_webhook("the body is not JSON");
  }
  if (!parsed.is_object()) not_a_webhook("the body is not a JSON object");
  if (string_at(parsed, "object") != std::optional<std::string_view>("whatsapp_business_account")) {
    not_a_webhook("the body's object is not whatsapp_business_account");
  }
  if (array_at(parsed, "entry") == nullptr) not_a_webhook("the body has no entry array");
  return parsed;
}

/// An id as Meta sends it (digits, "wamid.…", a BSUID): a string of at most kMaxIdBytes
/// without control characters; std::nullopt for anything else, "" when absent.
std::optional<std::string> id_at(const json& value, std::string_view key) {
  const auto* found = detail::member(value, key);
  if (found == nullptr || found->is_null()) return std::string();
  if (!found->is_string()) return std::nullopt;
  const auto& text = found->get_ref<const std::string&>();
  if (text.size() > kMaxIdBytes) return std::nullopt;
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return std::nullopt;
  }
  return text;
}

std::string text_at(const json& value, std::string_view key) {
  return utf8::storable(string_or_empty(value, key), kMaxTextBytes);
}

/// Meta's type and field names are lower-case words joined by '_'.
bool readable_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// A message type as Meta names it; anything else is unsupported.
std::string type_name(std::string_view type) {
  return readable_name(type) ? std::string(type) : "unsupported";
}

std::vector<WebhookError> errors_at(const json& value) {
  std::vector<WebhookError> errors;
  const auto* list = array_at(value, "errors");
  if (list == nullptr) return errors;
  for (const auto& item : *list) {
    if (errors.size() == kMaxErrors) break;
    if (!item.is_object()) continue;
    WebhookError error;
    error.code = integer_at(item, "code").value_or(0);
    error.title = text_at(item, "title");
    error.message = text_at(item, "message");
    if (const auto* data = object_at(item, "error_data")) error.details = text_at(*data, "details");
    errors.push_back(std::move(error));
  }
  return errors;
}

class Reader {
 public:
  Batch take() { return std::move(batch_); }

  void read_entries(const json& entries) {
    std::size_t index = 0;
    for (const auto& entry : entries) {
      if (index == kMaxEntries) {
        note("more than " + std::to_string(kMaxEntries) + " entries: the rest skipped");
        return;
      }
      read_entry(entry, index++);
      if (full_) return;
    }
  }

 private:
  /// The sender's profile names of one change, by wa_id and by BSUID.
  using Names = std::map<std::string, std::string, std::less<>>;

  void note(std::string text) {
    if (batch_.ignored.size() + 1 < kMaxIgnored) {
      batch_.ignored.push_back(std::move(text));
    } else if (batch_.ignored.size() + 1 == kMaxIgnored) {
      batch_.ignored.push_back("more parts were skipped than are noted");
    }
  }

  /// Whether another message or status may be kept; notes once when the bound is reached.
  bool room() {
    if (batch_.messages.size() + batch_.statuses.size() < kMaxUpdates) return true;
    if (!full_) note("more than " + std::to_string(kMaxUpdates) + " updates: the rest skipped");
    full_ = true;
    return false;
  }

  void read_entry(const json& entry, std::size_t e) {
    const auto* changes = array_at(entry, "changes");
    if (changes == nullptr) {
      note("entry " + std::to_string(e) + ": no changes array");
      return;
    }
    std::size_t c = 0;
    for (const auto& change : *changes) {
      if (changes_read_ == kMaxChanges) {
        note("more than " + std::to_string(kMaxChanges) + " changes: the rest skipped");
        full_ = true;
        return;
      }
      ++changes_read_;
      read_change(change, "entry " + std::to_string(e) + " change " + std::to_string(c++));
      if (full_) return;
    }
  }

  void read_change(const json& change, const std::string& where) {
    const auto field = string_at(change, "field");
    if (!field) {
      note(where + ": no field");
      return;
    }
    if (*field != "messages") {
      // A field name is Meta's vocabulary, never personal data, once it looks like one.
      note(where + ": field '" + (readable_name(*field) ? std::string(*field) : "(unreadable)") +
           "' is not messages");
      return;
    }
    const auto* value = object_at(change, "value");
    if (value == nullptr) {
      note(where + ": no value object");
      return;
    }
    const auto* metadata = object_at(*value, "metadata");
    const auto phone_number_id =
        metadata == nullptr ? std::nullopt : id_at(*metadata, "phone_number_id");
    if (!phone_number_id || phone_number_id->empty()) {
      note(where + ": no metadata.phone_number_id");
      return;
    }
    const std::string display = id_at(*metadata, "display_phone_number").value_or("");
    const auto* messages = array_at(*value, "messages");
    const auto* statuses = array_at(*value, "statuses");
    if (messages == nullptr && statuses == nullptr) {
      note(where + ": neither messages nor statuses");
      return;
    }
    if (messages != nullptr) {
      const Names names = profile_names(*value);
      const auto change_errors = errors_at(*value);
      std::size_t m = 0;
      for (const auto& message : *messages) {
        if (!room()) return;
        read_message(message, where + " message " + std::to_string(m++), *phone_number_id, display,
                     names, change_errors);
      }
    }
    if (statuses != nullptr) {
      std::size_t s = 0;
      for (const auto& status : *statuses) {
        if (!room()) return;
        read_status(status, where + " status " + std::to_string(s++), *phone_number_id);
      }
    }
  }

  Names profile_names(const json& value) {
    Names names;
    const auto* contacts = array_at(value, "contacts");
    if (contacts == nullptr) return names;
    std::size_t read = 0;
    for (const auto& contact : *contacts) {
      if (read++ == kMaxContacts) break;
      const auto* profile = object_at(contact, "profile");
      if (profile == nullptr || !string_at(*profile, "name")) continue;
      const std::string name = text_at(*profile, "name");
      for (const auto* key : {"wa_id", "user_id"}) {
        const auto id = id_at(contact, key);
        if (id && !id->empty()) names.emplace(*id, name);
      }
    }
    return names;
  }

  void read_message(const json& message, const std::string& where,
                    const std::string& phone_number_id, const std::string& display,
                    const Names& names, const std::vector<WebhookError>& change_errors) {
    if (!message.is_object()) {
      note(where + ": not an object");
      return;
    }
    const auto wamid = id_at(message, "id");
    if (!wamid || wamid->empty()) {
      note(where + ": no readable id");
      return;
    }
    const auto from = id_at(message, "from");
    const auto from_user_id = id_at(message, "from_user_id");
    if (!from || !from_user_id) {
      note(where + ": unreadable sender");
      return;
    }
    if (from->empty() && from_user_id->empty()) {
      note(where + ": no sender");
      return;
    }
    InboundMessage m;
    m.phone_number_id = phone_number_id;
    m.display_phone_number = display;
    m.wamid = *wamid;
    m.from = *from;
    m.from_user_id = *from_user_id;
    for (const auto* id : {&m.from, &m.from_user_id}) {
      if (const auto found = names.find(*id); !id->empty() && found != names.end()) {
        m.profile_name = found->second;
        break;
      }
    }
    m.timestamp = integer_at(message, "timestamp").value_or(0);
    if (const auto* context = object_at(message, "context")) {
      m.context_id = id_at(*context, "id").value_or("");
    }
    m.type = type_name(string_or_empty(message, "type"));
    read_content(message, m);
    m.errors = errors_at(message);
    if (m.errors.empty()) m.errors = change_errors;
    batch_.messages.push_back(std::move(m));
  }

  /// Fills text and reply_id from the object named by the type; a text or an interactive
  /// message without them becomes "unsupported" (pywa's interactive_message_with_err).
  static void read_content(const json& message, InboundMessage& m) {
    const json* content = object_at(message, m.type);
    static const json kNone = json::object();
    const json& c = content != nullptr ? *content : kNone;
    if (m.type == "text") {
      if (!string_at(c, "body")) m.type = "unsupported";
      m.text = text_at(c, "body");
    } else if (m.type == "interactive") {
      const auto kind = string_or_empty(c, "type");
      const json* reply =
          (kind == "button_reply" || kind == "list_reply") ? object_at(c, kind) : nullptr;
      const auto id = reply == nullptr ? std::nullopt : id_at(*reply, "id");
      if (!id || id->empty()) {
        m.type = "unsupported";
        return;
      }
      m.reply_id = *id;
      m.text = text_at(*reply, "title");
    } else if (m.type == "button") {
      // A template's quick-reply button: the payload is what the template was sent with.
      m.reply_id = id_at(c, "payload").value_or("");
      m.text = text_at(c, "text");
      if (m.reply_id.empty() && m.text.empty()) m.type = "unsupported";
    } else if (m.type == "reaction") {
      m.text = text_at(c, "emoji");
      m.context_id = id_at(c, "message_id").value_or("");
    } else if (m.type == "system") {
      m.text = text_at(c, "body");
      if (string_or_empty(c, "type") == "user_changed_number") {
        m.new_wa_id = id_at(c, "wa_id").value_or("");
        if (m.new_wa_id.empty()) m.new_wa_id = id_at(c, "new_wa_id").value_or("");
      }
    } else {
      m.text = text_at(c, "caption");  // image, video, document
    }
  }

  void read_status(const json& status, const std::string& where,
                   const std::string& phone_number_id) {
    if (!status.is_object()) {
      note(where + ": not an object");
      return;
    }
    const auto wamid = id_at(status, "id");
    if (!wamid || wamid->empty()) {
      note(where + ": no readable id");
      return;
    }
    static constexpr std::array<std::string_view, 5> kKnown = {"sent", "delivered", "read",
                                                               "failed", "played"};
    const auto name = string_or_empty(status, "status");
    if (std::find(kKnown.begin(), kKnown.end(), name) == kKnown.end()) {
      note(where + ": status is none of sent, delivered, read, failed, played");
      return;
    }
    StatusUpdate s;
    s.phone_number_id = phone_number_id;
    s.wamid = *wamid;
    s.status = std::string(name);
    s.recipient = id_at(status, "recipient_id").value_or("");
    s.recipient_user_id = id_at(status, "recipient_user_id").value_or("");
    s.callback_data = text_at(status, "biz_opaque_callback_data");
    s.timestamp = integer_at(status, "timestamp").value_or(0);
    s.errors = errors_at(status);
    batch_.statuses.push_back(std::move(s));
  }

  Batch batch_;
  std::size_t changes_read_ = 0;
  bool full_ = false;
};

}  // namespace

Batch parse_webhook(std::string_view body) {
  const json parsed = parse_envelope(body);
  Reader reader;
  reader.read_entries(*array_at(parsed, "entry"));
  return reader.take();
}

}  // namespace loyalty::whatsapp
