#pragma once
// The self-service conversation of a messaging channel (WhatsApp today, SMS would be another):
// one message in, one answer out. A message is a typed command in any language and any case
// ("BALANCE", "mapoinzi", "redeem AB12CD") or the id of an option the customer picked from an
// earlier answer; the answer is a text in the customer's language with the options to pick
// next. The channel renders options as it can (WhatsApp: reply buttons or a list).

#include <loyalty/selfservice/members.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace loyalty::selfservice {

/// Something the customer can pick next. Ids are the conversation's own: "balance",
/// "rewards", "join", "stop", "help", "lang", "lang:sn", "pin:<issuance id>".
struct Option {
  std::string id;
  std::string title;
  std::string description;  ///< optional
  bool operator==(const Option&) const = default;
};

struct Answer {
  std::string text;
  std::string options_label;  ///< what opens a long list of options ("Menu")
  std::vector<Option> options;
};

/// What the customer sent: a text, or the id of an option (a button or list reply).
struct Said {
  std::string text;
  std::string option_id;
};

/// Answers one message from `phone` (E.164) to merchant `m` on `channel` ("whatsapp"). The
/// command it names runs first (join enrols with consent on `channel`; stop opts out; a PIN
/// request makes a fresh one-time PIN, kept only hashed), each in its own transaction.
Answer converse(db::Database& db, const Merchant& m, const std::string& phone, const Said& said,
                const std::string& channel);

nlohmann::json to_json(const Answer& answer);
/// The inverse of to_json; Error(invalid) when `j` is not an answer.
Answer answer_from_json(const nlohmann::json& j);

}  // namespace loyalty::selfservice
