#include "openapi.hpp"

namespace loyaltyd {

namespace {

void merge_objects(nlohmann::json& into, const nlohmann::json& from) {
  for (const auto& [key, value] : from.items()) {
    if (into.contains(key) && into[key].is_object() && value.is_object()) {
      merge_objects(into[key], value);
    } else {
      into[key] = value;
    }
  }
}

}  // namespace

const nlohmann::json& openapi_document() {
  static const nlohmann::json kDocument = [] {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [name, text] : openapi_fragments()) {
      merge_objects(doc, nlohmann::json::parse(text));
    }
    return doc;
  }();
  return kDocument;
}

}  // namespace loyaltyd
