#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace loyaltyd {

/// The fragments under daemon/loyaltyd/openapi/ (file name, JSON text), in name order.
/// 00_base.json holds the document's head; every other file holds {"paths": {...},
/// "components": {...}} for one resource.
const std::vector<std::pair<std::string, std::string>>& openapi_fragments();

/// The whole OpenAPI 3.1 document: the fragments merged.
const nlohmann::json& openapi_document();

}  // namespace loyaltyd
