// Library Status -> Python exceptions (kvpress_cpp.errors). The exception's message is the Status
// message, i.e. exactly what the CLI prints after "kvpress <command>: error: "; its class follows the
// CLI's exit code (1 usage -> UsageError, 2 bad input -> BadInputError and subclasses, 3 ->
// InternalError); Cancelled becomes KeyboardInterrupt.
#pragma once

#include <exception>
#include <utility>

#include <pybind11/pybind11.h>

#include "core/status.h"

namespace kvpress::py {

// Carries a non-ok Status out of binding code; translated by RegisterStatusTranslator.
class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const Status& status() const { return status_; }
  const char* what() const noexcept override { return status_.message().c_str(); }

 private:
  Status status_;
};

// Throws StatusError for a non-ok `s`.
inline void ThrowIfError(const Status& s) {
  if (!s.ok()) throw StatusError(s);
}

// The value of `v`, or StatusError.
template <typename T>
T ValueOrThrow(StatusOr<T> v) {
  if (!v.ok()) throw StatusError(v.status());
  return std::move(v).value();
}

// The StatusCode's name without the k ("NotFound"), as kvpress_cpp.errors names codes.
const char* StatusCodeName(StatusCode code);

// Installs the translator StatusError -> kvpress_cpp.errors.<class>(message, code).
void RegisterStatusTranslator();

}  // namespace kvpress::py
