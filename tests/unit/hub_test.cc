// Hugging Face hub access against a local stand-in of the hub (tests/hub_server.py on 127.0.0.1):
// download into a fresh cache in the standard layout, reuse without network (also offline), sha256
// detection of a corrupted blob, Range resume of a partial download, 401/404/no-network errors,
// sharded weights, and `--model org/name` through the CLI.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/file_util.h"
#include "core/mapped_file.h"
#include "hub/file_lock.h"
#include "hub/http_client.h"
#include "hub/hub_options.h"
#include "hub/repo_id.h"
#include "hub/resolve_model.h"
#include "hub/sha256.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "model/writers.h"
#include "test_util.h"

namespace kvpress {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kToken = "hf_test_secret";

std::string TinyDir() { return testing::Fixture("models/llama_gqa_rope3_f32"); }

// The hub stand-in, one per test suite. Fails loudly (not a skip) when python3 cannot run it.
class HubServer {
 public:
  bool Start(const std::vector<std::string>& repo_args, std::string& error) {
    std::vector<std::string> args = {"--token", kToken};
    args.insert(args.end(), repo_args.begin(), repo_args.end());
    return server_.Start(std::string(KVPRESS_SOURCE_DIR) + "/tests/hub_server.py", args, error);
  }

  const std::string& endpoint() const { return server_.endpoint(); }

  json Stats() const {
    hub::HttpClient http({});
    auto r = http.Get(endpoint() + "/_stats", 64 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return json::object();
    return json::parse(r->body);
  }
  int Requests() const { return Stats().value("requests", -1); }

 private:
  testing::LocalServer server_;
};

// Builds a sharded copy of the tiny model: two shards and an index.
void MakeShardedCopy(const std::string& dir) {
  fs::create_directories(dir);
  fs::copy_file(TinyDir() + "/config.json", dir + "/config.json");
  auto file = MappedFile::Open(TinyDir() + "/model.safetensors");
  ASSERT_TRUE(file.ok());
  TensorSet set;
  ASSERT_TRUE(ReadSafetensors(**file, set).ok());
  std::vector<TensorToWrite> shards[2];
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  int i = 0;
  for (const auto& [name, t] : set) {
    const int s = (i++ % 2);
    shards[s].push_back({name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
    index["weight_map"][name] =
        s == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00001-of-00002.safetensors", shards[0]).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00002-of-00002.safetensors", shards[1]).ok());
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2);
}

std::vector<float> Logits(const Model& model) {
  return testing::AllLogits(model, {1, 17, 300, 42, 7, 511, 3}, /*threads=*/1);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class HubTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sharded_dir_ = new std::string(testing::TempDir("hub-sharded") + "/repo");
    MakeShardedCopy(*sharded_dir_);
    config_only_dir_ = new std::string(testing::TempDir("hub-configonly"));
    fs::copy_file(TinyDir() + "/config.json", *config_only_dir_ + "/config.json");
    server_ = new HubServer();
    if (!server_->Start(
            {"--repo", "test/tiny=" + TinyDir(), "--repo", "test/sharded=" + *sharded_dir_,
             "--repo", "test/config-only=" + *config_only_dir_, "--gated",
             "test/gated=" + TinyDir(), "--alias", "test/old-name=test/tiny"},
            *start_error_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    fs::remove_all(fs::path(*sharded_dir_).parent_path());
    fs::remove_all(*config_only_dir_);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << *start_error_;
    cache_ = testing::TempDir("hub-cache");
    ASSERT_FALSE(cache_.empty());
  }
  void TearDown() override { fs::remove_all(cache_); }

  hub::HubOptions Options(bool offline = false) const {
    hub::HubOptions o;
    o.cache_dir = cache_;
    o.endpoint = server_->endpoint();
    o.offline = offline;
    o.progress = false;
    o.connect_timeout_s = 5;
    o.stall_timeout_s = 10;
    return o;
  }
  std::string RepoDir(const std::string& name) const { return cache_ + "/models--test--" + name; }

  static HubServer* server_;
  static std::string* start_error_;
  static std::string* sharded_dir_;
  static std::string* config_only_dir_;
  std::string cache_;
};
HubServer* HubTest::server_ = nullptr;
std::string* HubTest::start_error_ = new std::string();
std::string* HubTest::sharded_dir_ = nullptr;
std::string* HubTest::config_only_dir_ = nullptr;

TEST(HubRepoId, ParsesIdsAndRejectsPaths) {
  auto r = hub::ParseRepoId("meta-llama/Llama-3.2-1B@refs/pr/1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->org, "meta-llama");
  EXPECT_EQ(r->name, "Llama-3.2-1B");
  EXPECT_EQ(r->revision, "refs/pr/1");
  EXPECT_EQ(hub::RepoFolderName(*r), "models--meta-llama--Llama-3.2-1B");
  EXPECT_EQ(hub::UrlEncode(r->revision), "refs%2Fpr%2F1");
  EXPECT_EQ(hub::ParseRepoId("Qwen/Qwen2.5-0.5B")->revision, "main");
  EXPECT_TRUE(hub::LooksLikeRepoId("Qwen/Qwen2.5-0.5B-Instruct"));
  for (const char* path :
       {"/abs/model", "./a/b", "a/b/c", "model", "dir/model.gguf", "dir/stories.bin", "../x",
        "a/..", "a/b@", "a b/c", "org/model.safetensors", "a/b@../x"}) {
    EXPECT_FALSE(hub::LooksLikeRepoId(path)) << path;
  }
}

// A lock file removed on release (finished eval runs) leaves nothing behind, and a waiter that
// opened the removed file ends up holding the lock on the file the path names now.
TEST(HubFileLock, RemoveOnReleaseIsSafeAgainstWaiters) {
  const std::string path = testing::TempDir("hub-lock") + "/run.lock";
  auto first = hub::FileLock::TryAcquire(path);
  ASSERT_TRUE(first.ok() && *first != nullptr);
  auto busy = hub::FileLock::TryAcquire(path);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(*busy, nullptr);  // held: flock conflicts between open files, even in one process
  std::unique_ptr<hub::FileLock> waiter_lock;
  std::thread waiter([&] {
    auto l = hub::FileLock::Acquire(path);  // blocks on the file `first` holds
    ASSERT_TRUE(l.ok());
    waiter_lock = std::move(*l);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*first)->RemoveOnRelease();
  first->reset();
  waiter.join();
  ASSERT_NE(waiter_lock, nullptr);
  EXPECT_TRUE(FileExists(path));  // the waiter started over on a new file
  auto again = hub::FileLock::TryAcquire(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, nullptr) << "the waiter must hold the file the path names";
  waiter_lock->RemoveOnRelease();
  waiter_lock.reset();
  EXPECT_FALSE(FileExists(path));
}

TEST(HubOptions, ReadsTheStandardEnvironment) {
  const std::string home = testing::TempDir("hub-home");
  std::ofstream(home + "/token") << "  hf_from_file\n";
  ::setenv("HF_HOME", home.c_str(), 1);
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HF_TOKEN_PATH");
  ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  hub::HubOptions o = hub::HubOptionsFromEnvironment();
  EXPECT_EQ(o.cache_dir, home + "/hub");
  EXPECT_EQ(o.endpoint, "http://mirror.example");
  EXPECT_EQ(o.token, "hf_from_file");
  EXPECT_TRUE(o.offline);
  ::setenv("HF_HUB_CACHE", "/elsewhere/hub", 1);
  ::setenv("HF_TOKEN", "hf_env", 1);
  ::setenv("HF_HUB_OFFLINE", "0", 1);
  o = hub::HubOptionsFromEnvironment();
  EXPECT_EQ(o.cache_dir, "/elsewhere/hub");
  EXPECT_EQ(o.token, "hf_env");
  EXPECT_FALSE(o.offline);
  for (const char* v : {"HF_HOME", "HF_HUB_CACHE", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"})
    ::unsetenv(v);
  fs::remove_all(home);
}

TEST_F(HubTest, DownloadsIntoAFreshCacheInTheStandardLayoutAndLoads) {
  const int before = server_->Requests();
  auto resolved = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  const std::string repo = RepoDir("tiny");
  EXPECT_EQ(resolved->snapshot_dir, repo + "/snapshots/" + resolved->commit);
  EXPECT_EQ(Slurp(repo + "/refs/main"), resolved->commit);  // no newline, like the Python client
  // Relative links into blobs/: sha256 for the LFS file, the git sha1 for small files.
  auto sha = hub::Sha256File(TinyDir() + "/model.safetensors");
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(fs::read_symlink(resolved->snapshot_dir + "/model.safetensors").string(),
            "../../blobs/" + *sha);
  const std::string config_target =
      fs::read_symlink(resolved->snapshot_dir + "/config.json").string();
  EXPECT_EQ(config_target.rfind("../../blobs/", 0), 0u) << config_target;
  EXPECT_EQ(config_target.size(), std::string("../../blobs/").size() + 40);
  EXPECT_EQ(Slurp(resolved->snapshot_dir + "/config.json"), Slurp(TinyDir() + "/config.json"));
  EXPECT_TRUE(fs::exists(repo + "/.no_exist/" + resolved->commit + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(repo + "/blobs/" + *sha + ".incomplete"));
  // The LFS file went through the CDN redirect.
  const json log = server_->Stats()["log"];
  bool cdn = false;
  for (size_t i = static_cast<size_t>(before); i < log.size(); ++i) {
    cdn = cdn || log[i]["path"].get<std::string>().rfind("/cdn/", 0) == 0;
  }
  EXPECT_TRUE(cdn);

  auto hub_model = LoadModel(resolved->snapshot_dir);
  auto local_model = LoadModel(TinyDir());
  ASSERT_TRUE(hub_model.ok() && local_model.ok());
  EXPECT_EQ(Logits(**hub_model), Logits(**local_model));

  // A second resolve does not touch the network, online or offline.
  const int after_first = server_->Requests();
  auto again = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->snapshot_dir, resolved->snapshot_dir);
  auto offline = hub::ResolveModel("test/tiny", Options(/*offline=*/true));
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  auto by_commit = hub::ResolveModel("test/tiny@" + resolved->commit, Options(/*offline=*/true));
  ASSERT_TRUE(by_commit.ok()) << by_commit.status().ToString();
  EXPECT_EQ(server_->Requests(), after_first);
}

TEST_F(HubTest, LoadModelAndTheCliResolveIdsThroughTheEnvironment) {
  ::setenv("HF_HUB_CACHE", cache_.c_str(), 1);
  ::setenv("HF_ENDPOINT", server_->endpoint().c_str(), 1);
  ::setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1", 1);
  auto model = LoadModel("test/tiny");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->path.rfind(RepoDir("tiny") + "/snapshots/", 0), 0u) << (*model)->path;
  auto local = LoadModel(TinyDir());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(Logits(**model), Logits(**local));

  const int requests = server_->Requests();
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  testing::CommandResult r = testing::RunKvpress("inspect --model test/tiny");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = testing::RunKvpress("inspect --model test/absent");  // offline, not cached
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("HF_HUB_OFFLINE"), std::string::npos) << r.err;
  EXPECT_EQ(server_->Requests(), requests);
  ::unsetenv("HF_HUB_OFFLINE");
  r = testing::RunKvpress("inspect --model test/absent");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("repository not found"), std::string::npos) << r.err;
  // A missing local path that is not an id keeps the plain error.
  r = testing::RunKvpress("inspect --model no/such/dir");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such model file or directory"), std::string::npos) << r.err;
  for (const char* v : {"HF_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_DISABLE_PROGRESS_BARS"})
    ::unsetenv(v);
}

TEST_F(HubTest, CorruptedBlobIsDetectedAndDownloadedAgain) {
  auto resolved = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  auto sha = hub::Sha256File(TinyDir() + "/model.safetensors");
  ASSERT_TRUE(sha.ok());
  const std::string blob = RepoDir("tiny") + "/blobs/" + *sha;
  {  // flip one byte in the middle of the blob
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100000);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(100000);
    f.write(&c, 1);
  }
  // Offline: an error naming the blob.
  auto offline = hub::ResolveModel("test/tiny", Options(/*offline=*/true));
  ASSERT_FALSE(offline.ok());
  EXPECT_EQ(offline.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(offline.status().message().find("sha256 mismatch"), std::string::npos)
      << offline.status().message();
  EXPECT_NE(offline.status().message().find(blob), std::string::npos) << offline.status().message();
  // Online: downloaded again, and correct.
  const int requests = server_->Requests();
  auto repaired = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_GT(server_->Requests(), requests);
  EXPECT_EQ(hub::Sha256File(blob).value(), *sha);
  auto model = LoadModel(repaired->snapshot_dir);
  auto local = LoadModel(TinyDir());
  ASSERT_TRUE(model.ok() && local.ok());
  EXPECT_EQ(Logits(**model), Logits(**local));
}

TEST_F(HubTest, PartialDownloadIsResumedWithARangeRequest) {
  auto sha = hub::Sha256File(TinyDir() + "/model.safetensors");
  ASSERT_TRUE(sha.ok());
  const std::string content = Slurp(TinyDir() + "/model.safetensors");
  const std::string blobs = RepoDir("tiny") + "/blobs";
  fs::create_directories(blobs);
  std::ofstream(blobs + "/" + *sha + ".incomplete", std::ios::binary) << content.substr(0, 200000);
  const int before = server_->Requests();
  auto resolved = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  const json log = server_->Stats()["log"];
  bool ranged = false;
  for (size_t i = static_cast<size_t>(before); i < log.size(); ++i) {
    ranged = ranged || log[i]["range"] == "bytes=200000-";
  }
  EXPECT_TRUE(ranged) << log.dump();
  EXPECT_EQ(Slurp(blobs + "/" + *sha), content);
  EXPECT_FALSE(fs::exists(blobs + "/" + *sha + ".incomplete"));

  // A partial file whose bytes are wrong fails the sha256 check once and is fetched from scratch.
  fs::remove_all(RepoDir("tiny"));
  fs::create_directories(blobs);
  std::ofstream(blobs + "/" + *sha + ".incomplete", std::ios::binary) << std::string(1000, 'x');
  resolved = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(Slurp(blobs + "/" + *sha), content);
}

TEST_F(HubTest, GatedRepositoryNeedsTheToken) {
  auto denied = hub::ResolveModel("test/gated", Options());
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("401"), std::string::npos) << denied.status().message();
  EXPECT_NE(denied.status().message().find("HF_TOKEN"), std::string::npos)
      << denied.status().message();
  EXPECT_NE(denied.status().message().find("gated or private"), std::string::npos)
      << denied.status().message();
  hub::HubOptions wrong = Options();
  wrong.token = "hf_wrong";
  denied = hub::ResolveModel("test/gated", wrong);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("rejected"), std::string::npos)
      << denied.status().message();
  hub::HubOptions right = Options();
  right.token = kToken;
  auto ok = hub::ResolveModel("test/gated", right);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST_F(HubTest, NotFoundErrorsAreClear) {
  auto r = hub::ResolveModel("test/nothing-here", Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("test/nothing-here: repository not found"), std::string::npos)
      << r.status().message();
  r = hub::ResolveModel("test/tiny@v9", Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("revision 'v9' not found"), std::string::npos)
      << r.status().message();
  r = hub::ResolveModel("test/config-only", Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("neither model.safetensors nor model.safetensors.index.json"),
            std::string::npos)
      << r.status().message();
  // Offline with nothing cached.
  r = hub::ResolveModel("test/tiny", Options(/*offline=*/true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("HF_HUB_OFFLINE"), std::string::npos) << r.status().message();
}

TEST_F(HubTest, NoNetworkIsAClearError) {
  hub::HubOptions o = Options();
  o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  auto r = hub::ResolveModel("test/tiny", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot reach the Hugging Face hub"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().message();
}

TEST_F(HubTest, ReusesACacheMadeByThePythonClient) {
  // What huggingface_hub leaves after hf_hub_download of config.json and model.safetensors and a
  // failed one of tokenizer.json: refs, relative links into blobs/, a .no_exist marker, no
  // kvpress stamps.
  const std::string other = testing::TempDir("hub-other");
  hub::HubOptions first = Options();
  first.cache_dir = other;
  auto probe = hub::ResolveModel("test/tiny", first);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  const std::string commit = probe->commit;
  fs::remove_all(other);
  auto sha = hub::Sha256File(TinyDir() + "/model.safetensors");
  ASSERT_TRUE(sha.ok());
  const std::string repo = RepoDir("tiny");
  fs::create_directories(repo + "/refs");
  fs::create_directories(repo + "/blobs");
  fs::create_directories(repo + "/snapshots/" + commit);
  fs::create_directories(repo + "/.no_exist/" + commit);
  std::ofstream(repo + "/refs/main") << commit;
  fs::copy_file(TinyDir() + "/config.json",
                repo + "/blobs/0123456789abcdef0123456789abcdef01234567");
  fs::copy_file(TinyDir() + "/model.safetensors", repo + "/blobs/" + *sha);
  fs::create_symlink("../../blobs/0123456789abcdef0123456789abcdef01234567",
                     repo + "/snapshots/" + commit + "/config.json");
  fs::create_symlink("../../blobs/" + *sha, repo + "/snapshots/" + commit + "/model.safetensors");
  std::ofstream(repo + "/.no_exist/" + commit + "/tokenizer.json");

  const int before = server_->Requests();
  auto offline = hub::ResolveModel("test/tiny", Options(/*offline=*/true));
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(offline->snapshot_dir, repo + "/snapshots/" + commit);
  EXPECT_EQ(server_->Requests(), before);
  EXPECT_TRUE(fs::exists(repo + "/.kvpress/verified/" + *sha));  // hashed once, then trusted
  // Online, only the optional files it never asked about are fetched (generation_config.json); the
  // cached config and weights are not.
  auto online = hub::ResolveModel("test/tiny", Options());
  ASSERT_TRUE(online.ok()) << online.status().ToString();
  const json log = server_->Stats()["log"];
  for (size_t i = static_cast<size_t>(before); i < log.size(); ++i) {
    const std::string path = log[i]["path"];
    EXPECT_EQ(path.find("model.safetensors"), std::string::npos) << path;
    EXPECT_FALSE(path.size() >= 12 && path.compare(path.size() - 12, 12, "/config.json") == 0)
        << path;
    EXPECT_EQ(path.rfind("/cdn/", 0), std::string::npos) << path;
  }
  EXPECT_TRUE(FileExists(online->snapshot_dir + "/generation_config.json"));
  auto model = LoadModel(online->snapshot_dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
}

TEST_F(HubTest, RenamedRepositoryFollowsTheRelativeRedirect) {
  auto resolved = hub::ResolveModel("test/old-name", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->snapshot_dir.rfind(RepoDir("old-name") + "/snapshots/", 0), 0u)
      << resolved->snapshot_dir;
  auto model = LoadModel(resolved->snapshot_dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
}

TEST_F(HubTest, ShardedWeightsAreFetchedFromTheIndex) {
  auto resolved = hub::ResolveModel("test/sharded", Options());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  for (const char* f : {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                        "model-00002-of-00002.safetensors"}) {
    EXPECT_TRUE(FileExists(resolved->snapshot_dir + "/" + f)) << f;
  }
  EXPECT_TRUE(
      fs::exists(RepoDir("sharded") + "/.no_exist/" + resolved->commit + "/model.safetensors"));
  auto model = LoadModel(resolved->snapshot_dir);
  auto local = LoadModel(TinyDir());
  ASSERT_TRUE(model.ok() && local.ok()) << model.status().ToString();
  EXPECT_EQ(Logits(**model), Logits(**local));
  const int requests = server_->Requests();
  ASSERT_TRUE(hub::ResolveModel("test/sharded", Options(/*offline=*/true)).ok());
  ASSERT_TRUE(hub::ResolveModel("test/sharded", Options()).ok());
  EXPECT_EQ(server_->Requests(), requests);
}

}  // namespace
}  // namespace kvpress
