// One exception type for everything that can go wrong at run time in tinyq:
// a malformed file, a shape mismatch at an API edge, a bad value. The message
// is always one line that says what is wrong, where, and expected vs found,
// so the apps can print it as `error: <message>` and exit.
#pragma once

#include <stdexcept>
#include <string>

namespace tinyq {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tinyq
