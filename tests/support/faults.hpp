#pragma once
// Fault injection for database tests: a backend terminated in the middle of its transaction.

#include <pqxx/pqxx>

#include <exception>
#include <functional>
#include <string>

namespace loyalty::test {

struct Faulted {
  int terminated = 0;  ///< backends terminated
  std::exception_ptr error;
};

/// Runs `call` while a second connection holds the tenant's budget row. Once the call's backend
/// waits for that lock — in the middle of its transaction: every operation that moves money
/// takes the budget row last, and a purchase sends its reservation with its COMMIT — it is
/// terminated, up to `times` times (the library runs a transaction whose connection was lost once
/// more, on a fresh one: the second time that retry's backend is terminated too), and the lock
/// released only after the backend is gone. A call that never waits for the budget runs to its
/// end untouched.
Faulted with_backend_terminated(pqxx::connection& locker, pqxx::connection& watcher,
                                const std::string& tenant_id, int times,
                                const std::function<void()>& call);

}  // namespace loyalty::test
