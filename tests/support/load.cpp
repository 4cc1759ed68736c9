#include "support/load.hpp"

#include <httplib.h>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

namespace loyalty::test {

LoadTenant seed_load_tenant(db::Database& owner, const std::string& slug) {
  tenants::CreateTenantRequest request;
  request.name = "Load " + slug;
  request.slug = slug;
  request.admin_email = "admin@" + slug + ".example";  // with it comes a POS key
  auto created = tenants::create_tenant(owner, request);
  LoadTenant out{created.tenant.id, created.api_key.value()};
  auto actor = Actor::operator_cli();
  budgets::create_budget(owner, out.tenant_id, actor,
                         {{"name", "main"}, {"currency", "USD"}, {"total", "1000000.00"}});
  rewards::create_reward(owner, out.tenant_id, actor,
                         {{"name", "voucher"},
                          {"type", "voucher"},
                          {"cost", "1.00"},
                          {"currency", "USD"},
                          {"validity_days", 30},
                          {"config", {{"source", "generated"}, {"length", 10}}}});
  rewards::create_reward(owner, out.tenant_id, actor,
                         {{"name", "points"},
                          {"type", "points"},
                          {"cost", "0.00"},
                          {"currency", "USD"},
                          {"config", {{"points", 10}}}});
  nlohmann::json rules = {{"rules",
                           {{{"name", "voucher over 50"},
                             {"event_type", "purchase"},
                             {"priority", 50},
                             {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                             {"reward", "voucher"},
                             {"budget", "main"}},
                            {{"name", "points per purchase"},
                             {"event_type", "purchase"},
                             {"priority", 10},
                             {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                             {"reward", "points"}}}}};
  rulesets::import_rules(owner, out.tenant_id, actor, rules, {});
  return out;
}

EventLoad::EventLoad(std::function<int()> port, LoadOptions options)
    : port_(std::move(port)), options_(std::move(options)) {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

EventLoad::~EventLoad() { stop(); }

void EventLoad::stop() {
  stopping_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void EventLoad::run(int index) {
  const bool retrying = index < options_.retrying_threads;
  const std::string path = "/v1/tenants/" + options_.tenant_id + "/events";
  const httplib::Headers auth = {{"Authorization", "Bearer " + options_.api_key}};
  for (long long n = 0; !stopping_; ++n) {
    PostedEvent posted;
    posted.key = "load-" + std::to_string(index) + "-" + std::to_string(n);
    int customer = static_cast<int>((n * options_.threads + index) % options_.customers);
    nlohmann::json body = {
        {"customer", {{"phone", "+26377" + std::to_string(2000000 + customer)}}},
        {"type", "purchase"},
        {"data",
         {{"amount", std::to_string(20 + n % 60) + ".00"}, {"currency", "USD"}, {"store", "S1"}}}};
    const std::string text = body.dump();
    httplib::Headers headers = auth;
    headers.emplace("Idempotency-Key", posted.key);
    for (;;) {
      Attempt attempt;
      attempt.sent = std::chrono::steady_clock::now();
      httplib::Client client("127.0.0.1", port_());
      client.set_connection_timeout(1, 0);
      client.set_read_timeout(options_.read_timeout_seconds, 0);
      auto res = client.Post(path.c_str(), headers, text, "application/json");
      attempt.took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - attempt.sent);
      if (res) {
        ++answered_;
        attempt.status = res->status;
        attempt.content_type = res->get_header_value("Content-Type");
        auto json = nlohmann::json::parse(res->body, nullptr, false);
        if (res->status >= 200 && res->status < 300) {
          posted.acknowledged = true;
          posted.replayed = res->get_header_value("Idempotent-Replayed") == "true";
          if (json.is_object() && json.contains("event")) posted.event_id = json["event"]["id"];
        } else if (json.is_object() && json.contains("type") && json["type"].is_string()) {
          attempt.problem_type = json["type"];
        }
      }
      posted.attempts.push_back(attempt);
      if (posted.acknowledged) break;
      // A 4xx is the client's fault: retrying would not change it.
      if (attempt.status >= 400 && attempt.status < 500) break;
      if (!retrying || stopping_) break;
      std::this_thread::sleep_for(options_.pause_after_failure);
    }
    if (posted.acknowledged) ++acknowledged_;
    if (!posted.acknowledged) std::this_thread::sleep_for(options_.pause_after_failure);
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(posted));
  }
}

}  // namespace loyalty::test
