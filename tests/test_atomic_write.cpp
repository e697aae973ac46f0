// core/io/file_io: write_file_atomically replaces a file whole or not at all, and
// read_file refuses what it should not read. A failing write is made real by
// lowering RLIMIT_FSIZE in a forked child, so write() fails with EFBIG halfway
// through, as it would on a full disk.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/file_io.hpp"

using namespace tinyq;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh folder under the system temp folder, removed with everything in it.
struct TempFolder {
  fs::path path;
  explicit TempFolder(const std::string& name)
      : path(fs::temp_directory_path() /
             ("tinyq_test_atomic_write_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Names in the folder, to show nothing (such as a .tmp file) was left behind.
std::vector<std::string> listing(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Runs write_file_atomically in a child whose files may not grow beyond
// limit bytes. Returns true if the write threw tinyq::Error there.
bool write_fails_under_size_limit(const fs::path& path, const Bytes& bytes, rlim_t limit) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // so write() returns EFBIG instead of killing us
    const rlimit small{limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &small) != 0) _exit(3);
    try {
      write_file_atomically(path, bytes);
    } catch (const Error&) {
      _exit(0);
    } catch (...) {
      _exit(2);
    }
    _exit(1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("write_file_atomically creates a file with exactly the bytes given") {
  TempFolder folder("create");
  const fs::path target = folder.path / "model.tqm";
  write_file_atomically(target, bytes_of("first version"));
  CHECK(contents(target) == "first version");
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("write_file_atomically replaces the whole earlier contents") {
  TempFolder folder("replace");
  const fs::path target = folder.path / "model.tqm";
  put(target, "a much longer earlier version of the file");
  write_file_atomically(target, bytes_of("short"));
  CHECK(contents(target) == "short");
  write_file_atomically(target, {});
  CHECK(contents(target).empty());
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("write_file_atomically overwrites a stale temporary left by a killed run") {
  TempFolder folder("stale");
  const fs::path target = folder.path / "out.json";
  put(folder.path / "out.json.tmp", "half-written junk from an earlier crash");
  write_file_atomically(target, bytes_of("{}"));
  CHECK(contents(target) == "{}");
  CHECK(listing(folder.path) == std::vector<std::string>{"out.json"});
}

TEST_CASE("a write that fails halfway leaves the earlier file intact and no temporary") {
  TempFolder folder("efbig");
  const fs::path target = folder.path / "model.tqm";
  put(target, "earlier model");
  const Bytes big(64 * 1024, 0xAB);  // larger than stdio's buffer: fails in fwrite or fflush
  CHECK(write_fails_under_size_limit(target, big, 1000));
  CHECK(contents(target) == "earlier model");
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("a write that fails when flushed leaves the earlier file intact and no temporary") {
  TempFolder folder("flush");
  const fs::path target = folder.path / "model.tqm";
  put(target, "earlier model");
  CHECK(write_fails_under_size_limit(target, bytes_of("new but not allowed"), 0));
  CHECK(contents(target) == "earlier model");
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("write_file_atomically refuses a missing folder and names the path") {
  TempFolder folder("nofolder");
  const fs::path target = folder.path / "missing" / "model.tqm";
  CHECK_THROWS_WITH_AS(write_file_atomically(target, bytes_of("x")), doctest::Contains("missing"),
                       Error);
  CHECK_FALSE(fs::exists(folder.path / "missing"));
}

TEST_CASE("write_file_atomically refuses a target that is a folder and leaves it alone") {
  TempFolder folder("isdir");
  const fs::path target = folder.path / "model.tqm";
  fs::create_directory(target);
  put(target / "inside", "kept");
  CHECK_THROWS_WITH_AS(write_file_atomically(target, bytes_of("x")), doctest::Contains("folder"),
                       Error);
  CHECK(fs::is_directory(target));
  CHECK(contents(target / "inside") == "kept");
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("read_file returns the bytes of a file up to the cap") {
  TempFolder folder("read");
  put(folder.path / "f", "12345");
  CHECK(read_file(folder.path / "f", 5) == bytes_of("12345"));
  CHECK(read_file(folder.path / "f", 1000) == bytes_of("12345"));
}

TEST_CASE("read_file refuses a file over the cap, naming both sizes") {
  TempFolder folder("cap");
  put(folder.path / "f", "123456");
  CHECK_THROWS_WITH_AS(read_file(folder.path / "f", 5), doctest::Contains("6 bytes, limit is 5"),
                       Error);
}

TEST_CASE("read_file refuses a folder and a missing file") {
  TempFolder folder("refuse");
  CHECK_THROWS_WITH_AS(read_file(folder.path, 1000), doctest::Contains("not a regular file"),
                       Error);
  CHECK_THROWS_WITH_AS(read_file(folder.path / "nothing", 1000), doctest::Contains("no such file"),
                       Error);
}
