#pragma once

#include <string>

namespace loyalty {

/// Who makes a change, for the audit log: a dashboard user, a POS API key, the operator at the
/// command line, or the system itself (worker, expiry run).
struct Actor {
  std::string type = "operator";  ///< user | api_key | operator | system
  std::string id;                 ///< user id, key prefix, or empty

  static Actor operator_cli() { return {"operator", ""}; }
  static Actor system() { return {"system", ""}; }
};

}  // namespace loyalty
