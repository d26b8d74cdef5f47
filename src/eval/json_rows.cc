#include "eval/json_rows.h"

#include "core/json_parse.h"
#include "core/file_util.h"

namespace kvpress::eval {

using nlohmann::json;

namespace {

// Unwraps the container formats into a list of row objects.
bool RowsFromDocument(const json& doc, JsonRows& out) {
  if (doc.is_array()) {
    for (size_t i = 0; i < doc.size(); ++i) out.rows.push_back(doc[i]);
    return true;
  }
  if (!doc.is_object()) return false;
  if (doc.contains("examples") && doc["examples"].is_array()) {  // BIG-bench task.json
    for (const json& e : doc["examples"]) out.rows.push_back(e);
    return true;
  }
  if (doc.contains("rows") && doc["rows"].is_array()) {  // datasets-server /rows page
    for (const json& e : doc["rows"]) {
      if (e.is_object() && e.contains("row")) out.rows.push_back(e["row"]);
      else out.rows.push_back(e);
    }
    return true;
  }
  out.rows.push_back(doc);  // a single row
  return true;
}

}  // namespace

StatusOr<JsonRows> ParseJsonRows(std::string_view text, const std::string& source) {
  JsonRows out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return DataLoss(source + ": empty dataset file");
  if (text[first] == '[' || text[first] == '{') {
    StatusOr<json> doc = ParseJson(text, source);
    if (!doc.ok() && JsonNestingDepth(text) > kMaxJsonDepth) return doc.status();
    if (doc.ok() && RowsFromDocument(*doc, out)) return out;
  }
  size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      if (end == text.size()) break;
      continue;
    }
    StatusOr<json> row = ParseJson(line, "line " + std::to_string(line_no));
    if (!row.ok()) {
      out.bad_lines.push_back(row.status().message());
    } else {
      out.rows.push_back(std::move(row).value());
    }
    if (end == text.size()) break;
  }
  if (out.rows.empty())
    return DataLoss(source + ": no JSON rows could be read (" + std::to_string(out.bad_lines.size()) +
                    " invalid lines)");
  return out;
}

StatusOr<JsonRows> ReadJsonRows(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseJsonRows(text, path);
}

}  // namespace kvpress::eval
