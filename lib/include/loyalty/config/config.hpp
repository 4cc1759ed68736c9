#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::config {

/// Every setting of both programs, resolved. Defaults live in options(), not here.
struct Settings {
  std::string data_dir;  ///< --data-dir / LOYALTY_DATA_DIR
  std::string
      database_url;  ///< --database-url / LOYALTY_DATABASE_URL (owner role); empty = embedded
  std::string
      app_database_url;        ///< --app-database-url / LOYALTY_APP_DATABASE_URL (loyalty_app role)
  std::string listen;          ///< --listen / LOYALTY_LISTEN (loyaltyd)
  int workers = 0;             ///< --workers / LOYALTY_WORKERS (loyaltyd)
  int worker_lease = 0;        ///< --worker-lease / LOYALTY_WORKER_LEASE: seconds (loyaltyd)
  int http_threads = 0;        ///< --http-threads / LOYALTY_HTTP_THREADS (loyaltyd)
  int request_timeout = 0;     ///< --request-timeout / LOYALTY_REQUEST_TIMEOUT: seconds
  int keep_alive_timeout = 0;  ///< --keep-alive-timeout / LOYALTY_KEEP_ALIVE_TIMEOUT: seconds
  int max_connections = 0;     ///< --max-connections / LOYALTY_MAX_CONNECTIONS
  int max_connections_per_ip = 0;  ///< --max-connections-per-ip / LOYALTY_MAX_CONNECTIONS_PER_IP
  int pool_size = 0;               ///< --pool-size / LOYALTY_POOL_SIZE
  int event_group_max = 0;      ///< --event-group-max / LOYALTY_EVENT_GROUP_MAX: events per COMMIT
  int event_lanes = 0;          ///< --event-lanes / LOYALTY_EVENT_LANES: a tenant's groups at once
  std::string log_level;        ///< --log-level / LOYALTY_LOG_LEVEL
  std::string jwt_secrets;      ///< --jwt-secrets / LOYALTY_JWT_SECRETS: JSON {"kid":"secret"}
  std::string jwt_active_kid;   ///< --jwt-kid / LOYALTY_JWT_KID: the key id that signs
  std::string hmac_keys_json;   ///< --hmac-keys / HMAC_KEYS_JSON
  int rate_limit_per_key = 0;   ///< --rate-limit / LOYALTY_RATE_LIMIT: requests/s per credential
  int rate_limit_per_ip = 0;    ///< --rate-limit-ip / LOYALTY_RATE_LIMIT_IP: requests/s per IP
  std::string trusted_proxies;  ///< --trusted-proxies / LOYALTY_TRUSTED_PROXIES: CIDR list
  std::string web_dir;          ///< --web-dir / LOYALTY_WEB_DIR: built dashboard
  std::string whatsapp_api_base;       ///< --whatsapp-api-base / LOYALTY_WHATSAPP_API_BASE
  std::string whatsapp_app_secret;     ///< --whatsapp-app-secret / LOYALTY_WHATSAPP_APP_SECRET
  std::string whatsapp_verify_token;   ///< --whatsapp-verify-token / LOYALTY_WHATSAPP_VERIFY_TOKEN
  std::string whatsapp_access_token;   ///< --whatsapp-access-token / LOYALTY_WHATSAPP_ACCESS_TOKEN
  std::string notice_retry_schedule;   ///< --notice-retry-schedule / LOYALTY_NOTICE_RETRY_SCHEDULE
  std::string ussd_secret;             ///< --ussd-secret / LOYALTY_USSD_SECRET
  std::string ussd_allowed_addresses;  ///< --ussd-allowed-addresses: CIDR list
  bool allow_private_webhooks =
      false;                         ///< --allow-private-webhooks / LOYALTY_ALLOW_PRIVATE_WEBHOOKS
  bool allow_http_webhooks = false;  ///< --allow-http-webhooks / LOYALTY_ALLOW_HTTP_WEBHOOKS
  std::string outbound_resolve;      ///< --outbound-resolve / LOYALTY_OUTBOUND_RESOLVE
  int webhook_timeout = 0;           ///< --webhook-timeout / LOYALTY_WEBHOOK_TIMEOUT: seconds
  std::string
      webhook_retry_schedule;   ///< --webhook-retry-schedule / LOYALTY_WEBHOOK_RETRY_SCHEDULE
  int webhook_concurrency = 0;  ///< --webhook-concurrency / LOYALTY_WEBHOOK_CONCURRENCY
  int webhook_concurrency_per_subscription =
      0;  ///< --webhook-concurrency-per-subscription / LOYALTY_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION
  int webhook_breaker = 0;           ///< --webhook-breaker / LOYALTY_WEBHOOK_BREAKER
  int webhook_breaker_cooldown = 0;  ///< --webhook-breaker-cooldown: seconds
  std::string backup_dir;            ///< --backup-dir / LOYALTY_BACKUP_DIR
  std::string backup_recipient;      ///< --backup-recipient / LOYALTY_BACKUP_RECIPIENT: age key
  std::string backup_identity;       ///< --backup-identity / LOYALTY_BACKUP_IDENTITY: key file
};

/// One setting: its flag, environment variable, default, and help text.
struct Option {
  std::string flag;  ///< without dashes, e.g. "data-dir"
  std::string env;
  std::string default_value;
  std::string help;
  bool daemon_only = false;
};

/// The single definition of every setting, in the order the README's table shows them.
const std::vector<Option>& options();

/// Resolves settings: flags given on the command line > environment > config file > defaults.
/// `flags` maps flag names (without dashes) to values the user gave; `config_file`, when set,
/// is a file of `NAME=value` lines keyed by flag or environment name ('#' starts a comment).
/// Throws Error(invalid) for an unreadable config file or a malformed number.
Settings resolve(const std::map<std::string, std::string>& flags,
                 const std::optional<std::string>& config_file);

}  // namespace loyalty::config
