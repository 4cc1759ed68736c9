#pragma once
// The daemon's background worker: `--workers N` threads taking jobs from the shared queue
// (loyalty::jobs::Worker) over the daemon's database, with /ready following its health.

#include "app.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace loyalty::jobs {
class Worker;
}

namespace loyaltyd {

class BackgroundWorker {
 public:
  /// Starts settings.workers threads (none for 0: the daemon serves HTTP only).
  explicit BackgroundWorker(App& app);
  /// Stops the worker if stop() was not called.
  ~BackgroundWorker();
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  /// Running jobs finish, claimed jobs not yet started go back to the queue. Idempotent.
  void stop();

 private:
  void watch();

  App& app_;
  std::unique_ptr<loyalty::jobs::Worker> worker_;
  std::thread watcher_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
};

}  // namespace loyaltyd
