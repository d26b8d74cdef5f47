#include "status_error.h"

namespace kvpress::py {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "Ok";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kCancelled: return "Cancelled";
  }
  return "Internal";
}

void RegisterStatusTranslator() {
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      const Status& s = e.status();
      if (s.code() == StatusCode::kCancelled) {
        PyErr_SetString(PyExc_KeyboardInterrupt, s.message().c_str());
        return;
      }
      // kvpress_cpp.errors.from_status builds the exception object of the right class.
      pybind11::object errors = pybind11::module_::import("kvpress_cpp.errors");
      pybind11::object exc = errors.attr("from_status")(StatusCodeName(s.code()), s.message());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
}

}  // namespace kvpress::py
