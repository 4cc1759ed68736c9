#include "db/tx.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/notices/compose.hpp>
#include <loyalty/notices/sender.hpp>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <tuple>

namespace loyalty::notices {

namespace {

using db::Query;

const Query kClaim{"ntc_claim",
                   "SELECT id::text, tenant_id::text, attempts FROM notifications_claim($1, $2)"};
// The notification with what its sending depends on; the tenant's first WhatsApp number.
const Query kLoad{"ntc_load", R"sql(
SELECT n.template, n.payload::text, coalesce(n.recipient, ''), coalesce(c.phone, ''),
       coalesce(c.status, ''), c.consent_at IS NOT NULL,
       coalesce(c.language, nullif(t.settings->>'language', ''), 'en'),
       coalesce(c.whatsapp_seen_at > now() - interval '24 hours', false),
       t.name, coalesce(r.address, ''), coalesce(r.config::text, '{}'),
       coalesce(to_char((n.payload->>'expires_at')::timestamptz AT TIME ZONE t.timezone,
                        'YYYY-MM-DD'), '')
  FROM notifications n JOIN tenants t ON t.id = n.tenant_id
  LEFT JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
  LEFT JOIN LATERAL (SELECT address, config FROM channel_routes
                      WHERE tenant_id = n.tenant_id AND channel = 'whatsapp'
                      ORDER BY created_at, address LIMIT 1) r ON true
 WHERE n.tenant_id = $1::uuid AND n.id = $2::uuid AND n.status = 'queued' AND n.attempts = $3)sql"};
// Each outcome applies only while the row is still this attempt's (a sender whose lease ran out
// and was claimed again records nothing).
// What is kept of a payload once sent or failed: a notice's facts without its PIN; nothing of a
// reply (its text may hold a fresh PIN).
#define NTC_FORGET "CASE template WHEN 'reply' THEN '{}'::jsonb ELSE payload - 'pin' END"
#define NTC_MINE \
  "WHERE tenant_id = $1::uuid AND id = $2::uuid AND attempts = $3 AND status = 'queued'"
const Query kSent{"ntc_sent",
                  "UPDATE notifications SET status = 'sent', provider_message_id = $4, sent_as = "
                  "$5, sent_at = now(), payload = " NTC_FORGET
                  ", recipient = NULL, last_error = "
                  "NULL, error_code = NULL, updated_at = now() " NTC_MINE};
const Query kRetry{
    "ntc_retry",
    "UPDATE notifications SET next_attempt_at = now() + make_interval(secs => "
    "$4::double precision), last_error = $5, error_code = $6, updated_at = now() " NTC_MINE};
const Query kAsTemplate{"ntc_as_template",
                        "UPDATE notifications SET payload = payload || '{\"outside_window\": "
                        "true}'::jsonb, next_attempt_at = now(), last_error = $4, error_code = "
                        "131047, updated_at = now() " NTC_MINE};
const Query kFinal{"ntc_final",
                   "UPDATE notifications SET status = $4, last_error = $5, error_code = $6, "
                   "payload = " NTC_FORGET ", recipient = NULL, updated_at = now() " NTC_MINE};
#undef NTC_MINE
#undef NTC_FORGET

}  // namespace

struct Sender::State {
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<long long> sent{0}, retried{0}, failed{0}, cancelled{0}, errors{0};
};

Sender::Sender(db::Database& db, SenderOptions options)
    : db_(db),
      options_(std::move(options)),
      graph_(std::make_unique<whatsapp::GraphClient>(options_.graph)),
      state_(std::make_unique<State>()) {}

Sender::~Sender() { stop(); }

void Sender::start() {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

void Sender::stop() {
  state_->stopping = true;
  state_->wake.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

SenderStats Sender::stats() const {
  return {state_->sent, state_->retried, state_->failed, state_->cancelled, state_->errors};
}

void Sender::run() {
  int failures = 0;
  while (!state_->stopping) {
    std::vector<std::tuple<std::string, std::string, int>> claimed;
    try {
      claimed = db::with_tx(db_, [&](db::Tx& tx) {
        std::vector<std::tuple<std::string, std::string, int>> out;
        for (const auto& r :
             tx.exec(kClaim, options_.batch, static_cast<int>(options_.lease.count()))) {
          out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int>());
        }
        return out;
      });
      failures = 0;
    } catch (const std::exception& e) {
      ++state_->errors;
      failures = std::min(failures + 1, 20);
      spdlog::debug(R"("msg":"notices.claim_failed",{})", db::error_log_fields(e));
    }
    for (const auto& [id, tenant, attempt] : claimed) {
      try {
        deliver(tenant, id, attempt);
      } catch (const std::exception& e) {
        // Left to its lease: it comes due again and is retried then.
        ++state_->errors;
        spdlog::warn(R"("msg":"notices.record_failed","tenant":{},"notification":{},{})",
                     log::quote(tenant), log::quote(id), db::error_log_fields(e));
      }
    }
    if (!claimed.empty()) continue;
    std::unique_lock lock(state_->mutex);
    state_->wake.wait_for(lock, options_.idle_poll * std::max(1, failures),
                          [this] { return state_->stopping.load(); });
  }
}

void Sender::deliver(const std::string& tenant, const std::string& id, int attempt) {
  auto rows =
      db::with_tenant(db_, tenant, [&](db::Tx& tx) { return tx.exec(kLoad, tenant, id, attempt); });
  if (rows.empty()) return;
  const auto& r = rows[0];
  Pending p;
  p.kind = r[0].as<std::string>();
  p.payload = nlohmann::json::parse(r[1].as<std::string>(), nullptr, false);
  if (!p.payload.is_object()) p.payload = nlohmann::json::object();
  p.recipient = r[2].as<std::string>();
  p.phone = r[3].as<std::string>();
  p.customer_status = r[4].as<std::string>();
  p.consent = r[5].as<bool>();
  p.language = r[6].as<std::string>();
  p.in_window = r[7].as<bool>();
  p.merchant = r[8].as<std::string>();
  p.number_id = r[9].as<std::string>();
  p.route_config = nlohmann::json::parse(r[10].as<std::string>(), nullptr, false);
  if (!p.route_config.is_object()) p.route_config = nlohmann::json::object();
  p.valid_until = r[11].as<std::string>();

  auto record = [&](const Query& q, auto&&... args) {
    db::with_tenant(db_, tenant, [&](db::Tx& tx) { tx.exec(q, tenant, id, attempt, args...); });
  };
  auto finish = [&](const char* status, const std::string& reason, std::optional<long long> code) {
    record(kFinal, std::string(status), reason, code);
    ++(std::string_view(status) == "cancelled" ? state_->cancelled : state_->failed);
    spdlog::info(R"("msg":"notices.{}","tenant":{},"notification":{},"kind":{},"reason":{})",
                 status, log::quote(tenant), log::quote(id), log::quote(p.kind),
                 log::quote(reason));
  };

  Composed c = compose(p);
  if (c.action != Composed::Action::send) {
    return finish(c.action == Composed::Action::cancel ? "cancelled" : "failed", c.reason,
                  std::nullopt);
  }
  std::string token = options_.default_access_token;
  if (auto file = p.route_config.value("access_token_file", std::string()); !file.empty()) {
    token = channels::read_secret_file(file);
  }
  if (token.empty()) {
    return finish("failed", "no Graph API access token for number " + p.number_id, std::nullopt);
  }
  whatsapp::SendResult result;
  try {
    result = graph_->send(p.number_id, token, c.body);
  } catch (const Error& e) {
    return finish("failed", e.what(), std::nullopt);
  }
  std::optional<long long> code;
  if (result.error.code != 0) code = result.error.code;
  switch (result.status) {
    case whatsapp::SendStatus::sent:
      record(kSent, result.wamid, c.sent_as);
      ++state_->sent;
      return;
    case whatsapp::SendStatus::window_closed:
      // Meta's clock says the window has closed: a notice goes again as its template; a reply
      // cannot (the customer has to write again).
      if (p.kind != kReply && c.sent_as == "message") {
        record(kAsTemplate, result.detail);
        ++state_->retried;
        return;
      }
      return finish("failed", result.detail, code);
    case whatsapp::SendStatus::retryable:
      if (auto delay = whatsapp::retry_delay(result, options_.retry, attempt)) {
        record(kRetry, static_cast<double>(delay->count()) / 1000.0, result.detail, code);
        ++state_->retried;
        return;
      }
      return finish("failed", result.detail + " (attempts used up)", code);
    case whatsapp::SendStatus::permanent:
      return finish("failed", result.detail, code);
  }
}

}  // namespace loyalty::notices
