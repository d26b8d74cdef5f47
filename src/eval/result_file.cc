#include "eval/result_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/log.h"

namespace kvpress::eval {

using nlohmann::json;

namespace {

// The fields a run reads back from its rows (resume, rescore, summary) must have the types the
// runner writes; a hand-edited row with another type is DataLoss naming the file, line and field.
Status CheckRowFields(const json& row, const std::string& where) {
  struct Field {
    const char* key;
    json::value_t type;  // number_float stands for any number
    const char* name;
  };
  static const Field kFields[] = {
      {"response", json::value_t::string, "a string"},       {"gt_answer", json::value_t::string, "a string"},
      {"extracted_answer", json::value_t::string, "a string"}, {kSampleIdKey, json::value_t::string, "a string"},
      {"correct", json::value_t::boolean, "true or false"},    {"score", json::value_t::number_float, "a number"},
      {"gold_answers", json::value_t::array, "an array"},      {"truncated", json::value_t::boolean, "true or false"},
  };
  for (const Field& f : kFields) {
    auto it = row.find(f.key);
    if (it == row.end()) continue;
    const bool ok = f.type == json::value_t::number_float ? it->is_number() : it->type() == f.type;
    if (!ok) {
      return DataLoss(fmt::format("{}: field '{}' holds a {}, expected {}; the result file was edited or damaged",
                                  where, f.key, it->type_name(), f.name));
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<json>> ReadResultRows(const std::string& path, bool repair) {
  std::vector<json> rows;
  if (!FileExists(path)) return rows;
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  // Rows are appended whole, newline last: a line without its newline is the torn tail.
  size_t pos = 0, good_end = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // torn tail
    ++line_no;
    const std::string_view line(text.data() + pos, nl - pos);
    if (!line.empty()) {
      const std::string where = fmt::format("{}:{}", path, line_no);
      StatusOr<json> row = ParseJson(line, where);
      if (!row.ok() && JsonNestingDepth(line) > kMaxJsonDepth) return row.status();
      if (!row.ok() || !row->is_object()) {
        return DataLoss(fmt::format("{}: not a JSON object; the result file is damaged", where));
      }
      RETURN_IF_ERROR(CheckRowFields(*row, where));
      rows.push_back(std::move(row).value());
    }
    pos = nl + 1;
    good_end = pos;
  }
  if (good_end < text.size()) {
    Log(LogLevel::kWarning, "{}: dropping a torn last line ({} bytes) left by an interrupted run", path,
        text.size() - good_end);
    if (repair) {
      std::error_code ec;
      std::filesystem::resize_file(path, good_end, ec);
      if (ec) return DataLoss(fmt::format("{}: cannot cut the torn last line: {}", path, ec.message()));
    }
  }
  return rows;
}

ResultAppender::~ResultAppender() {
  if (file_ != nullptr) std::fclose(file_);
}

Status ResultAppender::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) return NotFound(fmt::format("{}: cannot open for appending: {}", path, std::strerror(errno)));
  return Status::Ok();
}

Status ResultAppender::Append(const json& row) {
  CHECK(file_ != nullptr);
  const std::string line = JsonLinesText({row});
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return DataLoss(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
  }
  ::fsync(fileno(file_));
  return Status::Ok();
}

std::string JsonLinesText(const std::vector<json>& rows) {
  std::string text;
  for (const json& row : rows) text += row.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return text;
}

Status WriteResultRows(const std::string& path, const std::vector<json>& rows) {
  return WriteFileAtomic(path, JsonLinesText(rows));
}

std::set<std::string> RowIds(const std::vector<json>& rows) {
  std::set<std::string> ids;
  for (const json& row : rows) {
    auto it = row.find(kSampleIdKey);
    if (it != row.end() && it->is_string()) ids.insert(it->get<std::string>());
  }
  return ids;
}

}  // namespace kvpress::eval
