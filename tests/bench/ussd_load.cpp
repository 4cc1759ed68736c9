// The load generator of scripts/bench-ussd (a benchmark, not a test): plays a USSD gateway that
// starts RATE sessions a second for SECONDS, each a member walking four screens (dial, my points,
// back, my rewards), from THREADS threads with kept-alive connections that take the sessions as
// they come due. First MEMBERS customers join (dial, join, yes), not measured. Prints one
// Markdown table row: the latency of each callback from sending it to its whole answer (p50, p99,
// max), errors, and how late sessions started (the generator's own lag).
//
//   ussd_load PORT SECRET RATE SECONDS [MEMBERS=5000] [THREADS=32]
//
// Written in C++ so that the generator, on the same cores as the daemon and PostgreSQL, takes
// little of them (the python client it replaces took a quarter of a core at 800 callbacks/s).
#include <loyalty/core/form.hpp>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Session {
  Clock::time_point due;
  long n = 0;
  bool measured = false;
};

struct Results {
  std::mutex mutex;
  std::vector<double> latencies_ms, lags_ms;
  long errors = 0;
};

class Queue {
 public:
  void push(Session s) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(s);
    }
    ready_.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  bool pop(Session& s) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    s = items_.front();
    items_.pop_front();
    return true;
  }
  bool empty() {
    std::lock_guard lock(mutex_);
    return items_.empty();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Session> items_;
  bool closed_ = false;
};

void worker(int port, const std::string& path, long members, Queue& queue, Results& results) {
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // headers and body go in two writes
  client.set_read_timeout(10, 0);
  std::vector<double> latencies, lags;
  long errors = 0;
  Session s;
  while (queue.pop(s)) {
    const double lag = std::chrono::duration<double, std::milli>(Clock::now() - s.due).count();
    char phone[32];
    std::snprintf(phone, sizeof phone, "+26377%07ld", s.n % members);
    const std::vector<std::string> texts = s.n < members
                                               ? std::vector<std::string>{"", "1", "1*1"}
                                               : std::vector<std::string>{"", "1", "1*0", "1*0*2"};
    for (const auto& text : texts) {
      const std::string body = loyalty::form_encode({{"sessionId", "bench-" + std::to_string(s.n)},
                                                     {"serviceCode", "*123#"},
                                                     {"phoneNumber", phone},
                                                     {"networkCode", "64804"},
                                                     {"text", text}});
      const auto start = Clock::now();
      auto res = client.Post(path, body, "application/x-www-form-urlencoded");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!s.measured) continue;
      latencies.push_back(ms);
      if (!res || res->status != 200 ||
          (res->body.rfind("CON ", 0) != 0 && res->body.rfind("END ", 0) != 0)) {
        ++errors;
      }
    }
    if (s.measured) lags.push_back(lag);
  }
  std::lock_guard lock(results.mutex);
  results.latencies_ms.insert(results.latencies_ms.end(), latencies.begin(), latencies.end());
  results.lags_ms.insert(results.lags_ms.end(), lags.begin(), lags.end());
  results.errors += errors;
}

/// Queues `count` sessions from `first` at `rate` a second; returns the seconds it took until
/// the last was taken.
double run(Queue& queue, long first, long count, double rate, bool measured) {
  const auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(i) / rate));
    std::this_thread::sleep_until(due);
    queue.push({due, first + i, measured});
  }
  while (!queue.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: ussd_load PORT SECRET RATE SECONDS [MEMBERS] [THREADS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string path = "/public/ussd/callback?secret=" + loyalty::percent_encode(argv[2]);
  const double rate = std::atof(argv[3]);
  const long seconds = std::atol(argv[4]);
  const long members = argc > 5 ? std::atol(argv[5]) : 5000;
  const int threads = argc > 6 ? std::atoi(argv[6]) : 32;
  if (port <= 0 || rate <= 0 || seconds <= 0 || members <= 0 || threads <= 0) {
    std::fprintf(stderr, "ussd_load: PORT, RATE, SECONDS, MEMBERS and THREADS are positive\n");
    return 2;
  }
  Queue queue;
  Results results;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] { worker(port, path, members, queue, results); });
  }
  run(queue, 0, members, std::max(rate, 400.0), false);  // the members join, not measured
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long sessions = static_cast<long>(rate * static_cast<double>(seconds));
  const double took = run(queue, members, sessions, rate, true);
  queue.close();
  for (auto& t : pool) t.join();
  auto& l = results.latencies_ms;
  std::printf("| %g | %ld in %.1f s | %zu | %.1f ms | %.1f ms | %.1f ms | %ld | %.1f ms |\n", rate,
              sessions, took, l.size(), percentile(l, 0.5), percentile(l, 0.99),
              l.empty() ? 0.0 : *std::max_element(l.begin(), l.end()), results.errors,
              percentile(results.lags_ms, 0.99));
  return results.errors == 0 ? 0 : 1;
}
