#pragma once
// Ids are uuids; anything else in an id's place is "not found", never a database cast error.

#include <string_view>

namespace loyalty {

/// True for the canonical 8-4-4-4-12 hexadecimal form (either case).
bool is_uuid(std::string_view text) noexcept;

}  // namespace loyalty
