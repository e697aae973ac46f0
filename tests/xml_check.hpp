// A small XML well-formedness check for the SVG plots' tests.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace tinyq::test {

// A small well-formedness check for the subset of XML the plots use:
// elements, attributes in double quotes, text, and the five predefined
// entities. Returns "" when well-formed, else what is wrong.
inline std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  std::size_t roots = 0, i = 0;
  auto check_entity = [&](std::size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (s.compare(at, std::string(e).size(), e) == 0) return true;
    return false;
  };
  while (i < s.size()) {
    if (s[i] == '&') {
      if (!check_entity(i)) return "bad entity at " + std::to_string(i);
      ++i;
    } else if (s[i] == '>') {
      return "stray '>' at " + std::to_string(i);
    } else if (s[i] != '<') {
      ++i;
    } else if (s.compare(i, 2, "</") == 0) {
      const std::size_t end = s.find('>', i);
      if (end == std::string::npos) return "unterminated end tag";
      const std::string name = s.substr(i + 2, end - i - 2);
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
      i = end + 1;
    } else {
      std::size_t k = i + 1;
      while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) || s[k] == '-')) ++k;
      const std::string name = s.substr(i + 1, k - i - 1);
      if (name.empty()) return "bad tag at " + std::to_string(i);
      bool closed = false;
      while (k < s.size() && s[k] != '>') {
        if (s[k] == '"') {
          const std::size_t q = s.find('"', k + 1);
          if (q == std::string::npos) return "unterminated attribute";
          for (std::size_t a = k + 1; a < q; ++a) {
            if (s[a] == '<') return "'<' in attribute of <" + name + ">";
            if (s[a] == '&' && !check_entity(a)) return "bad entity in attribute";
          }
          k = q;
        } else if (s[k] == '/' && k + 1 < s.size() && s[k + 1] == '>') {
          closed = true;
        }
        ++k;
      }
      if (k >= s.size()) return "unterminated tag <" + name;
      if (open.empty()) ++roots;
      if (!closed) open.push_back(name);
      i = k + 1;
    }
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (roots != 1) return std::to_string(roots) + " root elements";
  return "";
}

}  // namespace tinyq::test
