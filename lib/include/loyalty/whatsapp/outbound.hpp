#pragma once
// The bodies of the Graph API's POST /{phone_number_id}/messages: text, reply buttons, lists
// and templates, each checked against the limits Meta documents before anything is sent.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::whatsapp {

/// Meta's limits, in characters (Unicode code points, as the API counts them). Sources: the
/// protocol notes, section 5 (META-TEXT-MSG, META-BUTTONS-MSG, META-LIST-MSG).
inline constexpr std::size_t kMaxTextBody = 4096;
inline constexpr std::size_t kMaxButtons = 3;
inline constexpr std::size_t kMaxButtonTitle = 20;
inline constexpr std::size_t kMaxButtonId = 256;
inline constexpr std::size_t kMaxButtonsBody = 1024;
inline constexpr std::size_t kMaxFooter = 60;
inline constexpr std::size_t kMaxHeaderText = 60;
inline constexpr std::size_t kMaxListBody = 4096;
inline constexpr std::size_t kMaxListButton = 20;
inline constexpr std::size_t kMaxSections = 10;
inline constexpr std::size_t kMaxRows = 10;  ///< in all sections together
inline constexpr std::size_t kMaxSectionTitle = 24;
inline constexpr std::size_t kMaxRowId = 200;
inline constexpr std::size_t kMaxRowTitle = 24;
inline constexpr std::size_t kMaxRowDescription = 72;
inline constexpr std::size_t kMaxTemplateName = 512;
/// A body parameter cannot be longer than the 1,024-character template body it fills.
inline constexpr std::size_t kMaxTemplateParameter = 1024;

/// The header of a reply-buttons message: none (both empty), a text, or an image already
/// uploaded to Meta (its media id). A list's header can only be a text.
struct Header {
  std::string text;
  std::string image_id;
};

struct ReplyButton {
  std::string id;     ///< comes back as InboundMessage::reply_id; unique in the message
  std::string title;  ///< unique in the message
};

struct ButtonsMessage {
  Header header;
  std::string body;
  std::string footer;  ///< optional
  std::vector<ReplyButton> buttons;
};

struct ListRow {
  std::string id;  ///< comes back as InboundMessage::reply_id; unique in the message
  std::string title;
  std::string description;  ///< optional
};

struct ListSection {
  std::string title;  ///< required when there is more than one section
  std::vector<ListRow> rows;
};

struct ListMessage {
  std::string header_text;  ///< optional
  std::string body;
  std::string footer;  ///< optional
  std::string button;  ///< the label of the button that opens the list
  std::vector<ListSection> sections;
};

/// One parameter of a template's body: positional ({{1}}, {{2}}, ...: name empty) or named
/// ({{first_name}}: name set). A template's parameters are all positional or all named.
struct TemplateParameter {
  std::string name;
  std::string text;
};

struct TemplateMessage {
  std::string name;      ///< as approved by Meta: lower-case letters, digits and '_'
  std::string language;  ///< the template's language code: "en_US", "en", "pt_BR"
  std::vector<TemplateParameter> body;
};

/// Every builder below takes `to`: a phone number (digits with an optional leading '+', as
/// the webhook's wa_id or E.164) sent as "to", or a business-scoped user id ("US.1349…", for a
/// customer known only by username) sent as "recipient". Each returns the request body with
/// messaging_product "whatsapp" and recipient_type "individual", and throws Error(invalid,
/// "whatsapp-message-invalid") naming every field that breaks a limit (JSON pointers into the
/// body, e.g. "/interactive/action/buttons/1/reply/title") or is not valid UTF-8.

/// A text message; links are not previewed unless `preview_url`.
/// Example: `text_message("+263771234567", "You have 120 points.")`.
nlohmann::json text_message(std::string_view to, std::string_view body, bool preview_url = false);

/// An interactive message with 1 to 3 reply buttons.
nlohmann::json buttons_message(std::string_view to, const ButtonsMessage& message);

/// An interactive list: 1 to 10 sections, 1 to 10 rows in all.
nlohmann::json list_message(std::string_view to, const ListMessage& message);

/// A template message (the only kind Meta delivers outside the 24-hour customer-service
/// window), its body parameters in order.
nlohmann::json template_message(std::string_view to, const TemplateMessage& message);

/// The number of characters (code points) in UTF-8 text, or std::string_view::npos when the
/// text is not valid UTF-8.
std::size_t character_count(std::string_view text);

}  // namespace loyalty::whatsapp
