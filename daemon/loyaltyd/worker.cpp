#include "worker.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/referrals/referrals.hpp>
#include <loyalty/segments/segments.hpp>
#include <loyalty/whatsapp/inbox.hpp>

#include <algorithm>
#include <chrono>

namespace loyaltyd {

BackgroundWorker::BackgroundWorker(App& app) : app_(app) {
  if (app_.settings.workers <= 0) return;
  loyalty::jobs::WorkerOptions options;
  options.threads = app_.settings.workers;
  options.lease = std::chrono::seconds(std::max(1, app_.settings.worker_lease));
  worker_ = std::make_unique<loyalty::jobs::Worker>(*app_.db, options);
  loyalty::jobs::register_standard_handlers(*worker_);
  loyalty::whatsapp::register_handlers(*worker_);
  loyalty::referrals::register_handlers(*worker_, app_.rules_cache);
  loyalty::segments::register_handlers(*worker_);
  worker_->start();
  app_.worker = worker_.get();
  app_.worker_alive = true;
  watcher_ = std::thread([this] { watch(); });
  spdlog::info(R"("msg":"worker.started","worker":"{}","threads":{})", worker_->name(),
               options.threads);
}

BackgroundWorker::~BackgroundWorker() {
  stop();
  app_.worker = nullptr;
}

void BackgroundWorker::stop() {
  if (!worker_) return;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  // Not ready from here on: a load balancer stops sending work while the worker drains.
  app_.worker_alive = false;
  worker_->stop();
  auto stats = worker_->stats();
  spdlog::info(R"("msg":"worker.stopped","done":{},"retried":{},"dead":{},"released":{})",
               stats.done, stats.retried, stats.dead, stats.released);
}

void BackgroundWorker::watch() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    bool alive = worker_->alive();
    if (alive != app_.worker_alive.exchange(alive)) {
      spdlog::warn(R"("msg":"worker.health","alive":{})", alive);
    }
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopped_; });
  }
}

}  // namespace loyaltyd
