#pragma once

#include <optional>
#include <string>
#include <vector>

namespace loyalty {

/// A request for one page of a list: at most `limit` items after `cursor`.
struct PageRequest {
  int limit = 50;      ///< 1..200
  std::string cursor;  ///< opaque; empty for the first page
};

/// One page of a list in a stable order; `next_cursor` is empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;
};

/// The position a cursor stands for: the sort key (a timestamp with microseconds, or a number
/// as text) and the id of the last item of the previous page.
struct CursorPosition {
  std::string key;
  std::string id;
};

/// Encodes a position as an opaque cursor (base64url).
std::string encode_cursor(const CursorPosition& position);
/// Decodes a cursor; throws Error(invalid) with pointer "/cursor" when it is not one of ours.
CursorPosition decode_cursor(const std::string& cursor);
/// Validates a page request: limit in 1..200 (Error(invalid) with pointer "/limit").
PageRequest make_page_request(const std::string& limit, const std::string& cursor);

}  // namespace loyalty
