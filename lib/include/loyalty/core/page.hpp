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

/// Where the page after `cursor` starts, in a list ordered by (key, id) with uuid ids: an empty
/// position for the first page (empty cursor). Throws Error(invalid) with pointer "/cursor" when
/// the cursor is not one of ours.
CursorPosition decode_keyed_cursor(const std::string& cursor);
/// Where the page after `cursor` starts, in a list ordered by a numeric id: 0 for the first page.
/// Throws Error(invalid) with pointer "/cursor" when the cursor is not one of ours.
long long decode_numeric_cursor(const std::string& cursor);

/// One page from rows fetched with a LIMIT of one more than the page's: the first `limit` rows
/// through `convert`, and when another row follows, next_cursor at `position_of` the last item.
template <typename T, typename Rows, typename Convert, typename PositionOf>
Page<T> fill_page(const Rows& rows, int limit, Convert&& convert, PositionOf&& position_of) {
  Page<T> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == limit) {
      out.next_cursor = encode_cursor(position_of(out.items.back()));
      break;
    }
    out.items.push_back(convert(row));
  }
  return out;
}

}  // namespace loyalty
