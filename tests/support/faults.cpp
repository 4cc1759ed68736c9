#include "support/faults.hpp"

#include <atomic>
#include <chrono>
#include <thread>

namespace loyalty::test {

using namespace std::chrono_literals;

Faulted with_backend_terminated(pqxx::connection& locker, pqxx::connection& watcher,
                                const std::string& tenant_id, int times,
                                const std::function<void()>& call) {
  Faulted out;
  pqxx::work lock(locker);
  lock.exec("SELECT 1 FROM budgets WHERE tenant_id = " + lock.quote(tenant_id) + " FOR UPDATE");
  const std::string locker_pid = std::to_string(locker.backendpid());
  std::atomic<bool> done{false};
  std::thread worker([&] {
    try {
      call();
    } catch (...) {
      out.error = std::current_exception();
    }
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    pqxx::nontransaction n(watcher);
    auto waiting = n.exec("SELECT pid FROM pg_stat_activity WHERE " + locker_pid +
                          " = ANY(pg_blocking_pids(pid))");
    if (!waiting.empty()) {
      std::string pid = waiting[0][0].as<std::string>();
      n.exec("SELECT pg_terminate_backend(" + pid + ")");
      while (!n.exec("SELECT 1 FROM pg_stat_activity WHERE pid = " + pid).empty()) {
        std::this_thread::sleep_for(1ms);
      }
      if (++out.terminated == times) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  lock.abort();
  worker.join();
  return out;
}

}  // namespace loyalty::test
