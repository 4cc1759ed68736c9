#pragma once
// A connection of its own that LISTENs on one channel, so that a worker sleeps until there is
// work instead of polling for it. NOTIFY is a hint, never the only way work is found: a
// notification sent while the listener was reconnecting is lost, so callers also look on a
// timer.

#include <chrono>
#include <memory>
#include <string>

namespace loyalty::db {

class Listener {
 public:
  Listener(std::string url, std::string channel);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Waits up to `timeout` and returns true when a notification arrived. With the connection
  /// lost (or never made), it waits the timeout, tries to connect again and returns false.
  bool wait(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::db
