#include <loyalty/whatsapp/outbound.hpp>

#include <loyalty/core/error.hpp>
#include <loyalty/core/utf8.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace loyalty::whatsapp {

namespace {

using nlohmann::json;

/// The limit problems of one message, all of them, thrown at once.
class Fields {
 public:
  /// Checks one text field: valid UTF-8, at most `max` characters, and not empty if `required`.
  void text(const std::string& pointer, const std::string& what, std::string_view value,
            std::size_t max, bool required = true) {
    const std::size_t count = character_count(value);
    if (count == std::string_view::npos) {
      fail(pointer, what + " is not valid UTF-8");
    } else if (count == 0 && required) {
      fail(pointer, what + " is empty");
    } else if (count > max) {
      fail(pointer, fmt::format("{} is {} characters, at most {}", what, count, max));
    }
  }

  void fail(std::string pointer, std::string message) {
    errors_.push_back({std::move(pointer), std::move(message)});
  }

  void raise() const {
    if (errors_.empty()) return;
    std::string detail = "whatsapp message: " + errors_.front().message;
    if (errors_.size() > 1) detail += fmt::format(" (and {} more)", errors_.size() - 1);
    throw loyalty::Error(ErrorCode::invalid, "whatsapp-message-invalid", std::move(detail),
                         errors_);
  }

 private:
  std::vector<FieldError> errors_;
};

bool all_of(std::string_view text, bool (*allowed)(char)) {
  return std::all_of(text.begin(), text.end(), allowed);
}
bool digit(char c) { return c >= '0' && c <= '9'; }
bool alnum(char c) { return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool upper(char c) { return c >= 'A' && c <= 'Z'; }
bool template_char(char c) { return digit(c) || (c >= 'a' && c <= 'z') || c == '_'; }

/// Digits with an optional leading '+': a wa_id or an E.164 number (6 to 15 digits).
bool is_phone(std::string_view to) {
  if (!to.empty() && to.front() == '+') to.remove_prefix(1);
  return to.size() >= 6 && to.size() <= 15 && all_of(to, digit);
}

/// A business-scoped user id: "US.13491208655302741918", "US.ENT.11815799212886844830".
bool is_bsuid(std::string_view to) {
  if (to.size() < 4 || !upper(to[0]) || !upper(to[1]) || to[2] != '.') return false;
  to.remove_prefix(3);
  if (to.substr(0, 4) == "ENT.") to.remove_prefix(4);
  return !to.empty() && to.size() <= 128 && all_of(to, alnum);
}

/// "en", "en_US", "pt_BR", "zh_HK".
bool is_language(std::string_view code) {
  const auto underscore = code.find('_');
  const auto language = code.substr(0, underscore);
  if (language.size() < 2 || language.size() > 3 ||
      !all_of(language, [](char c) { return c >= 'a' && c <= 'z'; })) {
    return false;
  }
  if (underscore == std::string_view::npos) return true;
  const auto region = code.substr(underscore + 1);
  return region.size() >= 2 && region.size() <= 4 && all_of(region, alnum);
}

json envelope(std::string_view to, std::string_view type, Fields& fields) {
  json body = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}, {"type", type}};
  if (is_phone(to)) {
    body["to"] = to;
  } else if (is_bsuid(to)) {
    body["recipient"] = to;
  } else {
    fields.fail("/to", "the recipient is neither a phone number nor a business-scoped user id");
  }
  return body;
}

/// Header, body and footer of an interactive message, checked.
void interactive_parts(json& interactive, const Header& header, std::string_view body,
                       std::size_t max_body, std::string_view footer, Fields& fields) {
  if (!header.text.empty() && !header.image_id.empty()) {
    fields.fail("/interactive/header", "the header is a text or an image, not both");
  } else if (!header.text.empty()) {
    fields.text("/interactive/header/text", "the header", header.text, kMaxHeaderText);
    interactive["header"] = {{"type", "text"}, {"text", header.text}};
  } else if (!header.image_id.empty()) {
    if (header.image_id.size() > 256 || !all_of(header.image_id, alnum)) {
      fields.fail("/interactive/header/image/id", "the header image is not a media id");
    }
    interactive["header"] = {{"type", "image"}, {"image", {{"id", header.image_id}}}};
  }
  fields.text("/interactive/body/text", "the body", body, max_body);
  interactive["body"] = {{"text", body}};
  if (!footer.empty()) {
    fields.text("/interactive/footer/text", "the footer", footer, kMaxFooter);
    interactive["footer"] = {{"text", footer}};
  }
}

/// Parameter text as Meta accepts it: "Param text cannot have new-line/tab characters or more
/// than 4 consecutive spaces" (the Graph API's own error for a template send).
void parameter_text(const std::string& pointer, const std::string& what, std::string_view text,
                    Fields& fields) {
  fields.text(pointer, what, text, kMaxTemplateParameter);
  if (text.find_first_of("\n\r\t") != std::string_view::npos) {
    fields.fail(pointer, what + " has a new line or a tab");
  } else if (text.find("     ") != std::string_view::npos) {
    fields.fail(pointer, what + " has more than 4 spaces in a row");
  }
}

}  // namespace

std::size_t character_count(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    const std::size_t length = utf8::sequence_at(text, i);
    if (length == 0) return std::string_view::npos;
    i += length;
  }
  return count;
}

json text_message(std::string_view to, std::string_view body, bool preview_url) {
  Fields fields;
  json message = envelope(to, "text", fields);
  fields.text("/text/body", "the text", body, kMaxTextBody);
  fields.raise();
  message["text"] = {{"preview_url", preview_url}, {"body", body}};
  return message;
}

json buttons_message(std::string_view to, const ButtonsMessage& m) {
  Fields fields;
  json message = envelope(to, "interactive", fields);
  json interactive = {{"type", "button"}};
  interactive_parts(interactive, m.header, m.body, kMaxButtonsBody, m.footer, fields);
  if (m.buttons.empty() || m.buttons.size() > kMaxButtons) {
    fields.fail("/interactive/action/buttons",
                fmt::format("{} buttons, from 1 to {}", m.buttons.size(), kMaxButtons));
  }
  json buttons = json::array();
  std::set<std::string> ids, titles;
  for (std::size_t i = 0; i < m.buttons.size(); ++i) {
    const auto& button = m.buttons[i];
    const auto at = fmt::format("/interactive/action/buttons/{}/reply", i);
    const auto name = fmt::format("button {}", i + 1);
    fields.text(at + "/id", name + "'s id", button.id, kMaxButtonId);
    fields.text(at + "/title", name + "'s title", button.title, kMaxButtonTitle);
    if (!ids.insert(button.id).second) fields.fail(at + "/id", name + "'s id is not unique");
    if (!titles.insert(button.title).second) {
      fields.fail(at + "/title", name + "'s title is not unique");
    }
    buttons.push_back({{"type", "reply"}, {"reply", {{"id", button.id}, {"title", button.title}}}});
  }
  fields.raise();
  interactive["action"] = {{"buttons", std::move(buttons)}};
  message["interactive"] = std::move(interactive);
  return message;
}

json list_message(std::string_view to, const ListMessage& m) {
  Fields fields;
  json message = envelope(to, "interactive", fields);
  json interactive = {{"type", "list"}};
  interactive_parts(interactive, Header{m.header_text, {}}, m.body, kMaxListBody, m.footer, fields);
  fields.text("/interactive/action/button", "the list button", m.button, kMaxListButton);
  if (m.sections.empty() || m.sections.size() > kMaxSections) {
    fields.fail("/interactive/action/sections",
                fmt::format("{} sections, from 1 to {}", m.sections.size(), kMaxSections));
  }
  json sections = json::array();
  std::size_t row_count = 0;
  std::set<std::string> ids;
  for (std::size_t s = 0; s < m.sections.size(); ++s) {
    const auto& section = m.sections[s];
    const auto at = fmt::format("/interactive/action/sections/{}", s);
    const auto name = fmt::format("section {}", s + 1);
    fields.text(at + "/title", name + "'s title", section.title, kMaxSectionTitle,
                m.sections.size() > 1);
    if (section.rows.empty()) fields.fail(at + "/rows", name + " has no rows");
    json rows = json::array();
    for (std::size_t r = 0; r < section.rows.size(); ++r) {
      const auto& row = section.rows[r];
      const auto row_at = fmt::format("{}/rows/{}", at, r);
      const auto row_name = fmt::format("{} row {}", name, r + 1);
      fields.text(row_at + "/id", row_name + "'s id", row.id, kMaxRowId);
      fields.text(row_at + "/title", row_name + "'s title", row.title, kMaxRowTitle);
      fields.text(row_at + "/description", row_name + "'s description", row.description,
                  kMaxRowDescription, false);
      if (!ids.insert(row.id).second) fields.fail(row_at + "/id", row_name + "'s id is not unique");
      json item = {{"id", row.id}, {"title", row.title}};
      if (!row.description.empty()) item["description"] = row.description;
      rows.push_back(std::move(item));
    }
    row_count += section.rows.size();
    json item = {{"rows", std::move(rows)}};
    if (!section.title.empty()) item["title"] = section.title;
    sections.push_back(std::move(item));
  }
  if (row_count > kMaxRows) {
    fields.fail("/interactive/action/sections",
                fmt::format("{} rows in all, at most {}", row_count, kMaxRows));
  }
  fields.raise();
  interactive["action"] = {{"button", m.button}, {"sections", std::move(sections)}};
  message["interactive"] = std::move(interactive);
  return message;
}

json template_message(std::string_view to, const TemplateMessage& m) {
  Fields fields;
  json message = envelope(to, "template", fields);
  if (m.name.empty() || m.name.size() > kMaxTemplateName || !all_of(m.name, template_char)) {
    fields.fail("/template/name",
                fmt::format("the template name is not 1 to {} lower-case letters, digits and '_'",
                            kMaxTemplateName));
  }
  if (!is_language(m.language)) {
    fields.fail("/template/language/code", "the language code is not like en or en_US");
  }
  const bool named = !m.body.empty() && !m.body.front().name.empty();
  json parameters = json::array();
  std::set<std::string> names;
  for (std::size_t i = 0; i < m.body.size(); ++i) {
    const auto& parameter = m.body[i];
    const auto at = fmt::format("/template/components/0/parameters/{}", i);
    const auto what = fmt::format("parameter {}", i + 1);
    parameter_text(at + "/text", what, parameter.text, fields);
    json item = {{"type", "text"}, {"text", parameter.text}};
    if (parameter.name.empty() == named) {
      fields.fail(at, "the parameters are all named or all positional");
    } else if (named) {
      if (parameter.name.size() > 128 || !all_of(parameter.name, template_char)) {
        fields.fail(at + "/parameter_name",
                    what + "'s name is not lower-case letters, digits and '_'");
      } else if (!names.insert(parameter.name).second) {
        fields.fail(at + "/parameter_name", what + "'s name is not unique");
      }
      item["parameter_name"] = parameter.name;
    }
    parameters.push_back(std::move(item));
  }
  fields.raise();
  json body = {{"name", m.name}, {"language", {{"code", m.language}}}};
  if (!parameters.empty()) {
    body["components"] = json::array({{{"type", "body"}, {"parameters", std::move(parameters)}}});
  }
  message["template"] = std::move(body);
  return message;
}

}  // namespace loyalty::whatsapp
