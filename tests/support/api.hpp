#pragma once
// HTTP test helpers: a tenant with credentials of every kind, and a small JSON client.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>

namespace loyalty::test {

class TestDatabase;

/// A tenant with an admin, a manager and a viewer (logged in through the daemon) and a POS key.
struct TenantCredentials {
  std::string tenant_id;
  std::string slug;
  std::string admin_token, manager_token, viewer_token;
  std::string admin_refresh_token;
  std::string pos_key;
  std::string admin_email, admin_password;
  /// The credential of a role: "admin", "manager", "viewer", "pos" (empty string for none).
  std::string token(const std::string& role) const;
};

/// An answer: status, parsed JSON body (null when empty or not JSON), raw response.
struct ApiResponse {
  int status = 0;
  nlohmann::json body;
  std::string content_type;
  httplib::Headers headers;
  std::string raw;
};

/// A client of the daemon on 127.0.0.1:port.
class Api {
 public:
  explicit Api(int port);
  ApiResponse get(const std::string& path, const std::string& token = "");
  ApiResponse post(const std::string& path, const nlohmann::json& body,
                   const std::string& token = "");
  ApiResponse post_raw(const std::string& path, const std::string& body,
                       const std::string& content_type, const std::string& token = "",
                       const httplib::Headers& headers = {});
  ApiResponse patch(const std::string& path, const nlohmann::json& body,
                    const std::string& token = "");
  ApiResponse del(const std::string& path, const std::string& token = "");
  /// Any method with a raw body (empty content type sends no body).
  ApiResponse send(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& content_type, const std::string& token,
                   const httplib::Headers& extra = {});

 private:
  int port_;
};

/// Creates a tenant through loyaltyctl (admin + POS key), adds a manager and a viewer, and logs
/// the three users in through the daemon.
TenantCredentials seed_tenant(TestDatabase& db, Api& api, const std::string& slug);

/// Gives the tenant a reward "Free coffee" (physical, stock 10, redeemed with a one-time PIN)
/// and a rule "Any visit" that issues it for every visit event, through the API.
void free_coffee_on_every_visit(Api& api, const TenantCredentials& c);

}  // namespace loyalty::test
