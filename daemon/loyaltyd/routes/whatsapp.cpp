// GET and POST /public/wa/webhook: the WhatsApp Cloud API's webhook. GET is Meta's verification
// handshake; POST carries messages and status updates, signed with the app secret
// (X-Hub-Signature-256), checked over the raw bytes before anything is parsed. The work itself
// is queued (lib/whatsapp/inbox) so Meta gets its 200 at once.
#include "edge.hpp"
#include "server.hpp"

#include <loyalty/auth/hub_signature.hpp>
#include <loyalty/channels/routes.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/whatsapp/inbound.hpp>
#include <loyalty/whatsapp/inbox.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>

namespace loyaltyd {

namespace {

constexpr std::size_t kMaxChallenge = 256;
constexpr auto kSecretsFor = std::chrono::seconds(30);

Reply refused(int status, const std::string& type, const std::string& title,
              const std::string& detail, const Request& req) {
  return problem(status, type, title, detail, req.request_id);
}

/// The numbers' own app secrets (loyaltyctl channel add --app-secret-file), read from their files
/// at most every 30 seconds: a stranger's requests cannot make the daemon read files.
class NumberSecrets {
 public:
  std::vector<std::pair<std::string, std::string>> get(loyalty::db::Database& db) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (loaded_ && now - loaded_at_ < kSecretsFor) return secrets_;
    std::vector<std::pair<std::string, std::string>> fresh;
    for (const auto& [number, path] : loyalty::channels::whatsapp_secret_files(db)) {
      std::string secret = loyalty::channels::read_secret_file(path);
      if (secret.empty()) {
        spdlog::warn(R"("msg":"whatsapp.secret_unreadable","number":{})",
                     loyalty::log::quote(number));
        continue;
      }
      fresh.emplace_back(number, std::move(secret));
    }
    secrets_ = std::move(fresh);
    loaded_ = true;
    loaded_at_ = now;
    return secrets_;
  }

 private:
  std::mutex mutex_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point loaded_at_;
  std::vector<std::pair<std::string, std::string>> secrets_;
};

Reply handshake(App& app, Request& req) {
  const std::string& expected = app.settings.whatsapp_verify_token;
  if (expected.empty() || req.query("hub.mode") != "subscribe" ||
      !loyalty::crypto::constant_time_equals(req.query("hub.verify_token"), expected)) {
    return refused(403, "whatsapp-verification-refused", "Forbidden",
                   "hub.mode must be subscribe and hub.verify_token the configured token", req);
  }
  const std::string challenge = req.query("hub.challenge");
  const bool plain = std::all_of(challenge.begin(), challenge.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (challenge.empty() || challenge.size() > kMaxChallenge || !plain) {
    return refused(400, "whatsapp-challenge-invalid", "Bad Request",
                   "hub.challenge must be 1 to 256 letters, digits, '-', '_' or '.'", req);
  }
  return Reply::text(200, challenge);
}

Reply notifications(App& app, NumberSecrets& number_secrets, Request& req) {
  // The signature first: nothing of the body is read until it matches.
  const std::string header = req.header(std::string(loyalty::auth::kHubSignatureHeader));
  const std::string& body = req.raw.body;
  auto numbers = number_secrets.get(*app.db);
  if (app.settings.whatsapp_app_secret.empty() && numbers.empty()) {
    return refused(403, "whatsapp-not-configured", "Forbidden",
                   "no WhatsApp app secret is configured (--whatsapp-app-secret)", req);
  }
  auto signed_with = [&](const std::string& secret) {
    return loyalty::auth::verify_hub_signature(secret, body, header);
  };
  bool by_app =
      !app.settings.whatsapp_app_secret.empty() && signed_with(app.settings.whatsapp_app_secret);
  std::vector<std::string> by_number;
  if (!by_app) {
    for (const auto& [number, secret] : numbers) {
      if (signed_with(secret)) by_number.push_back(number);
    }
  }
  if (!by_app && by_number.empty()) {
    return refused(401, "whatsapp-signature-invalid", "Unauthorized",
                   "X-Hub-Signature-256 is missing or does not match the body", req);
  }
  loyalty::whatsapp::Batch batch;
  try {
    batch = loyalty::whatsapp::parse_webhook(body);
  } catch (const loyalty::Error& e) {
    return problem(e, req.request_id);
  }
  auto allowed = [&](const std::string& number) {
    return by_app || std::find(by_number.begin(), by_number.end(), number) != by_number.end();
  };
  auto accepted = loyalty::whatsapp::accept(*app.db, batch, allowed);
  return Reply::json(200, {{"queued", accepted.queued},
                           {"duplicates", accepted.duplicates},
                           {"statuses", accepted.statuses},
                           {"unrouted", accepted.unrouted}});
}

void add_whatsapp_routes(Server& server, App& app) {
  static NumberSecrets number_secrets;
  server.add({"GET", "/public/wa/webhook", kPublic,
              [&app](Request& req) { return handshake(app, req); },
              "WhatsApp webhook verification handshake"});
  server.add({"POST", "/public/wa/webhook", kPublic,
              [&app](Request& req) { return notifications(app, number_secrets, req); },
              "WhatsApp Cloud API webhook (messages and status updates)"});
}

const RouteGroup kWhatsappRoutes(add_whatsapp_routes);

}  // namespace

}  // namespace loyaltyd
