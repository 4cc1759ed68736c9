#pragma once
// The webhook and outbound settings of both programs, from config::Settings.

#include <loyalty/config/config.hpp>
#include <loyalty/outbound/address.hpp>
#include <loyalty/webhooks/dispatcher.hpp>

namespace loyalty::webhooks {

/// --allow-http-webhooks, --allow-private-webhooks and --outbound-resolve
/// ("host:port:address,..."). Throws Error(invalid) on a malformed --outbound-resolve.
outbound::AddressPolicy address_policy(const config::Settings& settings);

/// The dispatcher's options from the --webhook-* settings. Throws Error(invalid) on a bad
/// --webhook-retry-schedule or a zero timeout or concurrency.
DispatcherOptions dispatcher_options(const config::Settings& settings);

}  // namespace loyalty::webhooks
