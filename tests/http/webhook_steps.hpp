#pragma once
// Steps the webhook tests share: a daemon that may send to loopback receivers with a schedule of
// milliseconds, a subscription, an enrolment (which queues customer.enrolled), polling the API.
#include "support/api.hpp"
#include "support/daemon.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::test::webhooks {

using nlohmann::json;
using namespace std::chrono_literals;

/// A daemon that may send to the loopback receiver, with a schedule that takes milliseconds.
inline std::vector<std::string> webhook_daemon(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--rate-limit",          "0",    "--rate-limit-ip", "0", "--allow-private-webhooks", "true",
      "--allow-http-webhooks", "true",
  };
  if (std::find(extra.begin(), extra.end(), "--webhook-retry-schedule") == extra.end()) {
    args.insert(args.end(), {"--webhook-retry-schedule", "100ms,100ms,100ms,100ms,100ms"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

inline ApiResponse subscribe(Api& api, const TenantCredentials& c, const std::string& url,
                             const json& types) {
  auto res = api.post("/v1/tenants/" + c.tenant_id + "/webhooks",
                      {{"url", url}, {"event_types", types}, {"description", "test receiver"}},
                      c.admin_token);
  INFO(res.raw);
  REQUIRE(res.status == 201);
  REQUIRE(res.body["secret"].get<std::string>().rfind("whsec_", 0) == 0);
  return res;
}

inline ApiResponse enrol(Api& api, const TenantCredentials& c, const std::string& phone) {
  auto res = api.post("/v1/tenants/" + c.tenant_id + "/customers",
                      {{"phone", phone}, {"consent", true}}, c.pos_key);
  INFO(res.raw);
  REQUIRE(res.status == 201);
  return res;
}

inline std::size_t count_if(const json& received, const std::function<bool(const json&)>& pred) {
  std::size_t n = 0;
  for (const auto& r : received) n += pred(r) ? 1 : 0;
  return n;
}

inline std::string type_of(const json& entry) {
  return json::parse(entry["body"].get<std::string>())["type"];
}

/// GETs `path` every 50 ms until `done` holds for the answer or 10 s have passed; returns the
/// last answer.
inline ApiResponse poll(Api& api, const std::string& path, const std::string& token,
                        const std::function<bool(const ApiResponse&)>& done) {
  ApiResponse res = api.get(path, token);
  for (int i = 0; i < 200 && !done(res); ++i) {
    std::this_thread::sleep_for(50ms);
    res = api.get(path, token);
  }
  return res;
}

inline void require_problem(const ApiResponse& res, int status, const std::string& type) {
  INFO(res.raw);
  REQUIRE(res.status == status);
  CHECK(res.content_type == "application/problem+json");
  CHECK(res.body["type"] == "https://loyalty.example/problems/" + type);
}

}  // namespace loyalty::test::webhooks
