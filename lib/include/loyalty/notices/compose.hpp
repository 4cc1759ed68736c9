#pragma once
// What one queued notification becomes on WhatsApp: a conversation reply, as the answer it
// holds; a notice (a reward issued with its code and PIN, a reward used) as a text in the
// customer's language inside the 24-hour customer-service window, and as the tenant's approved
// template outside it. Or nothing, and why: no consent, no number, no template.

#include <nlohmann/json.hpp>

#include <string>

namespace loyalty::notices {

/// Notice kinds (notifications.template) and the positional parameters of the WhatsApp template
/// an operator approves for each (loyaltyctl channel add --template KIND=NAME:LANGUAGE):
///   reward_issued    {{1}} merchant, {{2}} reward, {{3}} code, {{4}} PIN, {{5}} valid until
///   reward_redeemed  {{1}} merchant, {{2}} reward
///   reward_expiring  {{1}} merchant, {{2}} reward, {{3}} expiry date
///   points_expiring  {{1}} merchant, {{2}} points, {{3}} first expiry date
/// A parameter with no value is "-".
inline constexpr const char* kRewardIssued = "reward_issued";
inline constexpr const char* kRewardRedeemed = "reward_redeemed";
inline constexpr const char* kRewardExpiring = "reward_expiring";
inline constexpr const char* kPointsExpiring = "points_expiring";
/// A reply of the conversation (payload: selfservice::to_json(Answer)).
inline constexpr const char* kReply = "reply";

/// A notification with what its sending depends on, as loaded in its tenant's transaction.
struct Pending {
  std::string kind;                                   ///< notifications.template
  nlohmann::json payload = nlohmann::json::object();  ///< for a notice: reward_name, code, pin...
  std::string valid_until;  ///< the reward's expiry as YYYY-MM-DD in the tenant's time zone
  std::string recipient;    ///< a reply's wa_id
  std::string phone;        ///< the customer's (E.164), for a notice
  std::string customer_status;
  bool consent = false;
  bool in_window = false;  ///< the customer wrote within 24 hours
  std::string language;    ///< the customer's, else the tenant's, else en
  std::string merchant;
  std::string number_id;  ///< the tenant's WhatsApp number, empty when it has none
  nlohmann::json route_config = nlohmann::json::object();  ///< {"templates": {kind: {...}}}
};

struct Composed {
  enum class Action { send, cancel, fail };
  Action action = Action::send;
  nlohmann::json body;  ///< the Graph API request body, when sending
  std::string sent_as;  ///< "message" or "template"
  std::string reason;   ///< why not sent: for notifications.last_error and the operator
};

/// Pure; never throws for data it can be given (a malformed payload fails the notification).
Composed compose(const Pending& pending);

}  // namespace loyalty::notices
