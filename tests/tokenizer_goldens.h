// Compares a Tokenizer with goldens written by scripts/goldens/make_tokenizer_goldens.py.
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "test_util.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::testing {

inline std::vector<std::string> GoldenStrings() {
  auto j = ReadJsonFile(Fixture("tokenizer_goldens/strings.json"));
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? j->get<std::vector<std::string>>() : std::vector<std::string>();
}

inline nlohmann::json Golden(const std::string& name) {
  auto j = ReadJsonFile(Fixture("tokenizer_goldens/" + name + ".golden.json"));
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : nlohmann::json();
}

inline std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return "[" + s + "]";
}

struct GoldenCheckOptions {
  bool special = true;        // add_special_tokens=True ids
  bool split_special = true;  // split_special_tokens ids
  bool decode = true;         // decode / decode(skip_special)
  // Strings to leave out (e.g. ones naming added tokens a vocab.json directory lacks).
  std::vector<std::string> skip_containing;
  // Strings to leave out by a predicate (e.g. text that Unicode normalization changes, for a
  // tokenizer that, like llama.cpp's, does not normalize).
  std::function<bool(const std::string&)> skip_if;
};

// True when NFC changes `s`: such text is left out when a tokenizer that, like llama.cpp's, does
// not normalize is compared with Hugging Face goldens of an NFC tokenizer (Qwen).
inline bool ChangedByNfc(const std::string& s) {
  static const auto nfc = MakeNormalizer(nlohmann::json{{"type", "NFC"}});
  std::string t = s;
  return nfc.ok() && nfc.value()->Normalize(t).ok() && t != s;
}

// Checks every golden string; returns the number of strings with any mismatch (details are
// printed for the first few).
inline int CheckGolden(const Tokenizer& tok, const nlohmann::json& g,
                       const std::vector<std::string>& strings,
                       const GoldenCheckOptions& opt = {}) {
  int bad = 0, checked = 0, printed = 0;
  bool failed = false;
  const auto prefix = g["special_prefix"].get<std::vector<int32_t>>();
  const auto suffix = g["special_suffix"].get<std::vector<int32_t>>();
  auto report = [&](size_t i, const std::string& what, const std::string& want,
                    const std::string& got) {
    failed = true;
    if (++printed <= 8) {
      ADD_FAILURE() << g["tokenizer"].get<std::string>() << " string #" << i << " "
                    << nlohmann::json(strings[i]).dump(-1, ' ', true) << ": " << what << "\n  want "
                    << want << "\n  got  " << got;
    }
  };
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string& s = strings[i];
    bool skip = false;
    for (const std::string& needle : opt.skip_containing)
      skip = skip || s.find(needle) != std::string::npos;
    if (skip || (opt.skip_if && opt.skip_if(s))) continue;
    ++checked;
    const std::string key = std::to_string(i);
    failed = false;
    const auto ids = g["ids"][i].get<std::vector<int32_t>>();
    auto got = tok.Encode(s, false);
    if (!got.ok() || *got != ids) {
      report(i, "encode", Show(ids), got.ok() ? Show(*got) : got.status().ToString());
      ++bad;
      continue;
    }
    if (opt.special) {
      std::vector<int32_t> want = prefix;
      want.insert(want.end(), ids.begin(), ids.end());
      want.insert(want.end(), suffix.begin(), suffix.end());
      if (g["special_exceptions"].contains(key))
        want = g["special_exceptions"][key].get<std::vector<int32_t>>();
      auto sp = tok.Encode(s, true);
      if (!sp.ok() || *sp != want)
        report(i, "encode(add_special)", Show(want), sp.ok() ? Show(*sp) : "error");
    }
    if (opt.split_special) {
      const auto want = g["split_special"].contains(key)
                            ? g["split_special"][key].get<std::vector<int32_t>>()
                            : ids;
      EncodeOptions eo;
      eo.split_special = true;
      auto sp = tok.EncodeWith(s, eo);
      if (!sp.ok() || *sp != want)
        report(i, "encode(split_special)", Show(want), sp.ok() ? Show(*sp) : "error");
    }
    if (opt.decode) {
      const std::string want =
          g["decoded"].contains(key) ? g["decoded"][key].get<std::string>() : s;
      const std::string dec = tok.Decode(ids);
      if (dec != want)
        report(i, "decode", nlohmann::json(want).dump(),
               nlohmann::json(dec).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      const std::string want_skip = g["decoded_skip_special"].contains(key)
                                        ? g["decoded_skip_special"][key].get<std::string>()
                                        : want;
      DecodeOptions dopt;
      dopt.skip_special = true;
      const std::string dec_skip = tok.DecodeWith(ids, dopt);
      if (dec_skip != want_skip)
        report(i, "decode(skip_special)", nlohmann::json(want_skip).dump(),
               nlohmann::json(dec_skip).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace));
    }
    if (failed) ++bad;
  }
  EXPECT_GE(checked, 1);
  return bad;
}

}  // namespace kvpress::testing
