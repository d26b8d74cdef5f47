// The serve layer without a model or a socket: OpenAI request parsing and its errors, stop strings
// on streamed text, the job channel, and the Prometheus text.
#include <gtest/gtest.h>

#include <thread>

#include "serve/api_request.h"
#include "serve/job.h"
#include "serve/server_stats.h"
#include "serve/stop_text.h"

namespace kvpress::serve {
namespace {

TEST(ParseApiRequest, ReadsEveryField) {
  const auto r = ParseApiRequest(R"({"model": "m", "messages": [{"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": 42, "stop": ["x", "yz"], "stream": true,
      "stream_options": {"include_usage": true}, "press": "snapkv:window=4", "cache_budget": 16,
      "user": "ignored", "logprobs": false, "tools": [], "chat_template_kwargs": {"enable_thinking": false}})",
                                 Endpoint::kChat, RequestLimits{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->model, "m");
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1]["content"], "ab");
  EXPECT_EQ(r->max_tokens, 7);
  EXPECT_FLOAT_EQ(r->temperature, 0.5f);
  EXPECT_FLOAT_EQ(r->top_p, 0.9f);
  EXPECT_EQ(r->seed, 42u);
  EXPECT_EQ(r->stop, (std::vector<std::string>{"x", "yz"}));
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->press, "snapkv:window=4");
  EXPECT_EQ(r->cache_budget, 16);
  EXPECT_EQ(r->chat_template_kwargs["enable_thinking"], false);
}

TEST(ParseApiRequest, DefaultsFollowOpenAiAndTheLimits) {
  RequestLimits limits;
  limits.default_max_tokens = 33;
  const auto r = ParseApiRequest(R"({"prompt": ["hello"]})", Endpoint::kCompletion, limits);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->prompt, "hello");
  EXPECT_EQ(r->max_tokens, 33);
  EXPECT_FLOAT_EQ(r->temperature, 1.0f);  // OpenAI's default
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->press.empty());
}

TEST(ParseApiRequest, ErrorsNameTheField) {
  RequestLimits limits;
  limits.max_tokens = 100;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "invalid JSON"},
      {"3", "JSON object"},
      {R"({"messages": {}})", "messages:"},
      {R"({"messages": [{"role": "user", "content": 3}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0]"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 101})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": -1})", "max_completion_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 2.5})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_p": 0})", "top_p"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 3})", "n:"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": ""})", "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": 1})", "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream_options": []})", "stream_options"},
      {R"({"messages": [{"role": "user", "content": "x"}], "press": ["snapkv"]})", "press"},
      {R"({"messages": [{"role": "user", "content": "x"}], "compression_ratio": 0.5})", "need press"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})", "logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": [1]})", "chat_template_kwargs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", "tools"},
      {R"({"messages": [{"role": "user", "content": "x"}], "press": "knorm", "compression_ratio": 1})",
       "compression_ratio"},
  };
  for (const auto& [body, words] : cases) {
    const auto r = ParseApiRequest(body, Endpoint::kChat, limits);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_NE(r.status().message().find(words), std::string::npos) << body << " -> " << r.status().message();
  }
}

// Feeds `pieces` one by one and returns what would be sent.
std::string Stream(StopText& s, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += s.Push(p);
  return out;
}

TEST(StopText, CutsBeforeTheFirstStopAcrossPieces) {
  StopText s({"\\boxed", "END"});
  EXPECT_EQ(Stream(s, {"a=1. ", "\\bo"}), "a=1. ");  // "\bo" may start "\boxed": held back
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.Push("xed{2}"), "");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.Push("more"), "");
  EXPECT_EQ(s.Flush(), "");
  EXPECT_EQ(s.sent(), "a=1. ");
}

TEST(StopText, ReleasesHeldTextThatDidNotBecomeAStop) {
  StopText s({"END"});
  EXPECT_EQ(s.Push("the EN"), "the ");
  EXPECT_EQ(s.Push("D? no: ENT"), "");  // "END" completes inside this piece
  EXPECT_TRUE(s.stopped());
  StopText t({"END"});
  EXPECT_EQ(t.Push("the EN"), "the ");
  EXPECT_EQ(t.Push("TER"), "ENTER");
  EXPECT_EQ(t.Push("E"), "");
  EXPECT_EQ(t.Flush(), "E");
  EXPECT_EQ(t.sent(), "the ENTERE");
}

TEST(StopText, EarliestOfSeveralStopsWins) {
  StopText s({"cd", "b"});
  EXPECT_EQ(s.Push("abcd"), "a");
  StopText none({});
  EXPECT_EQ(none.Push("abc"), "abc");
}

TEST(Job, TextAndEndArriveInOrderAcrossThreads) {
  Job job(JobSpec{});
  std::thread engine([&] {
    job.MarkStarted();
    for (int i = 0; i < 100; ++i) job.PushText(std::to_string(i % 10));
    job.Finish(JobOutcome{"length", 100, nlohmann::json::object()});
  });
  EXPECT_TRUE(job.WaitStarted(Clock::now() + std::chrono::seconds(10)));
  std::string text;
  JobEvent e;
  while (!(e = job.Next(std::chrono::milliseconds(100))).finished) text += e.text;
  text += e.text;
  engine.join();
  ASSERT_EQ(text.size(), 100u);
  EXPECT_EQ(text.substr(0, 12), "012345678901");
  ASSERT_TRUE(e.outcome.has_value());
  EXPECT_EQ(e.outcome->finish_reason, "length");
  EXPECT_TRUE(e.error.ok());
}

TEST(Job, FailureIsAnEndWithAnError) {
  Job job(JobSpec{});
  job.Fail(Cancelled("gone"));
  EXPECT_TRUE(job.WaitStarted(Clock::now()));
  const JobEvent e = job.Next(std::chrono::milliseconds(0));
  EXPECT_TRUE(e.finished);
  EXPECT_EQ(e.error.code(), StatusCode::kCancelled);
  EXPECT_EQ(job.error().message(), "gone");
}

TEST(ServerStats, PrometheusTextKeepsThePeak) {
  ServerStats stats;
  stats.SetKvBytesLive(1000);
  stats.SetKvBytesLive(300);
  stats.CountResponse(200);
  stats.CountResponse(429);
  stats.CountResponse(400);
  stats.CountGeneration(10, 5, 0.5, "stop");
  stats.CountStep(4, 0.01);
  stats.SetQueueLength(3);
  const std::string text = stats.RenderPrometheus("my \"model\"", 4);
  for (const char* line : {"kvpress_kv_bytes_live 300\n", "kvpress_kv_bytes_peak 1000\n",
                           "kvpress_requests_total{code=\"2xx\"} 1\n", "kvpress_requests_total{code=\"429\"} 1\n",
                           "kvpress_requests_total{code=\"4xx\"} 1\n", "kvpress_prompt_tokens_total 10\n",
                           "kvpress_completion_tokens_total 5\n", "kvpress_queue_length 3\n",
                           "kvpress_tokens_per_second 400.000\n", "kvpress_model_info{model=\"my \\\"model\\\"\"} 1\n",
                           "# TYPE kvpress_kv_bytes_peak gauge\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace kvpress::serve
