#pragma once
// What the WhatsApp Cloud API webhook POSTs, as typed values: the messages customers send and
// the status updates of the messages sent to them. Wire format only; the conversation and the
// routing by phone_number_id live elsewhere.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::whatsapp {

/// Bounds on the work one body can ask for. Meta batches "a maximum of 1000 updates" and sends
/// "up to 3 MB"; what lies past these bounds is skipped and said so in Batch::ignored.
inline constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;
inline constexpr int kMaxJsonDepth = 32;             ///< real payloads nest 8 levels
inline constexpr std::size_t kMaxEntries = 1000;     ///< entry[] elements read
inline constexpr std::size_t kMaxChanges = 1000;     ///< changes[] elements read, all entries
inline constexpr std::size_t kMaxUpdates = 1000;     ///< messages and statuses kept, in all
inline constexpr std::size_t kMaxErrors = 16;        ///< errors[] kept per message or status
inline constexpr std::size_t kMaxContacts = 1000;    ///< contacts[] read per change
inline constexpr std::size_t kMaxIgnored = 100;      ///< notes kept in Batch::ignored
inline constexpr std::size_t kMaxIdBytes = 512;      ///< longer ids make their item skipped
inline constexpr std::size_t kMaxTextBytes = 65536;  ///< texts are cut (whole characters) here

/// One element of a message's or a status's `errors`.
struct WebhookError {
  std::int64_t code = 0;
  std::string title;
  std::string message;
  std::string details;  ///< error_data.details
  bool operator==(const WebhookError&) const = default;
};

/// A message a customer sent to one of the business's numbers.
struct InboundMessage {
  std::string phone_number_id;       ///< the business number it came to (metadata)
  std::string display_phone_number;  ///< the same number as digits (metadata)
  std::string wamid;                 ///< messages[].id: unique, dedupe on it
  /// The sender's wa_id (digits, no '+'); empty for username-only senders, who carry only
  /// from_user_id.
  std::string from;
  std::string from_user_id;  ///< the business-scoped user id (BSUID), when Meta sends one
  std::string profile_name;  ///< contacts[].profile.name of the sender, when given
  /// "text", "interactive" (a reply button or list row), "button" (a template quick reply),
  /// "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction",
  /// "order", "system", ... as Meta names it (lower-case letters, digits and '_'); "unsupported"
  /// for Meta's own unsupported type, for a name outside that alphabet, and for a text or
  /// interactive message without its content.
  std::string type;
  /// The body of a text; the title of a button or list reply; the text of a quick reply; the
  /// emoji of a reaction (empty when one is removed); the caption of media; the body of a
  /// system message.
  std::string text;
  /// The id of the reply button or list row chosen, or the payload of a quick reply.
  std::string reply_id;
  /// The wamid this message refers to: the message replied to (context.id) or reacted to.
  std::string context_id;
  /// For a "system" message of type user_changed_number: the customer's new wa_id.
  std::string new_wa_id;
  std::int64_t timestamp = 0;        ///< Unix seconds; 0 when absent or unreadable
  std::vector<WebhookError> errors;  ///< e.g. 131051 for an unsupported type
};

/// A status of a message the business sent: sent, delivered, read, failed or played.
struct StatusUpdate {
  std::string phone_number_id;
  std::string wamid;                 ///< statuses[].id: the id the send answered with
  std::string status;                ///< "sent", "delivered", "read", "failed" or "played"
  std::string recipient;             ///< recipient_id: a wa_id, or a group id
  std::string recipient_user_id;     ///< the recipient's BSUID, when Meta sends one
  std::string callback_data;         ///< biz_opaque_callback_data, when the send set one
  std::int64_t timestamp = 0;        ///< Unix seconds; 0 when absent or unreadable
  std::vector<WebhookError> errors;  ///< why it failed
};

/// Texts (text, title, profile_name, the errors' strings) are valid UTF-8 without NUL (each NUL
/// becomes U+FFFD) and at most kMaxTextBytes; ids (wamid, from, ...) have no control characters.

/// What one webhook body holds, in the order it holds it.
struct Batch {
  std::vector<InboundMessage> messages;
  std::vector<StatusUpdate> statuses;
  /// Why parts were skipped, one short note each, naming positions and field names but never
  /// a value from the body (no phone number, no text): "entry 0 change 0: field
  /// 'account_update' is not messages". At most kMaxIgnored notes.
  std::vector<std::string> ignored;
};

/// Parses a POST body of the webhook whose X-Hub-Signature-256 was verified.
///
/// Every shape Meta documents parses (see the protocol notes); anything unexpected inside the
/// envelope (unknown or missing fields, wrong types, non-object elements, arrays past the
/// bounds above) is skipped and noted in Batch::ignored. Throws Error(invalid,
/// "whatsapp-webhook-invalid") only when the body is not a WhatsApp webhook at all: larger than
/// kMaxBodyBytes, nested deeper than kMaxJsonDepth, not JSON, not an object, `object` not
/// "whatsapp_business_account", or no `entry` array. Never throws anything else. Thread-safe.
Batch parse_webhook(std::string_view body);

}  // namespace loyalty::whatsapp
