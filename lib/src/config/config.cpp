#include <loyalty/config/config.hpp>
#include <loyalty/core/error.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>

namespace loyalty::config {

namespace {

struct Binding {
  const char* flag;
  std::function<void(Settings&, const std::string&)> set;
};

int to_int(const std::string& flag, const std::string& value) {
  try {
    std::size_t used = 0;
    int n = std::stoi(value, &used);
    if (used != value.size() || n < 0) throw std::invalid_argument(value);
    return n;
  } catch (const std::exception&) {
    throw_invalid("--" + flag + " must be a non-negative integer, got '" + value + "'");
  }
}

bool to_bool(const std::string& value) {
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

const std::vector<Binding>& bindings() {
  static const std::vector<Binding> kBindings = {
      {"data-dir", [](Settings& s, const std::string& v) { s.data_dir = v; }},
      {"database-url", [](Settings& s, const std::string& v) { s.database_url = v; }},
      {"app-database-url", [](Settings& s, const std::string& v) { s.app_database_url = v; }},
      {"listen", [](Settings& s, const std::string& v) { s.listen = v; }},
      {"workers", [](Settings& s, const std::string& v) { s.workers = to_int("workers", v); }},
      {"worker-lease",
       [](Settings& s, const std::string& v) { s.worker_lease = to_int("worker-lease", v); }},
      {"http-threads",
       [](Settings& s, const std::string& v) { s.http_threads = to_int("http-threads", v); }},
      {"event-group-max",
       [](Settings& s, const std::string& v) {
         s.event_group_max = to_int("event-group-max", v);
       }},
      {"event-lanes",
       [](Settings& s, const std::string& v) { s.event_lanes = to_int("event-lanes", v); }},
      {"request-timeout",
       [](Settings& s, const std::string& v) { s.request_timeout = to_int("request-timeout", v); }},
      {"keep-alive-timeout",
       [](Settings& s, const std::string& v) {
         s.keep_alive_timeout = to_int("keep-alive-timeout", v);
       }},
      {"max-connections",
       [](Settings& s, const std::string& v) { s.max_connections = to_int("max-connections", v); }},
      {"max-connections-per-ip",
       [](Settings& s, const std::string& v) {
         s.max_connections_per_ip = to_int("max-connections-per-ip", v);
       }},
      {"pool-size",
       [](Settings& s, const std::string& v) { s.pool_size = to_int("pool-size", v); }},
      {"log-level", [](Settings& s, const std::string& v) { s.log_level = v; }},
      {"jwt-secrets", [](Settings& s, const std::string& v) { s.jwt_secrets = v; }},
      {"jwt-kid", [](Settings& s, const std::string& v) { s.jwt_active_kid = v; }},
      {"hmac-keys", [](Settings& s, const std::string& v) { s.hmac_keys_json = v; }},
      {"rate-limit",
       [](Settings& s, const std::string& v) { s.rate_limit_per_key = to_int("rate-limit", v); }},
      {"rate-limit-ip",
       [](Settings& s, const std::string& v) { s.rate_limit_per_ip = to_int("rate-limit-ip", v); }},
      {"trusted-proxies", [](Settings& s, const std::string& v) { s.trusted_proxies = v; }},
      {"web-dir", [](Settings& s, const std::string& v) { s.web_dir = v; }},
      {"whatsapp-api-base", [](Settings& s, const std::string& v) { s.whatsapp_api_base = v; }},
      {"whatsapp-app-secret", [](Settings& s, const std::string& v) { s.whatsapp_app_secret = v; }},
      {"whatsapp-verify-token",
       [](Settings& s, const std::string& v) { s.whatsapp_verify_token = v; }},
      {"whatsapp-access-token",
       [](Settings& s, const std::string& v) { s.whatsapp_access_token = v; }},
      {"notice-retry-schedule",
       [](Settings& s, const std::string& v) { s.notice_retry_schedule = v; }},
      {"ussd-secret", [](Settings& s, const std::string& v) { s.ussd_secret = v; }},
      {"ussd-allowed-addresses",
       [](Settings& s, const std::string& v) { s.ussd_allowed_addresses = v; }},
      {"allow-private-webhooks",
       [](Settings& s, const std::string& v) { s.allow_private_webhooks = to_bool(v); }},
      {"allow-http-webhooks",
       [](Settings& s, const std::string& v) { s.allow_http_webhooks = to_bool(v); }},
      {"outbound-resolve", [](Settings& s, const std::string& v) { s.outbound_resolve = v; }},
      {"webhook-timeout",
       [](Settings& s, const std::string& v) { s.webhook_timeout = to_int("webhook-timeout", v); }},
      {"webhook-retry-schedule",
       [](Settings& s, const std::string& v) { s.webhook_retry_schedule = v; }},
      {"webhook-concurrency",
       [](Settings& s, const std::string& v) {
         s.webhook_concurrency = to_int("webhook-concurrency", v);
       }},
      {"webhook-concurrency-per-subscription",
       [](Settings& s, const std::string& v) {
         s.webhook_concurrency_per_subscription =
             to_int("webhook-concurrency-per-subscription", v);
       }},
      {"webhook-breaker",
       [](Settings& s, const std::string& v) { s.webhook_breaker = to_int("webhook-breaker", v); }},
      {"webhook-breaker-cooldown",
       [](Settings& s, const std::string& v) {
         s.webhook_breaker_cooldown = to_int("webhook-breaker-cooldown", v);
       }},
      {"backup-dir", [](Settings& s, const std::string& v) { s.backup_dir = v; }},
      {"backup-recipient", [](Settings& s, const std::string& v) { s.backup_recipient = v; }},
      {"backup-identity", [](Settings& s, const std::string& v) { s.backup_identity = v; }},
  };
  return kBindings;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::map<std::string, std::string> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_invalid("cannot read config file " + path);
  std::map<std::string, std::string> values;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw_invalid(path + ":" + std::to_string(number) + ": expected NAME=value");
    }
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

}  // namespace

const std::vector<Option>& options() {
  static const std::vector<Option> kOptions = {
      {"data-dir", "LOYALTY_DATA_DIR", "./var", "directory of the embedded database and secrets"},
      {"database-url", "LOYALTY_DATABASE_URL", "",
       "PostgreSQL URL of the owner role; empty runs the embedded cluster"},
      {"app-database-url", "LOYALTY_APP_DATABASE_URL", "",
       "PostgreSQL URL of the loyalty_app role; empty derives it from the owner URL"},
      {"listen", "LOYALTY_LISTEN", "127.0.0.1:8080", "HOST:PORT loyaltyd listens on", true},
      {"workers", "LOYALTY_WORKERS", "2", "background worker threads (0 = HTTP only)", true},
      {"worker-lease", "LOYALTY_WORKER_LEASE", "60",
       "seconds a claimed job is held; a dead daemon's jobs are taken again after it", true},
      {"http-threads", "LOYALTY_HTTP_THREADS", "32",
       "threads that run request handlers (slow clients never hold one)", true},
      {"event-group-max", "LOYALTY_EVENT_GROUP_MAX", "32",
       "POS events committed together at most, when they arrive while a tenant's groups are "
       "busy (1: one per transaction)",
       true},
      {"event-lanes", "LOYALTY_EVENT_LANES", "2",
       "a tenant's groups of events processed at once; events arriving meanwhile wait for the "
       "next group",
       true},
      {"request-timeout", "LOYALTY_REQUEST_TIMEOUT", "10",
       "seconds a client has to send a whole request, head and body, from its first byte", true},
      {"keep-alive-timeout", "LOYALTY_KEEP_ALIVE_TIMEOUT", "5",
       "seconds an idle connection may wait before its next (or first) request", true},
      {"max-connections", "LOYALTY_MAX_CONNECTIONS", "10000",
       "client connections open at once; more are refused at once with 503", true},
      {"max-connections-per-ip", "LOYALTY_MAX_CONNECTIONS_PER_IP", "128",
       "client connections open at once from one address (raise it behind a proxy)", true},
      {"pool-size", "LOYALTY_POOL_SIZE", "0",
       "database connections per process; 0 = 3 per CPU core, at least 4"},
      {"log-level", "LOYALTY_LOG_LEVEL", "info", "trace, debug, info, warn, error"},
      {"jwt-secrets", "LOYALTY_JWT_SECRETS", "",
       "JSON {\"kid\":\"secret\"} of JWT signing secrets (>= 32 bytes each); empty = generated "
       "in the data dir",
       true},
      {"jwt-kid", "LOYALTY_JWT_KID", "", "key id that signs new tokens (default: the first)", true},
      {"hmac-keys", "HMAC_KEYS_JSON", "",
       "JSON keys for HMAC-signed requests, each bound to one tenant or marked platform-wide: "
       "{\"key_id\":{\"secret\":\"...\",\"tenant_id\":\"<uuid>\"}} or "
       "{\"key_id\":{\"secret\":\"...\",\"platform\":true}}; secrets >= 32 bytes",
       true},
      {"rate-limit", "LOYALTY_RATE_LIMIT", "50", "requests per second per credential", true},
      {"rate-limit-ip", "LOYALTY_RATE_LIMIT_IP", "100", "requests per second per client IP", true},
      {"trusted-proxies", "LOYALTY_TRUSTED_PROXIES", "",
       "addresses and CIDR networks of reverse proxies whose X-Forwarded-For names the client "
       "(e.g. 127.0.0.1,10.0.0.0/8); empty = the peer is the client",
       true},
      {"web-dir", "LOYALTY_WEB_DIR", "web/dist", "built merchant dashboard served at /", true},
      {"whatsapp-api-base", "LOYALTY_WHATSAPP_API_BASE", "https://graph.facebook.com/v21.0",
       "WhatsApp Graph API base URL", true},
      {"whatsapp-app-secret", "LOYALTY_WHATSAPP_APP_SECRET", "",
       "app secret that signs WhatsApp webhooks", true},
      {"whatsapp-verify-token", "LOYALTY_WHATSAPP_VERIFY_TOKEN", "",
       "token of the WhatsApp webhook verification handshake", true},
      {"whatsapp-access-token", "LOYALTY_WHATSAPP_ACCESS_TOKEN", "",
       "Graph API access token for numbers whose channel names no --access-token-file", true},
      {"notice-retry-schedule", "LOYALTY_NOTICE_RETRY_SCHEDULE", "5s,1m,5m,30m,2h,6h",
       "waits after each failed WhatsApp send (s, m, h, ms), each drawn at random up to its "
       "value",
       true},
      {"ussd-secret", "LOYALTY_USSD_SECRET", "", "shared secret of the USSD gateway", true},
      {"ussd-allowed-addresses", "LOYALTY_USSD_ALLOWED_ADDRESSES", "",
       "addresses and CIDR networks the USSD gateway calls from; empty = any (the secret alone)",
       true},
      {"allow-private-webhooks", "LOYALTY_ALLOW_PRIVATE_WEBHOOKS", "false",
       "allow webhook URLs on loopback and private networks (tests, closed networks)"},
      {"allow-http-webhooks", "LOYALTY_ALLOW_HTTP_WEBHOOKS", "false",
       "allow http:// webhook URLs as well as https://"},
      {"outbound-resolve", "LOYALTY_OUTBOUND_RESOLVE", "",
       "fixed addresses for outbound hosts instead of DNS, like curl --resolve: "
       "HOST:PORT:ADDRESS[,HOST:PORT:ADDRESS...]"},
      {"webhook-timeout", "LOYALTY_WEBHOOK_TIMEOUT", "10",
       "seconds a webhook attempt may take, connecting included", true},
      {"webhook-retry-schedule", "LOYALTY_WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,10h",
       "waits after each failed attempt (s, m, h, ms), each drawn at random up to its value", true},
      {"webhook-concurrency", "LOYALTY_WEBHOOK_CONCURRENCY", "512",
       "webhook attempts in flight at once, in all", true},
      {"webhook-concurrency-per-subscription", "LOYALTY_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION", "16",
       "webhook attempts in flight at once to one subscription", true},
      {"webhook-breaker", "LOYALTY_WEBHOOK_BREAKER", "5",
       "consecutive failures that open a subscription's circuit breaker", true},
      {"webhook-breaker-cooldown", "LOYALTY_WEBHOOK_BREAKER_COOLDOWN", "60",
       "seconds an open breaker waits before one probe delivery", true},
      {"backup-dir", "LOYALTY_BACKUP_DIR", "",
       "directory of encrypted backups (backup create, prune, verify --latest)"},
      {"backup-recipient", "LOYALTY_BACKUP_RECIPIENT", "",
       "age public key (age1...) backups are encrypted to"},
      {"backup-identity", "LOYALTY_BACKUP_IDENTITY", "",
       "age identity file (private key) that decrypts backups for verify and restore"},
  };
  return kOptions;
}

Settings resolve(const std::map<std::string, std::string>& flags,
                 const std::optional<std::string>& config_file) {
  std::map<std::string, std::string> file_values;
  if (config_file && !config_file->empty()) file_values = read_config_file(*config_file);

  Settings settings;
  for (const Option& option : options()) {
    std::string value = option.default_value;
    if (auto it = file_values.find(option.flag); it != file_values.end()) value = it->second;
    if (auto it = file_values.find(option.env); it != file_values.end()) value = it->second;
    if (const char* env = std::getenv(option.env.c_str()); env != nullptr) value = env;
    if (auto it = flags.find(option.flag); it != flags.end()) value = it->second;
    for (const Binding& binding : bindings()) {
      if (option.flag == binding.flag) binding.set(settings, value);
    }
  }
  return settings;
}

}  // namespace loyalty::config
