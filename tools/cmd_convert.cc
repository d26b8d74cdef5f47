// kvpress convert: rewrite a model as a Hugging Face directory or a GGUF file (any input format).
#include <fmt/format.h>

#include "model/convert.h"
#include "core/log.h"
#include "model/model.h"
#include "generate/convert_tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

// Every DType: the float types, and the ggml block types written by ggml's reference quantizers.
constexpr const char* kDtypes = "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs";

struct ConvertFlags {
  std::string model;
  std::string out;
  std::string to = "gguf";
  std::string dtype = "f32";
};

int RunConvert(const ConvertFlags& f) {
  DType dtype;
  if (!DTypeFromName(f.dtype, dtype)) {
    return ReportError("convert", InvalidArgument("--dtype: '" + f.dtype + "' is not one of " + kDtypes));
  }
  auto loaded = LoadModel(f.model);
  if (!loaded.ok()) return ReportError("convert", loaded.status());
  const Model& model = **loaded;
  // The tokenizer travels with the weights; a vocabulary with no form in the target format is
  // left out with a warning (the weights are still written).
  auto warn = [&](const Status& s) {
    Log(LogLevel::kWarning, "convert: tokenizer not written: {}", s.message());
  };
  if (f.to == "hf") {
    const Status s = ExportHuggingFace(model, f.out, dtype);
    if (!s.ok()) return ReportError("convert", s);
    auto files = WriteHfTokenizerFiles(model, f.out);
    if (!files.ok() && files.status().code() != StatusCode::kUnimplemented) return ReportError("convert", files.status());
    if (!files.ok()) warn(files.status());
  } else {
    auto keys = GgufTokenizerKeys(model);
    if (!keys.ok() && keys.status().code() != StatusCode::kUnimplemented) return ReportError("convert", keys.status());
    if (!keys.ok()) warn(keys.status());
    const Status s = ExportGguf(model, f.out, dtype, keys.ok() ? *keys : std::vector<GgufKeyValue>());
    if (!s.ok()) return ReportError("convert", s);
  }
  std::fprintf(stderr, "%s\n", fmt::format("kvpress convert: wrote {} ({}, {})", f.out, f.to, f.dtype).c_str());
  return kExitOk;
}

}  // namespace

void RegisterConvert(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* cmd = app.add_subcommand("convert", "Write a model as a Hugging Face directory or a GGUF file");
  cmd->add_option("--model,-m", f->model, "Input: HF directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("--out,-o", f->out, "Output directory (hf) or file (gguf)")->required();
  cmd->add_option("--to", f->to, "Output format")->check(CLI::IsMember({"hf", "gguf"}));
  cmd->add_option("--dtype", f->dtype,
                  std::string("Matrix dtype: ") + kDtypes + " (the quantized types gguf only; 1-D tensors stay f32)");
  cmd->callback([f, &run] { run = [f] { return RunConvert(*f); }; });
}

}  // namespace kvpress::cli
