#include "eval/synth_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/status.h"

namespace kvpress::eval {

uint64_t SynthRng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t SynthRng::Below(size_t n) {
  CHECK(n > 0);
  return static_cast<size_t>(Next() % n);
}

int64_t SynthRng::Between(int64_t lo, int64_t hi) {
  CHECK(lo <= hi);
  return lo + static_cast<int64_t>(Below(static_cast<size_t>(hi - lo) + 1));
}

double SynthRng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

std::vector<size_t> SynthRng::Distinct(size_t n, size_t k) {
  CHECK(k <= n);
  std::vector<size_t> out;
  out.reserve(k);
  if (k * 4 < n) {  // sparse: rejection keeps memory at O(k)
    std::set<size_t> seen;
    while (out.size() < k) {
      const size_t i = Below(n);
      if (seen.insert(i).second) out.push_back(i);
    }
    return out;
  }
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  for (size_t i = 0; i < k; ++i) {  // partial Fisher-Yates from the front
    std::swap(all[i], all[i + Below(n - i)]);
    out.push_back(all[i]);
  }
  return out;
}

uint64_t DeriveSeed(uint64_t seed, std::string_view label, uint64_t index) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : label) h = (h ^ c) * 0x100000001b3ull;
  SynthRng mix(seed ^ (h * 0x9E3779B97F4A7C15ull) ^ (index * 0xD1B54A32D192ED03ull));
  return mix.Next();
}

const std::vector<std::string>& SynthAdjectives() {
  static const std::vector<std::string> k = {
      "ancient", "bitter",  "bold",    "brave",   "bright",  "brisk",   "calm",    "careful", "cheerful", "clever",
      "cold",    "crimson", "curious", "damp",    "dark",    "distant", "dry",     "dusty",   "eager",    "early",
      "empty",   "faint",   "fancy",   "fierce",  "flat",    "fragile", "fresh",   "gentle",  "giant",    "golden",
      "grand",   "gray",    "green",   "hidden",  "hollow",  "honest",  "humble",  "icy",     "idle",     "jolly",
      "keen",    "large",   "lazy",    "little",  "lively",  "lonely",  "loud",    "lucky",   "mellow",   "merry",
      "mighty",  "modern",  "narrow",  "neat",    "noble",   "odd",     "old",     "pale",    "patient",  "plain",
      "polite",  "proud",   "purple",  "quick",   "quiet",   "rapid",   "rare",    "rough",   "round",    "royal",
      "rusty",   "sandy",   "scarlet", "shallow", "sharp",   "shiny",   "silent",  "silver",  "simple",   "sleepy",
      "slow",    "small",   "smooth",  "soft",    "solid",   "sour",    "spare",   "steady",  "steep",    "sticky",
      "stormy",  "strange", "strict",  "sturdy",  "sunny",   "sweet",   "swift",   "tall",    "tame",     "tidy",
      "tiny",    "tired",   "vivid",   "warm",    "wary",    "wide",    "wild",    "windy",   "wise",     "young"};
  return k;
}

const std::vector<std::string>& SynthNouns() {
  static const std::vector<std::string> k = {
      "anchor",  "apple",    "arrow",   "badge",   "bakery",  "balloon", "basket",  "beacon",  "bell",     "bicycle",
      "blanket", "boat",     "bottle",  "bridge",  "bucket",  "cabin",   "camera",  "candle",  "canyon",   "carpet",
      "castle",  "cellar",   "chair",   "cloud",   "clock",   "coast",   "comet",   "compass", "cottage",  "crane",
      "crystal", "desert",   "diamond", "dolphin", "dragon",  "drum",    "eagle",   "engine",  "falcon",   "feather",
      "fence",   "ferry",    "field",   "flute",   "forest",  "fountain", "garden", "glacier", "globe",    "hammer",
      "harbor",  "helmet",   "hill",    "horizon", "island",  "jacket",  "jungle",  "kettle",  "kitchen",  "ladder",
      "lagoon",  "lantern",  "lemon",   "library", "lighthouse", "lizard", "magnet", "maple",  "market",   "meadow",
      "mirror",  "monkey",   "mountain", "needle", "nest",    "ocean",   "orchard", "otter",   "owl",      "paddle",
      "palace",  "panther",  "parrot",  "pebble",  "pencil",  "piano",   "pillow",  "planet",  "pocket",   "pond",
      "puzzle",  "quarry",   "rabbit",  "raven",   "ribbon",  "river",   "rocket",  "saddle",  "sailor",   "scarf",
      "shadow",  "shell",    "shovel",  "signal",  "spider",  "spoon",   "stable",  "statue",  "stone",    "stream",
      "summit",  "sunset",   "table",   "teapot",  "temple",  "thunder", "tiger",   "tower",   "trumpet",  "tunnel",
      "turtle",  "umbrella", "valley",  "violin",  "wagon",   "walnut",  "window",  "wizard",  "wolf",     "yacht"};
  return k;
}

const std::vector<std::string>& SynthVerbs() {
  static const std::vector<std::string> k = {
      "admire", "bake",   "borrow", "build",   "carry",  "catch",  "chase",   "climb",  "collect", "cook",
      "cross",  "dance",  "deliver", "discover", "draw",  "drift",  "explore", "fetch",  "fold",    "follow",
      "gather", "guard",  "guide",  "hunt",    "imagine", "inspect", "invent", "juggle", "kick",    "knit",
      "launch", "lift",   "listen", "measure", "mend",   "notice", "observe", "open",   "paint",   "plant",
      "polish", "pour",   "reach",  "repair",  "rescue", "return", "ride",    "roast",  "row",     "sail",
      "search", "sew",    "share",  "shine",   "sing",   "sketch", "slide",   "sort",   "steer",   "study",
      "swim",   "teach",  "throw",  "trace",   "travel", "visit",  "wander",  "wash",   "watch",   "weave"};
  return k;
}

const std::vector<std::string>& SynthAllWords() {
  static const std::vector<std::string> k = [] {
    std::set<std::string> s(SynthAdjectives().begin(), SynthAdjectives().end());
    s.insert(SynthNouns().begin(), SynthNouns().end());
    s.insert(SynthVerbs().begin(), SynthVerbs().end());
    return std::vector<std::string>(s.begin(), s.end());
  }();
  return k;
}

std::string RandomNumber(SynthRng& rng, int digits) {
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  return std::to_string(rng.Between(lo, lo * 10 - 1));
}

std::string RandomKeyWord(SynthRng& rng) {
  const auto& a = SynthAdjectives();
  const auto& n = SynthNouns();
  return a[rng.Below(a.size())] + "-" + n[rng.Below(n.size())];
}

std::string RandomUuid(SynthRng& rng) {
  uint64_t hi = rng.Next(), lo = rng.Next();
  hi = (hi & ~0xF000ull) | 0x4000ull;                       // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);       // RFC 4122 variant
  const std::string h = fmt::format("{:016x}{:016x}", hi, lo);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::vector<std::string> PseudoWords(SynthRng& rng, size_t n) {
  static const char* kOnsets[] = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr"};
  static const char* kVowels[] = {"a", "e", "i", "o", "u"};
  std::set<std::string> seen;
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string w;
    const size_t syllables = 2 + rng.Below(2);
    for (size_t s = 0; s < syllables; ++s) {
      w += kOnsets[rng.Below(std::size(kOnsets))];
      w += kVowels[rng.Below(std::size(kVowels))];
    }
    if (seen.insert(w).second) out.push_back(w);
  }
  return out;
}

std::string BuiltinEssay(uint64_t seed, size_t sentences) {
  SynthRng rng(seed);
  auto pick = [&rng](const std::vector<std::string>& v) -> const std::string& { return v[rng.Below(v.size())]; };
  const auto& A = SynthAdjectives();
  const auto& N = SynthNouns();
  const auto& V = SynthVerbs();
  std::string text;
  for (size_t i = 0; i < sentences; ++i) {
    std::string s;
    switch (rng.Below(8)) {
      case 0: s = fmt::format("The {} {} likes to {} near the {} {}.", pick(A), pick(N), pick(V), pick(A), pick(N)); break;
      case 1: s = fmt::format("Every morning a {} {} would {} the {}, and nobody asked why.", pick(A), pick(N), pick(V), pick(N)); break;
      case 2: s = fmt::format("It is hard to {} a {} {} when the {} is so {}.", pick(V), pick(A), pick(N), pick(N), pick(A)); break;
      case 3: s = fmt::format("Most people never {} the {} beyond the {} {}.", pick(V), pick(N), pick(A), pick(N)); break;
      case 4: s = fmt::format("In the {} season, the {} grows {} and the {} turns {}.", pick(A), pick(N), pick(A), pick(N), pick(A)); break;
      case 5: s = fmt::format("She decided to {} the {} {} before the {} came back.", pick(V), pick(A), pick(N), pick(N)); break;
      case 6: s = fmt::format("What makes a {} {} worth the effort is how {} it feels to {} it.", pick(A), pick(N), pick(A), pick(V)); break;
      default: s = fmt::format("Years later, the {} still remembered the {} {} by the {}.", pick(N), pick(A), pick(N), pick(N)); break;
    }
    if (!text.empty()) text += (i % 6 == 0) ? "\n\n" : " ";
    text += s;
  }
  return text;
}

std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string> SplitSentences(std::string_view text) {
  std::vector<std::string> out;
  auto push = [&out](std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    if (b > a) out.emplace_back(s.substr(a, b - a));
  };
  size_t start = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if ((c == '.' || c == '!' || c == '?') && std::isspace(static_cast<unsigned char>(text[i + 1]))) {
      push(text.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  if (start < text.size()) push(text.substr(start));
  return out;
}

StatusOr<size_t> FitLargest(size_t lo, size_t max_n, const std::function<StatusOr<bool>(size_t)>& fits) {
  ASSIGN_OR_RETURN(bool ok, fits(lo));
  if (!ok) return lo;
  size_t good = lo, bad = 0;  // bad == 0: no failing size seen yet
  while (bad == 0) {
    const size_t next = std::min(max_n, good * 2);
    if (next == good) return good;
    ASSIGN_OR_RETURN(ok, fits(next));
    if (ok) {
      good = next;
    } else {
      bad = next;
    }
  }
  while (bad - good > 1) {
    const size_t mid = good + (bad - good) / 2;
    ASSIGN_OR_RETURN(ok, fits(mid));
    (ok ? good : bad) = mid;
  }
  return good;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace kvpress::eval
