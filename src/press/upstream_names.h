// Every press class of upstream kvpress 0.5.5 and the registered name that implements it here, or
// the reason it is absent (`kvpress presses` prints the absent ones, so the catalogue is complete).
#pragma once

#include <string>
#include <vector>

namespace kvpress {

struct UpstreamPress {
  std::string upstream;  // class name in kvpress 0.5.5, e.g. "SnapKVPress"
  std::string name;  // our registered name (or a parameter of one: "expected_attention:stats=FILE")
  std::string absent;  // why it is not registered here ("" when it is)
};

const std::vector<UpstreamPress>& UpstreamPresses();

}  // namespace kvpress
