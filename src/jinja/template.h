// A compiled Jinja template, rendered the way Hugging Face's apply_chat_template renders chat
// templates: jinja2's ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the
// loopcontrols extension; the globals raise_exception(msg), strftime_now(fmt), namespace(...),
// dict(...) and range(...); `tojson` as json.dumps(ensure_ascii=False).
//
// Example:
//   ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(source, "tokenizer_config.json"));
//   ASSIGN_OR_RETURN(std::string prompt, t.Render({{"messages", messages}, {"add_generation_prompt", true}}));
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "jinja/ast.h"
#include "jinja/lexer.h"
#include "jinja/value.h"

namespace kvpress::jinja {

// Template variables by name (messages, bos_token, add_generation_prompt, ...).
using Context = std::unordered_map<std::string, Value>;

struct RenderOptions {
  // The local time strftime_now() formats; empty means the system clock. Inject a fixed time to
  // make renders reproducible (goldens, tests).
  std::function<std::tm()> now;
  // Rendering fails once the output exceeds this many bytes (guards against runaway templates).
  size_t max_output_bytes = size_t{64} << 20;
  // Macro call depth limit.
  int max_call_depth = 200;
  // Rendering fails after this many loop iterations and macro calls in all (nested loops and
  // branching recursion would otherwise run for hours; real chat templates need thousands).
  int64_t max_steps = 1'000'000;
};

class Template {
 public:
  // Parses `source`. `name` prefixes every error ("<name>:<line>: ...", e.g. the file it came
  // from). Syntax errors are DataLoss; constructs outside the supported subset Unimplemented.
  static StatusOr<Template> Parse(std::string_view source, std::string name = "<template>",
                                  const LexerOptions& options = LexerOptions());

  // Renders with `context` as the template's variables. Runtime errors (raise_exception, type
  // errors, undefined values used as values, unsupported filters/tests/methods) come back as a
  // non-ok Status naming the template line; nothing is thrown.
  StatusOr<std::string> Render(const Context& context, const RenderOptions& options = RenderOptions()) const;

  const std::string& name() const { return name_; }

 private:
  Template(std::shared_ptr<const Body> body, std::string name) : body_(std::move(body)), name_(std::move(name)) {}

  std::shared_ptr<const Body> body_;  // shared so that a Template is cheap to copy
  std::string name_;
};

}  // namespace kvpress::jinja
