#pragma once
// A bump allocator for the engine's values: constants of a program, an event's data, and the
// values built during one evaluation. Everything placed in it is trivially destructible.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

namespace loyalty::rules::detail {

class Arena {
 public:
  explicit Arena(std::size_t limit = std::numeric_limits<std::size_t>::max()) : limit_(limit) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// `bytes` of storage aligned to `align`; nullptr when the arena would pass its limit.
  void* allocate(std::size_t bytes, std::size_t align) {
    if (bytes == 0) bytes = 1;  // distinct addresses give distinct identities to empty arrays
    std::uintptr_t p = (cur_ + align - 1) & ~(align - 1);
    if (p + bytes <= end_ && p >= cur_) {
      cur_ = p + bytes;
      return reinterpret_cast<void*>(p);
    }
    return grow(bytes, align);
  }

  template <class T>
  T* allocate_array(std::size_t n) {
    static_assert(std::is_trivially_destructible_v<T>);
    if (n > limit_ / sizeof(T)) return nullptr;
    return static_cast<T*>(allocate(n * sizeof(T), alignof(T)));
  }

  /// A copy of `s` owned by the arena; an empty view with a null data pointer on failure.
  std::string_view copy(std::string_view s) {
    char* p = allocate_array<char>(s.size());
    if (!p) return {};
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  /// Frees everything allocated; keeps one chunk as large as all the memory used so far
  /// (capped), so that a steady workload stops allocating.
  void reset() {
    if (chunks_.size() > 1) {
      std::size_t keep = std::min(reserved_, kMaxRetained);
      chunks_.clear();
      reserved_ = 0;
      add_chunk(keep);
    }
    if (!chunks_.empty()) {
      cur_ = reinterpret_cast<std::uintptr_t>(chunks_.front().data.get());
      end_ = cur_ + chunks_.front().size;
    }
  }

  std::size_t reserved() const noexcept { return reserved_; }

 private:
  static constexpr std::size_t kFirstChunk = 4096;
  static constexpr std::size_t kMaxChunk = 1 << 20;
  static constexpr std::size_t kMaxRetained = 4 << 20;

  struct Chunk {
    std::unique_ptr<std::byte[]> data;
    std::size_t size;
  };

  void* grow(std::size_t bytes, std::size_t align) {
    std::size_t want = bytes + align;
    if (want < bytes) return nullptr;
    std::size_t next = chunks_.empty() ? kFirstChunk : std::min(chunks_.back().size * 2, kMaxChunk);
    std::size_t size = std::max(want, next);
    if (size > limit_ || reserved_ > limit_ - size) {
      if (want > limit_ || reserved_ > limit_ - want) return nullptr;
      size = want;
    }
    add_chunk(size);
    return allocate(bytes, align);
  }

  void add_chunk(std::size_t size) {
    chunks_.push_back(Chunk{std::unique_ptr<std::byte[]>(new std::byte[size]), size});
    reserved_ += size;
    cur_ = reinterpret_cast<std::uintptr_t>(chunks_.back().data.get());
    end_ = cur_ + size;
  }

  std::vector<Chunk> chunks_;
  std::uintptr_t cur_ = 0;
  std::uintptr_t end_ = 0;
  std::size_t reserved_ = 0;
  std::size_t limit_;
};

}  // namespace loyalty::rules::detail
