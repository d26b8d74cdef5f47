#include "eval/prompts.h"

#include "eval/longctx_rows.h"

#include <cmath>
#include <cctype>
#include <cstdio>

namespace kvpress::eval {

const char kPromptMath[] =
    "\nSolve the problem step by step. Wrap your final answer in \"\\boxed{}\".";
const char kPromptStep[] = "Solve the problem step by step. Wrap your final answer in \"\\boxed{}\".";
const char kPromptMc[] =
    "Solve the problem step by step. Answer with the answer choice label and wrap your final answer "
    "in \"\\boxed{}\".";
const char kFolioInstr[] =
    "Given the premises and conclusion, determine whether the conclusion follows from the premises. "
    "Answer with True, False or Uncertain.";
const char kFolioTail[] =
    "Solve the problem step by step. Choose your final answer from True, False and Uncertain and "
    "wrap your final answer in \"\\boxed{}\".";
const char kStrategyInstr[] =
    "Given some facts and a related question, answer the question with true or false.";
const char kStrategyTail[] =
    "Solve the problem step by step. Answer with true or false and wrap your final answer in "
    "\"\\boxed{}\".";
const char kReclorInstr[] = "Given a context, a question and some options, pick the correct option.";
const char kLogiqaInstr[] = "Given a context, a query and some options, pick the correct option.";
const char kReclorTail[] =
    "Solve the problem step by step. Answer with the option number and wrap your final answer in "
    "\"\\boxed{{}}\".";

namespace {

using nlohmann::json;

// A string field (numbers are printed as Python's str() would for ints; floats keep ".0").
StatusOr<std::string> GetString(const json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return InvalidArgument(std::string("missing field '") + key + "'");
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_number_float()) return it->dump();  // nlohmann prints 27.0 as "27.0", like Python
  if (it->is_boolean()) return std::string(it->get<bool>() ? "True" : "False");
  return InvalidArgument(std::string("field '") + key + "' is not a string");
}

bool Has(const json& row, const char* key) { return row.contains(key) && !row[key].is_null(); }

// A string field, or a list of strings joined by newlines.
StatusOr<std::string> GetText(const json& row, const char* key) {
  auto it = row.find(key);
  if (it != row.end() && it->is_array()) {
    std::string out;
    for (const json& e : *it) {
      if (!e.is_string()) return InvalidArgument(std::string("field '") + key + "' has a non-string item");
      out += (out.empty() ? "" : "\n") + e.get<std::string>();
    }
    return out;
  }
  return GetString(row, key);
}

// A list of strings.
StatusOr<std::vector<std::string>> GetStringList(const json& v, const char* what) {
  if (!v.is_array() || v.empty()) return InvalidArgument(std::string("field '") + what + "' is not a non-empty list");
  std::vector<std::string> out;
  for (const json& e : v) {
    if (!e.is_string()) return InvalidArgument(std::string("field '") + what + "' has a non-string item");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Strips an AGIEval option prefix "(A)" / "(A) ".
std::string StripOptionLabel(const std::string& s) {
  if (s.size() >= 3 && s[0] == '(' && s[2] == ')' && std::isupper(static_cast<unsigned char>(s[1]))) {
    size_t i = 3;
    while (i < s.size() && s[i] == ' ') ++i;
    return s.substr(i);
  }
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\f\v");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n\f\v");
  return s.substr(b, e - b + 1);
}

FormattedRow Single(std::string prompt, std::string gold) {
  FormattedRow r;
  r.prompt = std::move(prompt);
  r.golds = {gold};
  r.gold = std::move(gold);
  return r;
}

StatusOr<FormattedRow> FormatMath(DatasetKind kind, const json& row) {
  const char* qkey = Has(row, "problem") ? "problem" : "question";
  ASSIGN_OR_RETURN(std::string problem, GetString(row, qkey));
  std::string gold;
  if (kind == DatasetKind::kGsm8k) {
    ASSIGN_OR_RETURN(std::string answer, GetString(row, "answer"));
    size_t p = answer.rfind("####");
    gold = Trim(p == std::string::npos ? answer : answer.substr(p + 4));
  } else if (kind == DatasetKind::kAime24 && !Has(row, "answer")) {
    // The fork reads `solution` (math-ai/aime24 stores the bare answer there).
    ASSIGN_OR_RETURN(gold, GetString(row, "solution"));
  } else {
    ASSIGN_OR_RETURN(gold, GetString(row, "answer"));
  }
  if (Trim(gold).empty()) return InvalidArgument("empty gold answer");
  // The generic dataset's question is the whole prompt: its author chose the instruction.
  if (kind == DatasetKind::kJsonl) return Single(problem, gold);
  return Single(problem + kPromptMath, gold);
}

StatusOr<FormattedRow> FormatFolio(const json& row) {
  ASSIGN_OR_RETURN(std::string premises, GetText(row, "premises"));
  ASSIGN_OR_RETURN(std::string conclusion, GetString(row, "conclusion"));
  ASSIGN_OR_RETURN(std::string label, GetString(row, "label"));
  return Single(std::string(kFolioInstr) + "\nPremises:\n" + premises + "\nConclusion:\n" + conclusion +
                    "\n" + kFolioTail,
                label);
}

StatusOr<FormattedRow> FormatStrategyQa(const json& row) {
  std::string question, facts, gold;
  if (Has(row, "target_scores")) {  // BIG-bench example: input + {"Yes": 1, "No": 0}
    ASSIGN_OR_RETURN(question, GetString(row, "input"));
    const json& ts = row["target_scores"];
    if (!ts.is_object() || !ts.contains("Yes") || !ts["Yes"].is_number())
      return InvalidArgument("field 'target_scores' lacks a numeric 'Yes'");
    gold = ts["Yes"].get<double>() > 0 ? "True" : "False";
  } else {
    ASSIGN_OR_RETURN(question, GetString(row, "question"));
    ASSIGN_OR_RETURN(gold, GetString(row, "answer"));  // bool → "True"/"False"
  }
  if (Has(row, "facts")) {
    ASSIGN_OR_RETURN(facts, GetText(row, "facts"));
  }
  return Single(std::string(kStrategyInstr) + "\\Facts:\n" + facts + "\\Question:\n" + question + "\n" +
                    kStrategyTail,
                gold);
}

StatusOr<FormattedRow> FormatDrop(const json& row) {
  ASSIGN_OR_RETURN(std::string passage, GetString(row, "passage"));
  ASSIGN_OR_RETURN(std::string question, GetString(row, "question"));
  std::vector<std::string> spans;
  if (Has(row, "answers_spans") && row["answers_spans"].is_object() && row["answers_spans"].contains("spans")) {
    ASSIGN_OR_RETURN(spans, GetStringList(row["answers_spans"]["spans"], "answers_spans.spans"));
  } else if (Has(row, "answer")) {
    const json& a = row["answer"];
    if (a.is_array()) {
      ASSIGN_OR_RETURN(spans, GetStringList(a, "answer"));
    } else {
      ASSIGN_OR_RETURN(std::string s, GetString(row, "answer"));
      spans = {s};
    }
  } else {
    return InvalidArgument("missing field 'answers_spans'");
  }
  FormattedRow r;
  r.prompt = "Passage:\n" + passage + "\nQuestion:\n" + question + "\n" + kPromptStep;
  r.gold = PythonListRepr(spans);
  r.golds = spans;
  return r;
}

// Options as a list of strings and the 0-based gold index, from either layout.
StatusOr<FormattedRow> FormatNumbered(DatasetKind kind, const json& row) {
  const bool logiqa = kind == DatasetKind::kLogiqa;
  std::string context, question;
  std::vector<std::string> options;
  long long gold_index = -1;
  if (Has(row, "passage")) {  // AGIEval layout (logiqa-en, lsat-lr)
    ASSIGN_OR_RETURN(context, GetString(row, "passage"));
    ASSIGN_OR_RETURN(question, GetString(row, "question"));
    ASSIGN_OR_RETURN(options, GetStringList(row.value("options", json()), "options"));
    for (std::string& o : options) o = StripOptionLabel(o);
    ASSIGN_OR_RETURN(std::string label, GetString(row, "label"));
    if (label.size() != 1 || label[0] < 'A' || label[0] > 'Z') return InvalidArgument("field 'label' is not a letter");
    gold_index = label[0] - 'A';
  } else {
    ASSIGN_OR_RETURN(context, GetString(row, "context"));
    ASSIGN_OR_RETURN(question, GetString(row, logiqa ? "query" : "question"));
    const char* okey = logiqa ? "options" : "answers";
    ASSIGN_OR_RETURN(options, GetStringList(row.value(okey, json()), okey));
    const char* lkey = logiqa ? "correct_option" : "label";
    if (!Has(row, lkey) || !row[lkey].is_number_integer())
      return InvalidArgument(std::string("field '") + lkey + "' is not an integer");
    gold_index = row[lkey].get<long long>();
  }
  if (gold_index < 0 || gold_index >= static_cast<long long>(options.size()))
    return InvalidArgument("gold option index out of range");
  std::string p = std::string(logiqa ? kLogiqaInstr : kReclorInstr) + "\nContext:\n" + context +
                  (logiqa ? "\nQuery:\n" : "\nQuestion:\n") + question + "\nOptions:\n";
  for (size_t i = 0; i < options.size(); ++i) p += std::to_string(i + 1) + ". " + options[i] + "\n";
  return Single(p + kReclorTail, std::to_string(gold_index + 1));
}

StatusOr<FormattedRow> FormatLettered(DatasetKind kind, const json& row) {
  std::string question;
  json choices;
  if (Has(row, "question") && row["question"].is_object()) {  // original CSQA / OBQA jsonl
    ASSIGN_OR_RETURN(question, GetString(row["question"], "stem"));
    choices = row["question"].value("choices", json());
  } else {
    ASSIGN_OR_RETURN(question, GetString(row, kind == DatasetKind::kOpenbookQa && Has(row, "question_stem")
                                                  ? "question_stem"
                                                  : "question"));
    choices = row.value("choices", json());
  }
  std::vector<std::string> labels, texts;
  if (choices.is_array()) {  // [{label, text}, ...]
    for (const json& c : choices) {
      if (!c.is_object()) return InvalidArgument("field 'choices' has a non-object item");
      ASSIGN_OR_RETURN(std::string l, GetString(c, "label"));
      ASSIGN_OR_RETURN(std::string t, GetString(c, "text"));
      labels.push_back(l);
      texts.push_back(t);
    }
  } else if (choices.is_object()) {  // HF: {label: [...], text: [...]}
    ASSIGN_OR_RETURN(labels, GetStringList(choices.value("label", json()), "choices.label"));
    ASSIGN_OR_RETURN(texts, GetStringList(choices.value("text", json()), "choices.text"));
    if (labels.size() != texts.size()) return InvalidArgument("choices.label and choices.text differ in length");
  } else {
    return InvalidArgument("missing field 'choices'");
  }
  if (labels.empty()) return InvalidArgument("no choices");
  ASSIGN_OR_RETURN(std::string key, GetString(row, "answerKey"));
  if (Trim(key).empty()) return InvalidArgument("empty field 'answerKey'");
  std::string p = "Question:\n" + question + "\nChoices:\n";
  for (size_t i = 0; i < labels.size(); ++i) p += (i ? "\n" : "") + labels[i] + ". " + texts[i];
  return Single(p + "\n" + kPromptMc, key);
}

}  // namespace

std::string PythonListRepr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& s = items[i];
    bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
    char q = (has_single && !has_double) ? '"' : '\'';
    if (i) out += ", ";
    out += q;
    for (unsigned char c : s) {
      if (c == '\\') out += "\\\\";
      else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += q;
  }
  return out + "]";
}

StatusOr<FormattedRow> FormatRow(DatasetKind kind, const json& row) {
  if (!row.is_object()) return InvalidArgument("row is not a JSON object");
  switch (kind) {
    case DatasetKind::kGsm8k:
    case DatasetKind::kMath500:
    case DatasetKind::kAime24:
    case DatasetKind::kAime25:
    case DatasetKind::kAmc23:
    case DatasetKind::kJsonl:
      return FormatMath(kind, row);
    case DatasetKind::kFolio:
      return FormatFolio(row);
    case DatasetKind::kStrategyQa:
      return FormatStrategyQa(row);
    case DatasetKind::kDrop:
      return FormatDrop(row);
    case DatasetKind::kReclor:
    case DatasetKind::kLogiqa:
    case DatasetKind::kLsatLr:
      return FormatNumbered(kind, row);
    case DatasetKind::kCommonsenseQa:
    case DatasetKind::kOpenbookQa:
      return FormatLettered(kind, row);
    case DatasetKind::kRuler:
    case DatasetKind::kNiah:
    case DatasetKind::kInfiniteBench:
    case DatasetKind::kLongBench:
    case DatasetKind::kLongBenchV2:
    case DatasetKind::kLoogle:
    case DatasetKind::kZeroScrolls:
      return FormatLongContextRow(kind, row);
  }
  return Internal("unhandled dataset kind");
}

}  // namespace kvpress::eval
