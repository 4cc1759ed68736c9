#pragma once
// The USSD front end of the self-service core (Africa's Talking callback protocol): a request
// carries every input of the session joined by '*'; each answer is a screen of at most 160 GSM-7
// characters that continues ("CON ") or ends ("END ") the session. The menu state lives in
// channel_sessions, keyed by the gateway's sessionId, for a few minutes.

#include <loyalty/selfservice/catalogue.hpp>
#include <loyalty/selfservice/members.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::selfservice::ussd {

/// The most characters of one screen (GSM 03.38 allows 182 in 160 octets; 160 fits every
/// operator, the prefix not counted).
inline constexpr std::size_t kScreenLimit = 160;

struct Request {
  std::string session_id;
  std::string service_code;
  std::string phone;  ///< E.164
  std::string text;   ///< the session's inputs joined by '*'
};

struct Reply {
  bool end = false;
  std::string screen;
  /// "CON <screen>" or "END <screen>", as the gateway wants it.
  std::string wire() const { return (end ? "END " : "CON ") + screen; }
};

/// A callback is a few short fields.
inline constexpr std::size_t kMaxCallbackBytes = 4096;
inline constexpr std::size_t kMaxField = 200;  ///< a sessionId, a number, a service code
inline constexpr std::size_t kMaxText = 1000;  ///< every input of a long session

/// A gateway callback's form body (sessionId, serviceCode, phoneNumber, text; others ignored).
/// Error(invalid, "malformed-callback") when sessionId, serviceCode or phoneNumber is missing, a
/// field is too long, or a decoded field is not UTF-8 or holds a control character (text may
/// not hold a line break either). `phone` comes back in E.164 ("+" added when the gateway left
/// it out), or empty when it is no phone number.
Request parse_callback(std::string_view form);

/// The end-of-session notification's form (sessionId, serviceCode, status, errorMessage): the
/// same checks; status and errorMessage are cut to 20 and 200 characters.
struct SessionEnd {
  std::string session_id;
  std::string service_code;
  std::string status;  ///< Success, Incomplete, Failed...
  std::string error_message;
};
SessionEnd parse_session_end(std::string_view form);

/// A session's inputs: its text split at '*' (none for ""; "1**3" is "1", "", "3").
std::vector<std::string> inputs(std::string_view text);

/// Answers one callback for the tenant that owns the service code. A callback that only moves
/// through the menu is one transaction: the merchant, the session and the member read, the
/// screen's data read and the session saved. One whose input acts (joining, opting out, a
/// language, a PIN) is walked again: the reads in one transaction, each action in its own, the
/// screen and the save in a last one.
Reply answer(db::Database& db, const std::string& tenant_id, const Request& request);

/// The gateway's end-of-session notification: the session's state is removed at once (a session
/// the customer abandoned, or that timed out, would otherwise wait out its 5 minutes). True
/// when there was one.
bool end_session(db::Database& db, const std::string& tenant_id, const std::string& session_id);

/// The characters `text` takes in GSM 03.38's default alphabet (an extension character counts
/// two), or -1 when a character is not in it.
long gsm7_length(std::string_view text);

/// `text` with every character outside GSM 03.38's basic set replaced by '?', cut to `max`
/// characters with "..." — for names the merchant chose, shown on a screen.
std::string gsm7_safe(std::string_view text, std::size_t max);

/// The screens, as pure functions of what they show (the tests render every one in every
/// language with the longest values allowed).
class Screens {
 public:
  Screens(std::string language, const std::string& merchant_name, std::string service_code);
  const std::string& language() const { return language_; }

  std::string main_guest() const;
  std::string main_member() const;
  std::string join_confirm() const;
  std::string text(std::string_view key, const Vars& vars = {}) const;
  std::string points(const Points& p) const;
  /// One page of a list (rewards or redeem) with "9. More" when there are more pages.
  std::string list(std::string_view title_key, const std::vector<Reward>& items,
                   std::size_t page) const;
  /// The redeem list: the customer's rewards, then "Spend points" when there are rewards to
  /// claim with points.
  std::string redeem_list(const std::vector<Reward>& items, bool offers, std::size_t page) const;
  /// The rewards to claim with points, each with its price.
  std::string claim_list(const std::vector<Offer>& offers, std::size_t page) const;
  /// A reward to claim with points: what it costs against the balance, and Yes/No when the
  /// balance affords it (else only the way back).
  std::string claim_confirm(const Offer& o, long long balance) const;
  /// A claim made: the points it cost, and the new reward's PIN (when it needs one) or code.
  std::string claimed(const Offer& o, long long balance, const Reward& r,
                      const std::string& pin) const;
  /// A claim refused (`refused` as selfservice::Claimed has it).
  std::string claim_refused(const Offer& o, long long balance, const std::string& refused) const;
  std::string reward(const Reward& r) const;
  std::string pin(const Reward& r, const std::string& pin) const;
  std::string languages() const;
  std::string opt_out_confirm() const;
  std::string help() const;

  static constexpr std::size_t kPageSize = 3;

 private:
  std::string page_of(std::string_view title_key, const std::vector<std::string>& labels,
                      std::size_t page) const;

  std::string language_;
  std::string merchant_;
  std::string service_code_;
};

}  // namespace loyalty::selfservice::ussd
