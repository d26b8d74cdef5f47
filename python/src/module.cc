// kvpress_cpp._core: the compiled half of the kvpress_cpp package (docs/PYTHON.md). The Python
// files in kvpress_cpp/ build the public API (pipeline, presses, eval, sweep) on top of it.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "status_error.h"

namespace kvpress::py {
namespace {

template <typename Json>
pybind11::object JsonToPython(const Json& j) {
  const std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return pybind11::module_::import("json").attr("loads")(text);
}

}  // namespace

pybind11::object ToPython(const nlohmann::json& j) { return JsonToPython(j); }
pybind11::object ToPython(const nlohmann::ordered_json& j) { return JsonToPython(j); }

}  // namespace kvpress::py

PYBIND11_MODULE(_core, m) {
  m.doc() = "kvpress.cpp engine bindings (use the kvpress_cpp package, not this module directly)";
  kvpress::py::RegisterStatusTranslator();
  kvpress::py::BindGenerate(m);
  kvpress::py::BindSession(m);
  kvpress::py::BindEval(m);
}
