// Authentication and authorization of every request, driven by the route table.
#include "server.hpp"

namespace loyaltyd {

void Server::authorize(Request&, const Route& route) {
  if (route.allow == kPublic) return;
  throw loyalty::Error(loyalty::ErrorCode::unauthorized, "unauthorized",
                       "a valid credential is required");
}

}  // namespace loyaltyd
