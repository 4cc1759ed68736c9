#include "db/listener.hpp"

#include "db/tx.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include <thread>

namespace loyalty::db {

namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string&, int) override { notified = true; }
  bool notified = false;
};

}  // namespace

struct Listener::Impl {
  std::string url;
  std::string channel;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::errorhandler> notices;
  std::unique_ptr<Receiver> receiver;

  void connect() {
    receiver.reset();
    notices.reset();
    conn.reset();
    auto c = std::make_unique<pqxx::connection>(url);
    notices = make_quiet(*c);
    receiver = std::make_unique<Receiver>(*c, channel);  // sends LISTEN
    conn = std::move(c);
  }

  void drop(const std::exception& e) {
    spdlog::debug(R"("msg":"db.listener_lost",{})", error_log_fields(e));
    receiver.reset();
    notices.reset();
    conn.reset();
  }
};

Listener::Listener(std::string url, std::string channel) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(url);
  impl_->channel = std::move(channel);
}

Listener::~Listener() {
  // The receiver unlistens through the connection: it goes first.
  impl_->receiver.reset();
  impl_->notices.reset();
  impl_->conn.reset();
}

bool Listener::wait(std::chrono::milliseconds timeout) {
  if (!impl_->conn) {
    try {
      impl_->connect();
    } catch (const std::exception& e) {
      impl_->drop(e);
      std::this_thread::sleep_for(timeout);
      return false;
    }
  }
  try {
    impl_->receiver->notified = false;
    // Notifications that came meanwhile are delivered at once; otherwise this sleeps on the
    // socket until one comes or the timeout passes.
    if (impl_->conn->get_notifs() == 0) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
      impl_->conn->await_notification(static_cast<long>(us / 1000000),
                                      static_cast<long>(us % 1000000));
    }
    return impl_->receiver->notified;
  } catch (const std::exception& e) {
    impl_->drop(e);
    return false;
  }
}

}  // namespace loyalty::db
