// The chat-template interpreter: conformance with jinja2 (committed goldens made by
// scripts/goldens/make_template_goldens.py) and targeted tests of each construct, whitespace
// control, Python value semantics and error reporting.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "jinja/template.h"
#include "jinja/value.h"

namespace kvpress::jinja {
namespace {

std::tm FixedNow() { return testing::TemplateGoldensNow(); }

RenderOptions Options() {
  RenderOptions o;
  o.now = FixedNow;
  return o;
}

nlohmann::ordered_json ReadFixture(const std::string& rel) {
  std::ifstream in(testing::Fixture(rel), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::ordered_json::parse(ss.str(), nullptr, false);
}

StatusOr<std::string> Render(const std::string& source, const Context& ctx = {}) {
  ASSIGN_OR_RETURN(Template t, Template::Parse(source, "t.jinja"));
  return t.Render(ctx, Options());
}

std::string MustRender(const std::string& source, const Context& ctx = {}) {
  auto r = Render(source, ctx);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

TEST(JinjaConformance, MatchesJinja2OnEveryCommittedCase) {
  const nlohmann::ordered_json goldens = ReadFixture("template_goldens/jinja_cases.json");
  ASSERT_TRUE(goldens.is_object()) << "missing tests/fixtures/template_goldens/jinja_cases.json";
  int passed = 0, total = 0;
  for (const auto& c : goldens["cases"]) {
    ++total;
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    Context ctx;
    for (auto it = c["context"].begin(); it != c["context"].end(); ++it) ctx[it.key()] = Value::FromJson(it.value());
    auto r = Render(c["template"].get<std::string>(), ctx);
    if (c.contains("error")) {
      EXPECT_FALSE(r.ok()) << "jinja2 raised " << c["error"] << " but we rendered " << (r.ok() ? *r : "");
      if (!r.ok()) {
        EXPECT_EQ(r.status().message().rfind("t.jinja:", 0), 0u) << r.status().message();
        ++passed;
      }
    } else {
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(*r, c["output"].get<std::string>());
        passed += *r == c["output"].get<std::string>();
      }
    }
  }
  EXPECT_GE(total, 140);
  EXPECT_EQ(passed, total);
}

TEST(JinjaWhitespace, TrimBlocksAndLstripBlocksAsHuggingFace) {
  EXPECT_EQ(MustRender("  {% if true %}\n  x\n  {% endif %}\n  y"), "  x\n  y");
  EXPECT_EQ(MustRender("a  {{- ' b ' -}}  c"), "a b c");
  EXPECT_EQ(MustRender("{%- if true -%}\n  a  \n{%- endif -%}  b"), "ab");
  EXPECT_EQ(MustRender("  {%+ if true %}x{% endif +%}\n y"), "  x\n y");
  EXPECT_EQ(MustRender("{# c #}\nx"), "x");
  EXPECT_EQ(MustRender("{{ 'x' }}\n"), "x");             // one trailing newline dropped
  EXPECT_EQ(MustRender("{{ 'x' }}\n\n"), "x\n");
  EXPECT_EQ(MustRender("    {{ 'v' }}\n"), "    v");     // lstrip_blocks leaves {{ }} alone
  EXPECT_EQ(MustRender("a\r\nb"), "a\nb");
  EXPECT_EQ(MustRender("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(JinjaValues, PythonStrAndRepr) {
  EXPECT_EQ(PyFloatRepr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PyFloatRepr(1.0), "1.0");
  EXPECT_EQ(PyFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PyFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PyFloatRepr(1e-5), "1e-05");
  EXPECT_EQ(PyFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PyFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PyFloatRepr(1.5e300), "1.5e+300");
  EXPECT_EQ(MustRender("{{ x }} {{ y }} {{ z }} {{ w }}",
                       {{"x", Value::None()}, {"y", Value(true)}, {"z", Value(2.0)}, {"w", Value("s")}}),
            "None True 2.0 s");
  EXPECT_EQ(Value::List({Value("it's"), Value(1), Value::None()}).ToString(), "[\"it's\", 1, None]");
  EXPECT_EQ(Value::List({Value(1)}, true).Repr(), "(1,)");
}

TEST(JinjaValues, ToJsonMatchesPythonJsonDumps) {
  const Value v = Value::FromJson(nlohmann::ordered_json::parse(R"({"b": [1, 2.5, true, null], "a": "é\n\"x\""})"));
  JsonDumpOptions o;
  EXPECT_EQ(PyJsonDumps(v, o).value(), R"({"b": [1, 2.5, true, null], "a": "é\n\"x\""})");
  o.has_indent = true;
  o.indent = "  ";
  EXPECT_EQ(PyJsonDumps(v, o).value(), "{\n  \"b\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"a\": \"é\\n\\\"x\\\"\"\n}");
  JsonDumpOptions ascii;
  ascii.ensure_ascii = true;
  EXPECT_EQ(PyJsonDumps(Value("é😀"), ascii).value(), "\"\\u00e9\\ud83d\\ude00\"");
  EXPECT_FALSE(PyJsonDumps(Value(), o).ok());
}

TEST(JinjaStatements, NamespaceLoopControlsAndMacros) {
  EXPECT_EQ(MustRender("{% set ns = namespace(n=0) %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"), "6");
  EXPECT_EQ(MustRender("{% for x in range(6) %}{% if x is odd %}{% continue %}{% endif %}{% if x > 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "02");
  EXPECT_EQ(MustRender("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"), "a=1");
  EXPECT_EQ(MustRender("{% macro m(x, y='d') %}{{ x }}{{ y }}{% endmacro %}{{ m(1) }}{{ m(2, y='e') }}"), "1d2e");
  EXPECT_EQ(MustRender("{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}in{% endcall %}"), "[in]");
  EXPECT_EQ(MustRender("{{ 'a' if false }}|{{ [1,2,3][::-1] }}|{{ 'abc'[1:] }}"), "|[3, 2, 1]|bc");
  EXPECT_EQ(MustRender("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024");
}

TEST(JinjaErrors, NameTheConstructAndTheLine) {
  auto r = Render("line1\n{% if x %}\n{{ raise_exception('boom') }}\n{% endif %}", {{"x", Value(true)}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "t.jinja:3: template raised an exception: boom");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);

  r = Render("a\nb\n{% include 'x.jinja' %}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("t.jinja:3: unsupported tag 'include'"), std::string::npos) << r.status().message();

  r = Render("\n{% for x in xs recursive %}{% endfor %}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("t.jinja:2: unsupported construct: recursive for loops"), std::string::npos);

  r = Render("\n\n\n{{ 'x' | frobnicate }}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(r.status().message(), "t.jinja:4: unsupported filter 'frobnicate'");

  r = Render("{% for m in ms %}\n{{ m.content.upper() }}\n{% endfor %}",
             {{"ms", Value::FromJson(nlohmann::json::parse(R"([{"role": "user"}])"))}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "t.jinja:2: 'dict object' has no attribute 'content'");

  r = Render("{% if true %}\n{% for x in y %}\nbody\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("the 'for' tag opened on line 2"), std::string::npos) << r.status().message();

  r = Render("ok\n{{ 1 + }}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "t.jinja:2: syntax error: expected an expression, got '}}'");

  r = Render("{{ f(*args) }}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);

  r = Render("{% macro m() %}{% break %}{% endmacro %}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'break' outside loop"), std::string::npos);
}

TEST(JinjaErrors, LimitsStopRunawayTemplates) {
  auto r = Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("recursion"), std::string::npos);
  RenderOptions small = Options();
  small.max_output_bytes = 1000;
  auto t = Template::Parse("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}");
  ASSERT_TRUE(t.ok());
  r = t->Render({}, small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("output exceeds"), std::string::npos);
  EXPECT_FALSE(Render("{{ 'x' * 1000000000000 }}").ok());
  // Nesting is bounded (printing/comparing/destroying values recurses), and namespaces cannot hold
  // namespaces (the only way to build a reference cycle).
  r = Render("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested more than 200 levels"), std::string::npos) << r.status().message();
  r = Render("{% set ns = namespace(a=1) %}{% set ns.self = [ns] %}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_FALSE(Render("{% set a = namespace() %}{% set b = namespace(inner=a) %}").ok());
  EXPECT_FALSE(Template::Parse("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").ok());
  EXPECT_EQ(MustRender("{{ " + std::string(40, '(') + "1" + std::string(40, ')') + " }}"), "1");
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_FALSE(Template::Parse(chain + " }}").ok());
  chain = "{{ x";
  for (int i = 0; i < 100000; ++i) chain += "|trim";
  EXPECT_FALSE(Template::Parse(chain + " }}").ok());
  chain = "{{ 0";
  for (int i = 0; i < 450; ++i) chain += " + 1";
  EXPECT_EQ(MustRender(chain + " }}"), "450");
  std::string deep_blocks;
  for (int i = 0; i < 1000; ++i) deep_blocks += "{% if true %}";
  EXPECT_FALSE(Template::Parse(deep_blocks).ok());
  std::string nested;  // the deepest block nesting accepted still renders (within the stack)
  for (int i = 0; i < 45; ++i) nested += "{% for x in [1] %}{% if true %}";
  nested += "ok";
  for (int i = 0; i < 45; ++i) nested += "{% endif %}{% endfor %}";
  auto deep = Template::Parse(nested);
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(deep->Render({}).value(), "ok");
}

// Mutations of real template text must parse or fail cleanly, never crash.
TEST(JinjaRobustness, MutatedTemplatesNeverCrash) {
  const std::string base =
      "{%- set ns = namespace(a=[]) %}{% for m in messages[::-1] if m.role != 'x' %}{{- m['content'] | trim | "
      "tojson(indent=2) ~ (loop.index0 // 2) }}{% elif %}{% endfor %}{# c #}{{ 'a\\n' ~ \"b\" | upper }}";
  uint64_t state = 12345;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string alphabet = "{}%#-+()[]|.,:'\"\\~!=<>*/ \n\tabcxyz019_";
  Context ctx{{"messages", Value::FromJson(nlohmann::json::parse(R"([{"role": "user", "content": " hi "}])"))}};
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = next() % (s.size() + 1);
      switch (next() % 3) {
        case 0: s.insert(pos, 1, alphabet[next() % alphabet.size()]); break;
        case 1: if (pos < s.size()) s.erase(pos, 1); break;
        default: if (pos < s.size()) s[pos] = alphabet[next() % alphabet.size()];
      }
    }
    auto t = Template::Parse(s, "fuzz");
    if (t.ok()) (void)t->Render(ctx, Options());
  }
  SUCCEED();
}

}  // namespace
}  // namespace kvpress::jinja
