#pragma once
// What every part of the daemon shares: settings, the database, metrics.

#include "metrics.hpp"

#include <loyalty/config/config.hpp>
#include <loyalty/db/database.hpp>

#include <atomic>
#include <memory>

namespace loyaltyd {

struct App {
  loyalty::config::Settings settings;
  std::unique_ptr<loyalty::db::Database> db;  ///< as loyalty_app: tenant work under RLS
  Metrics metrics;
  std::atomic<bool> worker_alive{true};
  std::atomic<bool> stopping{false};
};

}  // namespace loyaltyd
