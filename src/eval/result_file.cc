#include "eval/result_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "core/file_util.h"
#include "core/log.h"

namespace kvpress::eval {

using nlohmann::json;

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
      json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (row.is_discarded() || !row.is_object()) {
        return DataLoss(fmt::format("{}:{}: not a JSON object; the result file is damaged", path, line_no));
      }
      rows.push_back(std::move(row));
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
