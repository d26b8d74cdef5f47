// Chat templates: the Jinja lexer, parser and interpreter, rendered with a fixed conversation.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "jinja/template.h"
#include "jinja/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kvpress::jinja::Value;
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto t = kvpress::jinja::Template::Parse(source, "fuzz.jinja");
  if (!t.ok()) {
    kvpress::fuzz::Tally(true);
    return 0;
  }
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>"},
          {"role": "assistant", "content": "Hello", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}])");
  kvpress::jinja::Context ctx;
  ctx["messages"] = Value::FromJson(messages);
  ctx["add_generation_prompt"] = Value(true);
  ctx["bos_token"] = Value(std::string("<s>"));
  ctx["eos_token"] = Value(std::string("</s>"));
  kvpress::jinja::RenderOptions options;
  options.now = [] { return std::tm{}; };
  options.max_steps = 20000;             // keep each run short; the caps themselves are tested
  options.max_output_bytes = 1 << 20;
  kvpress::fuzz::Tally(!t->Render(ctx, options).ok());
  return 0;
}
