#pragma once
// What every part of the daemon shares: settings, the database, metrics.

#include "metrics.hpp"
#include "web.hpp"

#include <loyalty/auth/request_signing.hpp>
#include <loyalty/auth/sessions.hpp>
#include <loyalty/config/config.hpp>
#include <loyalty/core/proxies.hpp>
#include <loyalty/core/rate_limit.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/notices/sender.hpp>
#include <loyalty/outbound/address.hpp>
#include <loyalty/webhooks/dispatcher.hpp>

#include <atomic>
#include <memory>

namespace loyaltyd {

struct App {
  loyalty::config::Settings settings;
  std::unique_ptr<loyalty::db::Database> db;  ///< as loyalty_app: tenant work under RLS
  Metrics metrics;
  /// The merchant dashboard's files (--web-dir), or null when it is not built.
  std::unique_ptr<const WebAssets> web;
  std::unique_ptr<loyalty::auth::SessionService> sessions;
  std::unique_ptr<loyalty::auth::RequestVerifier> hmac;  ///< null without HMAC_KEYS_JSON
  std::unique_ptr<loyalty::TokenBucketLimiter> per_credential;
  std::unique_ptr<loyalty::TokenBucketLimiter> per_ip;
  /// Whose X-Forwarded-For names the client (--trusted-proxies); empty trusts no one.
  loyalty::TrustedProxies trusted_proxies;
  /// Where the USSD gateway may call from (--ussd-allowed-addresses); empty allows any address.
  loyalty::TrustedProxies ussd_gateways;
  loyalty::events::RulesCache rules_cache;
  /// The POS events, committed in groups (created once the database is open).
  std::unique_ptr<loyalty::events::EventGroups> events;
  loyalty::outbound::AddressPolicy webhook_policy;  ///< where subscriptions may point
  /// Sends the tenants' webhooks (started with --workers > 0); test sends use it either way.
  std::unique_ptr<loyalty::webhooks::Dispatcher> webhooks;
  /// Sends customers their notices and replies over WhatsApp (started with --workers > 0).
  std::unique_ptr<loyalty::notices::Sender> notices;
  std::atomic<bool> worker_alive{true};
  /// The background worker while it exists (null with --workers 0), for /metrics.
  std::atomic<const loyalty::jobs::Worker*> worker{nullptr};
  std::atomic<bool> stopping{false};
};

}  // namespace loyaltyd
