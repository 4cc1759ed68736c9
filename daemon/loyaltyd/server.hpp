#pragma once

#include "app.hpp"
#include "edge.hpp"
#include "http.hpp"

#include <loyalty/core/actor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace loyaltyd {

/// The HTTP server: the edge (edge.hpp) underneath, the route table on top.
class Server {
 public:
  explicit Server(App& app);
  ~Server();

  /// Adds a route to the table.
  void add(Route route);
  /// The table, for the OpenAPI consistency check and the route listing.
  const std::vector<Route>& routes() const { return routes_; }

  /// Binds HOST:PORT (port 0 picks a free one); returns the bound port. Throws on failure.
  int bind(const std::string& listen);
  /// Serves until stop(); in-flight requests finish before it returns.
  void serve();
  void stop();
  /// Connection counters of the edge, for /metrics.
  const EdgeStats& edge_stats() const;

 private:
  /// Every request's common steps: request id, dispatch, problem+json, metrics, one log line.
  Reply answer(const HttpRequest& raw);
  Reply dispatch(Request& request, const Route*& matched);
  /// Authenticates the caller, checks the route's Allow bits and the tenant wall (auth.cpp).
  void authorize(Request& request, const Route& route);
  const Route* match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>& params, bool& path_exists) const;

  App& app_;
  std::unique_ptr<Edge> edge_;
  std::vector<Route> routes_;
};

/// A route group's registration: each file under routes/ defines one static RouteGroup, so
/// adding a resource never touches main.cpp.
struct RouteGroup {
  using Add = void (*)(Server& server, App& app);
  explicit RouteGroup(Add add);
};

/// Sets up the JWT keyring, sessions, HMAC verifier and rate limiters from settings (auth.cpp).
/// Throws Error(invalid) for weak secrets: the daemon refuses to start.
void init_security(App& app);

/// The audit actor of a request's principal.
loyalty::Actor actor_of(const Request& request);

/// The route table as JSON: [{"method", "path", "roles": [...]}] ("public" for open routes).
nlohmann::json route_table_json(const Server& server);

/// Adds every registered group's routes to the server.
void add_all_routes(Server& server, App& app);

}  // namespace loyaltyd
