// The tokenizer.ggml.pre table. Facts from llama.cpp's src/llama-vocab.cpp and src/unicode.cpp
// (llama-cpp-python 0.3.36); the patterns are written here for PCRE2 on the real text:
//   - llama.cpp rewrites HF's case-insensitive group (?i:'s|...) as (?:'[sS]|...) because
//     std::regex lacks (?i:); we keep its form, which is what it runs.
//   - In its collapsed text every non-ASCII letter is one byte standing for "letter", so
//     \p{Lu}, \p{Ll}, \p{Lt}, \p{Lm} and \p{Lo} all match every letter there; the tables use \p{L}
//     where llama.cpp writes those.
//   - Its custom splitters (GPT-2, llama3, qwen2, qwen35, the afmoe/tiny_aya digit grouping, the
//     newline splitter) are equivalent to the regexes given for them.
//   - std::regex's `$` is the end of the piece only: written \z.
//   - Non-ASCII literals are written as \x{...} code points.
#include "tokenizer/gguf_pre_types.h"

#include <fmt/format.h>

#include <algorithm>

namespace kvpress {
namespace {

using Regexes = std::vector<GgufSplit>;

// The contraction alternatives, as llama.cpp adapts them for std::regex.
#define KV_CONTRACTIONS R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))"

constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3 = KV_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 = KV_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kPunctLetters =  // deepseek-v3, hunyuan-dense, spark2_5, afmoe (prefix)
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)";
constexpr const char* kCjkKana = R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr const char* kCjkHangul = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr const char* kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";
// GPT-4o's cased words: llama.cpp emulates [\p{Lu}...]*[\p{Ll}...]+ with lookaheads, `L` being the
// letter class and `C` what may follow a word (the contractions, or nothing for tekken).
#define KV_CASED_WORDS(L, C)                                                  \
  R"([^\r\n\p{L}\p{N}]?((?=[)" L R"(])([^a-z]))*((?=[)" L R"(])([^A-Z]))+)" C \
  R"(|[^\r\n\p{L}\p{N}]?((?=[)" L R"(])([^a-z]))+((?=[)" L R"(])([^A-Z]))*)" C
#define KV_OPT_CONTRACTIONS KV_CONTRACTIONS "?"
#define KV_TAIL_SLASH R"(| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"
// Letter runs with optional contractions, where llama.cpp's classes reduce to "any letter or mark".
#define KV_LETTER_WORDS                                                 \
  R"([^\r\n\p{L}\p{N}]?[\p{L}\p{M}]*[\p{L}\p{M}]+)" KV_OPT_CONTRACTIONS \
  R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+[\p{L}\p{M}]*)" KV_OPT_CONTRACTIONS

struct Entry {
  std::vector<const char*> names;
  Regexes splits;
  bool ignore_merges = false;
  bool add_bos = false;
  bool no_bos = false;
};

const std::vector<Entry>& Table() {
  static const std::vector<Entry> table = [] {
    const Regexes gpt2 = {kGpt2};
    const Regexes llama3 = {kLlama3};
    const Regexes qwen2 = {kQwen2};
    const Regexes starcoder = {R"(\p{N})", kGpt2};
    const Regexes deepseek3 = {
        R"(\p{N}{1,3})", kCjkKana,
        std::string(kPunctLetters) + R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    const Regexes gpt4o = {
        KV_CASED_WORDS(R"(\p{L})", KV_OPT_CONTRACTIONS) R"(|\p{N}{1,3})" KV_TAIL_SLASH};
    // Digit runs grouped by three from the right, the text before a run glued to its first group
    // (llama.cpp's afmoe splitter, also used for tiny_aya's \d{1,3}(?=(?:\d{3})*\b)).
    const GgufSplit digit_groups(R"(\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N})))", /*glue=*/true);
    std::vector<Entry> t = {
        {{"default", ""}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"}},
        {{"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
          "jina-v5-nano"},
         llama3,
         true,
         true},
        {{"dbrx", "smaug-bpe"}, llama3},
        {{"chatglm-bpe"}, llama3, false, false, true},
        {{"glm4", "glm5"}, llama3, true, false, true},
        {{"minicpm5"},
         {R"(\p{N}{1,3})", KV_CONTRACTIONS
          R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
         true},
        {{"jais-2"},
         {KV_CONTRACTIONS
          R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})"}},
        {{"deepseek-llm"},
         {R"([\r\n])",
          R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)",
          R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
          R"(\s+\z)", kCjkHangul, R"(\p{N}+)"}},
        {{"deepseek-coder"}, {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkHangul, R"(\p{N})"}},
        {{"deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"}, deepseek3},
        {{"spark2_5"},
         {R"(\p{N}{1,3})", kCjkKana,
          std::string(kPunctLetters) + R"(| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)", R"(\p{N})"}},
        {{"youtu"},
         {R"([\x{AC00}-\x{D7A3}\x{3131}-\x{318E}]+|[\x{FF01}\x{2026}\x{201C}\x{201D}\x{2018}\x{2019}\x{2014}\x{FF1A}\x{FF1B}\x{FF0C}\x{3001}-\x{303F}\x{FE30}-\x{FE4F}]+|[\x{3105}-\x{312F}]+|)" +
              std::string(kCjkKana),
          KV_LETTER_WORDS R"(|\p{N})" KV_TAIL_SLASH},
         true},
        {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, R"([0-9][0-9][0-9])"}},
        {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
          "mellum2"},
         starcoder},
        {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
          "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo",
          "jais", "exaone4", "trillion", "granite-docling"},
         gpt2},
        {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan",
          "solar-open", "grok-2"},
         qwen2},
        {{"qwen35"},
         {KV_CONTRACTIONS
          R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
        {{"poro-chat", "bloom", "gpt3-finnish"}, {kBloom}},
        {{"viking"}, {kBloom, R"(\p{N})"}},
        {{"tekken"}, {KV_CASED_WORDS(R"(\p{L})", "") R"(|\p{N})" KV_TAIL_SLASH}, true, true},
        {{"chameleon"},
         {R"(<sentinel:[0-9]+>)", R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)", R"(([\t\n]|    |  ))",
          R"(\p{N})", R"([\p{P}!-/:-@\[-`{-~])", kGpt2},
         false,
         true},
        {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, gpt4o},
        {{"granite-embed-multi-97m"},
         {KV_CASED_WORDS(R"(\p{L}\p{M})", KV_OPT_CONTRACTIONS) R"(|\p{N}{1,3})" KV_TAIL_SLASH},
         true},
        {{"tiny_aya", "cohere2moe"},
         {digit_groups, KV_LETTER_WORDS R"(|\p{N}{1,3})" KV_TAIL_SLASH}},
        // llama.cpp's second regex, (?=(\d{3})+(?!\d)), matches empty strings and splits there;
        // inside a run of ASCII digits that is the same split as these non-empty groups (a run
        // mixing ASCII and other digits may split differently).
        {{"superbpe"}, {R"(\p{N}+)", R"([0-9]{1,3}(?=(?:[0-9]{3})*(?![0-9])))"}},
        {{"bailingmoe", "bailingmoe2", "llada-moe"},
         {R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"}},
        {{"seed-coder"},
         {KV_CONTRACTIONS
          R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
        {{"ufakzeka"},
         {R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
        {{"afmoe"},
         {digit_groups,
          R"([\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{8C48}-\x{FAFF}\x{3040}-\x{309F}\x{30A0}-\x{30FF}\x{FF65}-\x{FF9F}\x{2F00}-\x{2FDF}\x{E40}-\x{E7F}\x{E80}-\x{EFF}\x{1780}-\x{17FF}\x{1000}-\x{109F}\x{AA60}-\x{AA7F}\x{A9E0}-\x{A9FF}\x{AC00}-\x{D7AF}\x{1100}-\x{11FF}]+)",
          std::string(kPunctLetters) + R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
        {{"laguna"}, {R"([^\n]+|[\n]+)", kQwen2}},
        {{"exaone-moe"},
         {KV_CONTRACTIONS
          R"(|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)"}},
    };
    return t;
  }();
  return table;
}

std::string JoinNames() {
  std::string s;
  for (const std::string& n : GgufPreTypeNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

StatusOr<GgufPreType> FindGgufPreType(std::string_view pre) {
  for (const Entry& e : Table()) {
    for (const char* name : e.names) {
      if (pre == name) return GgufPreType{e.splits, e.ignore_merges, e.add_bos, e.no_bos};
    }
  }
  return Unimplemented(
      fmt::format("tokenizer.ggml.pre '{}' is not supported for byte-level BPE (supported: {})",
                  pre, JoinNames()));
}

std::vector<std::string> GgufPreTypeNames() {
  std::vector<std::string> names;
  for (const Entry& e : Table()) {
    for (const char* n : e.names) {
      if (*n != '\0') names.emplace_back(n);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json GgufPreTokenizerSpec(const GgufPreType& type) {
  nlohmann::json stages = nlohmann::json::array();
  for (const GgufSplit& s : type.splits) {
    stages.push_back({{"type", "Split"},
                      {"pattern", {{"Regex", s.regex}}},
                      {"behavior", s.gap_joins_next_match ? "MergedWithNext" : "Isolated"},
                      {"invert", s.gap_joins_next_match}});
  }
  stages.push_back({{"type", "ByteLevel"},
                    {"add_prefix_space", false},
                    {"trim_offsets", false},
                    {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", stages}};
}

std::string GgufPreTypeForSplits(std::vector<GgufSplit> splits, bool ignore_merges) {
  // Hugging Face spellings of the same patterns: the case-insensitive contraction group, and
  // GPT-2's trailing |\s+ (a no-op for splitting: the one whitespace character it would match
  // lies between two matches, where Isolated makes it a piece all the same).
  const std::string hf_contractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
  for (GgufSplit& s : splits) {
    for (size_t at = s.regex.find(hf_contractions); at != std::string::npos;
         at = s.regex.find(hf_contractions, at)) {
      s.regex.replace(at, hf_contractions.size(), KV_CONTRACTIONS);
    }
    if (s.regex == std::string(kGpt2) + R"(|\s+)") s.regex = kGpt2;
  }
  const Entry* found = nullptr;
  for (const Entry& e : Table()) {
    if (e.splits != splits) continue;
    if (e.ignore_merges == ignore_merges) return e.names.front();
    if (found == nullptr) found = &e;
  }
  return found != nullptr ? found->names.front() : "";
}

StatusOr<GgufBpeSpecials> ResolveGgufBpeSpecials(const nlohmann::json& m, const GgufPreType& type,
                                                 size_t n_tokens) {
  auto integer = [&](const char* key, int fallback) {
    auto it = m.find(key);
    return it != m.end() && it->is_number_integer() ? it->get<int>() : fallback;
  };
  auto flag = [&](const char* key, bool fallback) {
    auto it = m.find(key);
    return it != m.end() && it->is_boolean() ? it->get<bool>() : fallback;
  };
  const int n = static_cast<int>(n_tokens);
  GgufBpeSpecials s;
  s.bos = type.no_bos ? -1 : integer("tokenizer.ggml.bos_token_id", 11);
  s.eos = integer("tokenizer.ggml.eos_token_id", 11);
  if (s.bos >= n) s.bos = -1;
  if (s.eos >= n) s.eos = -1;
  s.add_bos = flag("tokenizer.ggml.add_bos_token", type.add_bos);
  s.add_eos = flag("tokenizer.ggml.add_eos_token", false);
  if (s.add_bos && s.bos < 0)
    return DataLoss("add_bos_token is set but there is no valid BOS token");
  if (s.add_eos && s.eos < 0)
    return DataLoss("add_eos_token is set but there is no valid EOS token");
  return s;
}

}  // namespace kvpress

#undef KV_CONTRACTIONS
#undef KV_CASED_WORDS
#undef KV_OPT_CONTRACTIONS
#undef KV_TAIL_SLASH
#undef KV_LETTER_WORDS
