// GNU-style long options for the tinyq programs: `--name value` or
// `--name=value`, and flags without a value.
//
// Each option is declared once with its value name, default and help text;
// `--help` is generated from the declarations. Values are kept as text and
// converted by typed getters that validate them, so every bad value gets the
// same kind of one-line message: which option, what was expected, what was
// found. Usage mistakes throw UsageError (exit status 2); everything else
// that fails at run time throws tinyq::Error (exit status 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

class UsageError : public Error {
 public:
  using Error::Error;
};

class Options {
 public:
  Options(std::string program, std::string summary);

  // An option that takes a value. An empty default means "not set".
  void add(const std::string& name, const std::string& value_name, const std::string& help,
           const std::string& default_value = "");
  // An option without a value.
  void add_flag(const std::string& name, const std::string& help);

  // Parses argv. Returns false when --help was given (help already printed).
  // Throws UsageError on an unknown option, a missing value or a stray argument.
  bool parse(int argc, const char* const* argv);

  std::string help() const;
  const std::string& program() const { return program_; }

  bool has(const std::string& name) const;    // given on the command line, or has a default
  bool given(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const;
  std::string text(const std::string& name) const;
  std::optional<std::string> optional_text(const std::string& name) const;
  // Whole number in [min, max].
  std::uint64_t whole_number(const std::string& name, std::uint64_t min, std::uint64_t max) const;
  // Finite real number in [min, max].
  double real_number(const std::string& name, double min, double max) const;
  // Comma-separated whole numbers, each in [min, max], e.g. "256,128".
  std::vector<std::size_t> number_list(const std::string& name, std::size_t min,
                                       std::size_t max) const;
  // One of the given words.
  std::string choice(const std::string& name, const std::vector<std::string>& choices) const;
  // Comma-separated words, each one of the given words and none twice, in
  // the order given, e.g. "weight_only,dynamic_int8".
  std::vector<std::string> choice_list(const std::string& name,
                                       const std::vector<std::string>& choices) const;

 private:
  struct Spec {
    std::string value_name, help, default_value;
    bool is_flag = false;
  };
  const Spec& spec(const std::string& name) const;
  [[noreturn]] void bad_value(const std::string& name, const std::string& expected) const;

  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
};

// Throws UsageError when output names the same file as input (so a failed
// run could never destroy its own input).
void require_distinct_paths(const std::string& input_option, const std::string& input,
                            const std::string& output_option, const std::string& output);

// Runs a program's body and turns exceptions into `error: ...` on stderr and
// the documented exit statuses: 0 success, 1 runtime error, 2 usage error.
int run_program(const std::string& program, int (*body)(int, const char* const*), int argc,
                const char* const* argv);

}  // namespace tinyq
