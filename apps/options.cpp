#include "apps/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>

namespace tinyq {

Options::Options(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  add_flag("help", "print this help and exit");
}

void Options::add(const std::string& name, const std::string& value_name, const std::string& help,
                  const std::string& default_value) {
  order_.push_back(name);
  specs_[name] = Spec{value_name, help, default_value, false};
}

void Options::add_flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, "", true};
}

bool Options::parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      throw UsageError("unexpected argument '" + arg + "' (options start with --)");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto it = specs_.find(name);
    if (it == specs_.end()) throw UsageError("unknown option --" + name);
    if (it->second.is_flag) {
      if (value) throw UsageError("option --" + name + " takes no value");
      if (values_.count(name)) throw UsageError("option --" + name + " given twice");
      values_[name] = std::string(1, '1');
      continue;
    }
    if (!value) {
      if (i + 1 >= argc)
        throw UsageError("option --" + name + " needs a value (" + it->second.value_name + ")");
      value = argv[++i];
    }
    if (values_.count(name)) throw UsageError("option --" + name + " given twice");
    values_[name] = *value;
  }
  if (flag("help")) {
    std::cout << help();
    return false;
  }
  return true;
}

std::string Options::help() const {
  std::string out = "usage: " + program_ + " [options]\n" + summary_ + "\n\noptions:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --";
    left += name;
    if (!s.is_flag) left.append(" ").append(s.value_name);
    if (left.size() < 28) {
      left.resize(28, ' ');
    } else {
      left += '\n';
      left.append(28, ' ');
    }
    out += left + s.help;
    if (!s.default_value.empty()) out += " (default: " + s.default_value + ")";
    out += "\n";
  }
  return out;
}

const Options::Spec& Options::spec(const std::string& name) const {
  const auto it = specs_.find(name);
  if (it == specs_.end()) throw Error("internal: option --" + name + " was never declared");
  return it->second;
}

bool Options::given(const std::string& name) const {
  return values_.count(name) != 0;
}

bool Options::has(const std::string& name) const {
  return given(name) || !spec(name).default_value.empty();
}

bool Options::flag(const std::string& name) const {
  spec(name);
  return given(name);
}

std::string Options::text(const std::string& name) const {
  const auto value = optional_text(name);
  if (!value) throw UsageError("option --" + name + " is required");
  return *value;
}

std::optional<std::string> Options::optional_text(const std::string& name) const {
  const Spec& s = spec(name);
  if (const auto it = values_.find(name); it != values_.end()) {
    if (it->second.empty()) throw UsageError("option --" + name + " has an empty value");
    return it->second;
  }
  if (!s.default_value.empty()) return s.default_value;
  return std::nullopt;
}

void Options::bad_value(const std::string& name, const std::string& expected) const {
  throw UsageError("option --" + name + ": expected " + expected + ", found '" + text(name) + "'");
}

namespace {

std::optional<std::uint64_t> parse_whole(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::uint64_t Options::whole_number(const std::string& name, std::uint64_t min,
                                    std::uint64_t max) const {
  const auto v = parse_whole(text(name));
  if (!v || *v < min || *v > max)
    bad_value(name, "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  return *v;
}

double Options::real_number(const std::string& name, double min, double max) const {
  const std::string s = text(name);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < min || v > max) {
    auto show = [](double x) {
      std::string t = std::to_string(x);
      while (t.size() > 1 && t.back() == '0') t.pop_back();
      if (t.back() == '.') t.pop_back();
      return t;
    };
    bad_value(name, "a number from " + show(min) + " to " + show(max));
  }
  return v;
}

std::vector<std::size_t> Options::number_list(const std::string& name, std::size_t min,
                                              std::size_t max) const {
  const std::string s = text(name);
  std::vector<std::size_t> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    const auto v = parse_whole(s.substr(start, comma == std::string::npos ? comma : comma - start));
    if (!v || *v < min || *v > max || out.size() >= 16)
      bad_value(name, "a comma-separated list of at most 16 whole numbers from " +
                          std::to_string(min) + " to " + std::to_string(max));
    out.push_back(static_cast<std::size_t>(*v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string Options::choice(const std::string& name,
                            const std::vector<std::string>& choices) const {
  const std::string s = text(name);
  std::string list;
  for (const auto& c : choices) {
    if (c == s) return s;
    if (!list.empty()) list += '|';
    list += c;
  }
  bad_value(name, "one of " + list);
}

std::vector<std::string> Options::choice_list(const std::string& name,
                                              const std::vector<std::string>& choices) const {
  const std::string s = text(name);
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ",") + c;
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    const std::string word = s.substr(start, comma == std::string::npos ? comma : comma - start);
    if (std::find(choices.begin(), choices.end(), word) == choices.end() ||
        std::find(out.begin(), out.end(), word) != out.end())
      bad_value(name, "a comma-separated list of distinct words from " + list);
    out.push_back(word);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void require_distinct_paths(const std::string& input_option, const std::string& input,
                            const std::string& output_option, const std::string& output) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool same = fs::exists(output, ec)
                        ? fs::equivalent(input, output, ec)
                        : fs::weakly_canonical(input, ec) == fs::weakly_canonical(output, ec);
  if (same)
    throw UsageError("--" + output_option + " " + output + " is the --" + input_option +
                     " file; choose another output");
}

int run_program(const std::string& program, int (*body)(int, const char* const*), int argc,
                const char* const* argv) {
  // A write beyond the file-size limit (ulimit -f) would otherwise kill the
  // program with SIGXFSZ, leaving its temporary file behind; ignored, the
  // write fails with EFBIG and the atomic writer cleans up and reports it.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << " (see " << program << " --help)\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tinyq
