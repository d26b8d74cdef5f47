// The parts of kvpress_cpp._core, one function per binding file (module.cc calls them in order).
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace kvpress::py {

// Model, generate(), TextStream, presses (bind_generate.cc).
void BindGenerate(pybind11::module_& m);
// Session: prefill/decode step by step, logits and kept positions as numpy (bind_session.cc).
void BindSession(pybind11::module_& m);
// RunConfig, Dataset, run_eval(), expand_sweep() (bind_eval.cc).
void BindEval(pybind11::module_& m);

// A JSON value as the Python object json.loads gives (dicts keep the key order); invalid UTF-8
// in strings is replaced, as the CLI's --json does.
pybind11::object ToPython(const nlohmann::json& j);
pybind11::object ToPython(const nlohmann::ordered_json& j);

}  // namespace kvpress::py
