#include "test_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/transformer.h"

namespace kvpress::testing {

std::string SharedData(const std::string& rel) {
  const std::string p = std::string(KVPRESS_SHARED_DATA) + "/" + rel;
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? p : "";
}

std::string Fixture(const std::string& rel) { return std::string(KVPRESS_FIXTURES) + "/" + rel; }

namespace {
// The directories TempDir made in this process; removed when the process exits normally, unless
// KVPRESS_KEEP_TEMP is set (to look at a failing test's files). Without this every run of the suite
// left gigabytes under /tmp (converted models, quantized copies).
struct TempDirRegistry {
  std::vector<std::string> dirs;
  ~TempDirRegistry() {
    if (std::getenv("KVPRESS_KEEP_TEMP") != nullptr) return;
    for (const std::string& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
};
TempDirRegistry& TempDirs() {
  static TempDirRegistry registry;
  return registry;
}
}  // namespace

std::string TempDir(const std::string& tag) {
  std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/kvpress-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* d = ::mkdtemp(buf.data());
  if (d == nullptr) return std::string();
  TempDirs().dirs.emplace_back(d);
  return std::string(d);
}

void WriteText(const std::string& path, const std::string& text) {
  std::error_code ec;
  if (std::filesystem::path(path).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunKvpress(const std::string& args) {
  CommandResult r;
  const std::string dir = TempDir("cmd");
  const std::string out = dir + "/out", err = dir + "/err";
  const std::string cmd = std::string(KVPRESS_BIN) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  ::rmdir(dir.c_str());
  return r;
}

std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

std::tm TemplateGoldensNow() {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  tm.tm_hour = 13;
  tm.tm_min = 5;
  tm.tm_sec = 9;
  tm.tm_wday = 5;
  tm.tm_yday = 207;
  return tm;
}

double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::fabs(static_cast<double>(b[i])));
  }
  return den > 0 ? num / den : num;
}

std::vector<float> AllLogits(const Model& m, const std::vector<int32_t>& ids, int threads) {
  Transformer t(m, threads);
  KVCache cache = t.NewCache();
  std::vector<int32_t> pos(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) pos[i] = static_cast<int32_t>(i);
  ForwardOptions o;
  o.all_logits = true;
  std::vector<float> logits;
  EXPECT_TRUE(t.Forward(ids, pos, cache, o, logits).ok());
  return logits;
}

std::unique_ptr<Model> MustLoad(const std::string& path) {
  auto m = LoadModel(path);
  EXPECT_TRUE(m.ok()) << path << ": " << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

LocalServer::~LocalServer() {
  if (pid_ > 0) {
    ::close(stdin_);  // the server exits on stdin EOF; SIGTERM in case it does not
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    ::close(stdout_);
  }
}

bool LocalServer::Start(const std::string& script_path, const std::vector<std::string>& args,
                        std::string& error) {
  int out[2], in[2];
  if (::pipe(out) != 0 || ::pipe(in) != 0) {
    error = "pipe failed";
    return false;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(in[0], STDIN_FILENO);
    for (int fd : {out[0], out[1], in[0], in[1]}) ::close(fd);
    std::vector<std::string> argv_s = {"python3", script_path, "--timeout", "600",
                                       "--exit-on-stdin-eof"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("python3", argv.data());
    std::fprintf(stderr, "LocalServer: cannot run python3 %s: %s\n", script_path.c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  stdin_ = in[1];
  stdout_ = out[0];
  std::string line;  // "PORT <n>\n" within 30 s
  while (line.find('\n') == std::string::npos) {
    pollfd p{stdout_, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    char buf[64];
    const ssize_t n = ::read(stdout_, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  if (line.rfind("PORT ", 0) != 0) {
    error = script_path + " did not start (is python3 installed?): got '" + line + "'";
    return false;
  }
  endpoint_ = "http://127.0.0.1:" + std::to_string(std::atoi(line.c_str() + 5));
  return true;
}

}  // namespace kvpress::testing
