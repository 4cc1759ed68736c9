#include <loyalty/core/utf8.hpp>
#include <loyalty/whatsapp/outbound.hpp>
#include <loyalty/whatsapp/replies.hpp>

#include <algorithm>

namespace loyalty::whatsapp {

namespace {

using utf8::shortened;

/// Reply buttons when there are at most three options whose titles fit whole (a shortened
/// button title would be ambiguous) and the text fits a buttons body.
bool fits_buttons(const selfservice::Answer& answer) {
  if (answer.options.empty() || answer.options.size() > kMaxButtons) return false;
  if (character_count(answer.text) > kMaxButtonsBody) return false;
  return std::all_of(answer.options.begin(), answer.options.end(), [](const auto& o) {
    return character_count(o.title) <= kMaxButtonTitle && o.id.size() <= kMaxButtonId;
  });
}

}  // namespace

nlohmann::json reply_message(std::string_view to, const selfservice::Answer& answer) {
  if (answer.options.empty()) return text_message(to, shortened(answer.text, kMaxTextBody));
  if (fits_buttons(answer)) {
    ButtonsMessage m;
    m.body = answer.text;
    for (const auto& o : answer.options) m.buttons.push_back({o.id, o.title});
    return buttons_message(to, m);
  }
  ListMessage m;
  m.body = shortened(answer.text, kMaxListBody);
  m.button =
      shortened(answer.options_label.empty() ? "Menu" : answer.options_label, kMaxListButton);
  ListSection section;
  for (const auto& o : answer.options) {
    if (section.rows.size() == kMaxRows || o.id.size() > kMaxRowId) break;
    section.rows.push_back(
        {o.id, shortened(o.title, kMaxRowTitle), shortened(o.description, kMaxRowDescription)});
  }
  m.sections.push_back(std::move(section));
  return list_message(to, m);
}

}  // namespace loyalty::whatsapp
