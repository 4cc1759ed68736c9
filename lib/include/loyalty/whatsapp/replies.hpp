#pragma once
// How the self-service conversation's answers look on WhatsApp: a text; reply buttons for up
// to three short options; an interactive list for more. Everything is fitted to Meta's limits
// (a title too long is shortened with "…"), so an answer in any language always sends.

#include <loyalty/selfservice/conversation.hpp>

#include <nlohmann/json.hpp>

#include <string_view>

namespace loyalty::whatsapp {

/// The Graph API body that sends `answer` to `to` (a wa_id or E.164 number).
nlohmann::json reply_message(std::string_view to, const selfservice::Answer& answer);

}  // namespace loyalty::whatsapp
