// The USSD menu: a session's inputs walked screen by screen from the state kept in
// channel_sessions, then the screen they lead to.
#include "db/tx.hpp"
#include "selfservice/internal.hpp"

#include <loyalty/selfservice/ussd.hpp>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <optional>

namespace loyalty::selfservice::ussd {

namespace {

using nlohmann::json;

constexpr int kSessionSeconds = 300;

const db::Query kLoad{"ussd_load",
                      "SELECT state::text FROM channel_sessions WHERE tenant_id = $1::uuid AND "
                      "channel = 'ussd' AND session_key = $2 AND expires_at > now()"};
const db::Query kSave{"ussd_save", R"sql(
INSERT INTO channel_sessions (tenant_id, channel, session_key, customer_id, state, expires_at)
VALUES ($1::uuid, 'ussd', $2, nullif($3, '')::uuid, $4::jsonb,
        now() + make_interval(secs => $5))
ON CONFLICT (tenant_id, channel, session_key) DO UPDATE
   SET customer_id = excluded.customer_id, state = excluded.state, updated_at = now(),
       expires_at = excluded.expires_at)sql"};
const db::Query kEnd{"ussd_end",
                     "DELETE FROM channel_sessions WHERE tenant_id = $1::uuid AND channel = "
                     "'ussd' AND session_key = $2"};
// Sessions the gateway never ended, a hundred at a time when a session starts.
const db::Query kSweep{"ussd_sweep", R"sql(
DELETE FROM channel_sessions WHERE ctid IN (
  SELECT ctid FROM channel_sessions
   WHERE tenant_id = $1::uuid AND expires_at < now() LIMIT 100))sql"};

/// Where a session is: the screen, the screens "0" goes back to, how many inputs are taken.
struct State {
  std::string phone;
  std::string screen = "main";
  std::vector<std::string> back;
  std::size_t seen = 0;
  std::size_t page = 0;
  std::string reward;    ///< the issuance a reward screen shows
  std::string offer;     ///< the reward a claim screen offers for points
  std::string language;  ///< a guest's choice (a member's is on the customer)
};

json to_json(const State& s) {
  return {{"phone", s.phone}, {"screen", s.screen}, {"back", s.back},         {"seen", s.seen},
          {"page", s.page},   {"reward", s.reward}, {"language", s.language}, {"offer", s.offer}};
}

State from_json(const json& j) {
  State s;
  s.phone = j.value("phone", "");
  s.screen = j.value("screen", "main");
  s.back = j.value("back", std::vector<std::string>{});
  s.seen = j.value("seen", std::size_t{0});
  s.page = j.value("page", std::size_t{0});
  s.reward = j.value("reward", "");
  s.language = j.value("language", "");
  s.offer = j.value("offer", "");
  return s;
}

std::optional<std::size_t> choice(const std::string& input) {
  if (input.empty() || input.size() > 2 ||
      input.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoul(input);
}

/// Thrown by a walk that reads only (in the caller's transaction) when an input asks for an
/// action — joining, opting out, a language, a PIN — which takes transactions of its own.
struct NeedsAction {};

/// One session's walk: the member behind the phone, the rewards when a screen needs them. With
/// `reads` it reads in that transaction and throws NeedsAction instead of acting.
class Walk {
 public:
  Walk(db::Database& db, const Merchant& m, const Request& r, State& s,
       std::optional<Member> member, db::Tx* reads = nullptr)
      : db_(db), merchant_(m), request_(r), s_(s), member_(std::move(member)), reads_(reads) {}

  /// Takes one input; a reply when it ends the session.
  std::optional<Reply> take(const std::string& input) {
    invalid_ = false;
    if (input == "00") return go_main();
    if (input == "0" && s_.screen != "main") {
      s_.screen = s_.back.empty() ? "main" : s_.back.back();
      if (!s_.back.empty()) s_.back.pop_back();
      s_.page = 0;
      return std::nullopt;
    }
    const auto n = choice(input);
    if (s_.screen == "main") return on_main(n);
    if (s_.screen == "join")
      return on_yes_no(
          n, [&] { return do_join(); }, "join_declined");
    if (s_.screen == "opt_out")
      return on_yes_no(
          n, [&] { return do_opt_out(); }, "stayed");
    if (s_.screen == "language") return on_language(n);
    if (s_.screen == "rewards" || s_.screen == "redeem" || s_.screen == "claims")
      return on_list(n, input);
    if (s_.screen == "reward") return on_reward(n);
    if (s_.screen == "claim") return on_claim(n);
    invalid_ = true;  // points and help take only 0 and 00
    return std::nullopt;
  }

  /// Takes the inputs the session has not seen yet; a reply when one ends the session.
  std::optional<Reply> take_new(const std::vector<std::string>& inputs) {
    std::optional<Reply> ended;
    for (std::size_t i = s_.seen; i < inputs.size() && !ended; ++i) ended = take(inputs[i]);
    s_.seen = inputs.size();
    return ended;
  }

  /// The screen the session is on now, its data read in `tx`.
  Reply show(db::Tx& tx) {
    const Screens sc = screens();
    std::string body;
    if (s_.screen == "main") {
      if (member_ && member_->status == "suspended") return end(sc.text("suspended"));
      body = is_member() ? sc.main_member() : sc.main_guest();
    } else if (s_.screen == "join") {
      body = sc.join_confirm();
    } else if (s_.screen == "points") {
      body = sc.points(points_in(tx, merchant_, member_->customer_id));
    } else if (s_.screen == "rewards") {
      body = sc.list("rewards_title", items(&tx), s_.page);
    } else if (s_.screen == "redeem") {
      body = sc.redeem_list(items(&tx), !offers(&tx).empty(), s_.page);
    } else if (s_.screen == "claims") {
      body = sc.claim_list(offers(&tx), s_.page);
    } else if (s_.screen == "claim") {
      offers(&tx);
      auto o = find_offer(s_.offer);
      body = o ? sc.claim_confirm(*o, points_in(tx, merchant_, member_->customer_id).balance)
               : sc.main_member();
    } else if (s_.screen == "reward") {
      items(&tx);
      auto r = find_reward(s_.reward);
      body = r ? sc.reward(*r) : sc.main_member();
    } else if (s_.screen == "language") {
      body = sc.languages();
    } else if (s_.screen == "opt_out") {
      body = sc.opt_out_confirm();
    } else {
      body = sc.help();
    }
    if (invalid_) body = sc.text("invalid_choice") + "\n" + body;
    return Reply{false, body};
  }

  std::string customer_id() const { return member_ ? member_->customer_id : ""; }

 private:
  bool is_member() const { return member_ && member_->status == "active"; }

  /// A choice made in this session, else the customer's (opted out too), else the merchant's.
  std::string language() const {
    if (!s_.language.empty()) return s_.language;
    return member_ ? member_->language : merchant_.language;
  }

  Screens screens() const { return Screens(language(), merchant_.name, request_.service_code); }

  Reply end(std::string text) const { return Reply{true, std::move(text)}; }

  void forward(const std::string& screen) {
    s_.back.push_back(s_.screen);
    s_.screen = screen;
    s_.page = 0;
  }

  std::optional<Reply> go_main() {
    s_.screen = "main";
    s_.back.clear();
    s_.page = 0;
    return std::nullopt;
  }

  std::optional<Reply> on_main(std::optional<std::size_t> n) {
    static const std::vector<std::string> kMember = {"points",   "rewards", "redeem",
                                                     "language", "opt_out", "help"};
    static const std::vector<std::string> kGuest = {"join", "language", "help"};
    const auto& entries = is_member() ? kMember : kGuest;
    if (member_ && member_->status == "suspended") return end(screens().text("suspended"));
    if (!n || *n < 1 || *n > entries.size()) {
      invalid_ = true;
      return std::nullopt;
    }
    forward(entries[*n - 1]);
    return std::nullopt;
  }

  template <typename Yes>
  std::optional<Reply> on_yes_no(std::optional<std::size_t> n, Yes yes, const char* no_key) {
    if (n == 1u) return yes();
    if (n == 2u) return end(screens().text(no_key));
    invalid_ = true;
    return std::nullopt;
  }

  void act() const {
    if (reads_) throw NeedsAction{};
  }

  std::optional<Reply> do_join() {
    act();
    member_ = join(db_, merchant_, request_.phone, "ussd");
    if (!s_.language.empty() && s_.language != member_->language) {
      set_language(db_, merchant_, member_->customer_id, s_.language);
      member_->language = s_.language;
    }
    return end(screens().text("joined"));
  }

  std::optional<Reply> do_opt_out() {
    act();
    opt_out(db_, merchant_, member_->customer_id, "ussd");
    return end(screens().text("opted_out"));
  }

  std::optional<Reply> on_language(std::optional<std::size_t> n) {
    const auto& codes = Catalogue::builtin().languages();
    if (!n || *n < 1 || *n > codes.size()) {
      invalid_ = true;
      return std::nullopt;
    }
    const std::string& code = codes[*n - 1];
    if (is_member()) {
      act();
      set_language(db_, merchant_, member_->customer_id, code);
      member_->language = code;
    }
    s_.language = code;
    return go_main();
  }

  std::optional<Reply> on_list(std::optional<std::size_t> n, const std::string& input) {
    const bool claims = s_.screen == "claims";
    const auto& all = claims ? std::vector<Reward>{} : items();
    // The redeem list ends with "Spend points" when there is something to claim.
    const std::size_t size =
        claims ? offers().size() : all.size() + (s_.screen == "redeem" && !offers().empty());
    const std::size_t from = s_.page * Screens::kPageSize;
    if (input == "9" && size > from + Screens::kPageSize) {
      ++s_.page;
      return std::nullopt;
    }
    if (!n || *n < 1 || *n > Screens::kPageSize || from + *n > size) {
      invalid_ = true;
      return std::nullopt;
    }
    if (claims) {
      s_.offer = offers()[from + *n - 1].reward_id;
      forward("claim");
      return std::nullopt;
    }
    if (from + *n > all.size()) {
      forward("claims");
      return std::nullopt;
    }
    const Reward& picked = all[from + *n - 1];
    if (s_.screen == "redeem") {
      if (picked.pin_required) return give_pin(picked);
      // The reward's screen without its way back: the session ends on it.
      const std::string shown = screens().reward(picked);
      return end(shown.substr(0, shown.rfind("\n0. ")));
    }
    s_.reward = picked.issuance_id;
    forward("reward");
    return std::nullopt;
  }

  /// The claim screen: 1 claims (when the balance affords it), 2 goes back.
  std::optional<Reply> on_claim(std::optional<std::size_t> n) {
    if (n == 2u) return take("0");
    auto o = find_offer(s_.offer);
    if (o && n == 1u) return do_claim(*o);
    invalid_ = true;
    return std::nullopt;
  }

  std::optional<Reply> do_claim(const Offer& o) {
    // A balance too small shows on the screen with no 1 to pick: only the claim says so here.
    act();
    auto claimed = claim(db_, merchant_, member_->customer_id, o.reward_id, "ussd");
    if (!claimed.reward) return end(screens().claim_refused(o, claimed.balance, claimed.refused));
    std::string pin;
    if (claimed.reward->pin_required) {
      pin = fresh_pin(db_, merchant_, member_->customer_id, claimed.reward->issuance_id, "ussd");
    }
    return end(screens().claimed(o, claimed.balance, *claimed.reward, pin));
  }

  std::optional<Reply> on_reward(std::optional<std::size_t> n) {
    auto r = find_reward(s_.reward);
    if (r && r->pin_required && n == 1u) return give_pin(*r);
    invalid_ = true;
    return std::nullopt;
  }

  Reply give_pin(const Reward& r) {
    act();
    const std::string pin = fresh_pin(db_, merchant_, member_->customer_id, r.issuance_id, "ussd");
    return end(screens().pin(r, pin));
  }

  /// The member's rewards, read once per callback (in `tx` when given).
  const std::vector<Reward>& items(db::Tx* tx = nullptr) {
    if (!tx) tx = reads_;
    if (!items_) {
      items_ = tx ? rewards_in(*tx, merchant_, member_->customer_id)
                  : rewards(db_, merchant_, member_->customer_id);
    }
    return *items_;
  }

  /// What the member can claim with points, read once per callback (in `tx` when given).
  const std::vector<Offer>& offers(db::Tx* tx = nullptr) {
    if (!tx) tx = reads_;
    if (!offers_) offers_ = tx ? offers_in(*tx, merchant_) : selfservice::offers(db_, merchant_);
    return *offers_;
  }

  std::optional<Offer> find_offer(const std::string& reward_id) {
    for (const auto& o : offers())
      if (o.reward_id == reward_id) return o;
    return std::nullopt;
  }

  std::optional<Reward> find_reward(const std::string& id) {
    for (const auto& r : items())
      if (r.issuance_id == id) return r;
    return std::nullopt;
  }

  db::Database& db_;
  const Merchant& merchant_;
  const Request& request_;
  State& s_;
  std::optional<Member> member_;
  std::optional<std::vector<Reward>> items_;
  std::optional<std::vector<Offer>> offers_;
  bool invalid_ = false;
  db::Tx* reads_ = nullptr;
};

/// The session's state as saved, or a new one for this phone (a session id seen with another
/// phone, or state ahead of the inputs, starts afresh).
State resume(db::Tx& tx, const std::string& tenant_id, const Request& request,
             const std::vector<std::string>& taken) {
  State state;
  bool resumed = false;
  auto rows = tx.exec(kLoad, tenant_id, request.session_id);
  if (!rows.empty()) {
    state = from_json(json::parse(rows[0][0].as<std::string>()));
    resumed = state.phone == request.phone && state.seen <= taken.size();
  }
  if (rows.empty() || state.phone != request.phone) tx.exec(kSweep, tenant_id);
  if (!resumed) {
    state = State{};
    state.phone = request.phone;
  }
  return state;
}

/// The screen the walk ended on, and the session saved (or removed when it ended), in `tx`.
Reply finish(db::Tx& tx, const std::string& tenant_id, const Request& request, Walk& walk,
             const State& state, const std::optional<Reply>& ended) {
  Reply reply = ended ? *ended : walk.show(tx);
  if (reply.end) {
    tx.exec(kEnd, tenant_id, request.session_id);
  } else {
    tx.exec(kSave, tenant_id, request.session_id, walk.customer_id(), to_json(state).dump(),
            kSessionSeconds);
  }
  return reply;
}

}  // namespace

Reply answer(db::Database& database, const std::string& tenant_id, const Request& request) {
  const auto taken = inputs(request.text);
  // Most callbacks only move through the menu: one transaction reads and saves.
  try {
    return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
      const Merchant merchant = merchant_in(tx, tenant_id);
      State state = resume(tx, tenant_id, request, taken);
      Walk walk(database, merchant, request, state, find_member_in(tx, merchant, request.phone),
                &tx);
      const auto ended = walk.take_new(taken);
      return finish(tx, tenant_id, request, walk, state, ended);
    });
  } catch (const NeedsAction&) {
    // Rolled back, nothing written: the walk again, acting in transactions of its own.
  }
  State state;
  std::optional<Member> member;
  const Merchant merchant = db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    Merchant m = merchant_in(tx, tenant_id);
    state = resume(tx, tenant_id, request, taken);
    member = find_member_in(tx, m, request.phone);
    return m;
  });
  Walk walk(database, merchant, request, state, std::move(member));
  const auto ended = walk.take_new(taken);
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return finish(tx, tenant_id, request, walk, state, ended);
  });
}

bool end_session(db::Database& database, const std::string& tenant_id,
                 const std::string& session_id) {
  return db::with_tenant(database, tenant_id, [&](db::Tx& tx) {
    return tx.exec(kEnd, tenant_id, session_id).affected_rows() > 0;
  });
}

}  // namespace loyalty::selfservice::ussd
