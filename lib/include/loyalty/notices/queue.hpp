#pragma once
// The notice queue's depth, all tenants, for /metrics.

namespace loyalty::db {
class Database;
}

namespace loyalty::notices {

struct QueueDepth {
  long long due = 0;              ///< queued, due now
  long long waiting = 0;          ///< queued, waiting out a retry's backoff or held by a sender
  double oldest_due_seconds = 0;  ///< how long the oldest due notice has waited (0 when none)
};

/// Through a SECURITY DEFINER function, so loyalty_app may call it. Throws Error(unavailable)
/// when the database cannot be reached.
QueueDepth queue_depth(db::Database& db);

}  // namespace loyalty::notices
