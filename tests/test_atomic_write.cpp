// core/io/file_io: write_file_atomically replaces a file whole or not at all,
// also with two writers at once, and read_file refuses what it should not
// read. A failing write is made real by lowering RLIMIT_FSIZE in a forked
// child, so write() fails with EFBIG halfway through, as it would on a full
// disk.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
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

TEST_CASE("write_file_atomically writes zero bytes as an empty file") {
  TempFolder folder("empty");
  const fs::path target = folder.path / "empty.json";
  write_file_atomically(target, {});
  CHECK(fs::is_regular_file(target));
  CHECK(fs::file_size(target) == 0);
  write_text_file_atomically(target, "");
  CHECK(fs::file_size(target) == 0);
  CHECK(listing(folder.path) == std::vector<std::string>{"empty.json"});
}

TEST_CASE("write_file_atomically leaves files named like its temporaries alone") {
  // A killed run whose pid is now ours may have left a temporary with a name
  // this process would pick ("<target>.<pid>.<n>.tmp", n counting up from 0
  // per process): such names are skipped, never reused or removed.
  TempFolder folder("taken");
  const fs::path target = folder.path / "out.json";
  std::vector<std::string> expected{"out.json", "out.json.tmp"};
  put(folder.path / "out.json.tmp", "from an older tinyq");
  for (int n = 0; n < 60; ++n) {
    const std::string name =
        "out.json." + std::to_string(getpid()) + "." + std::to_string(n) + ".tmp";
    put(folder.path / name, "another writer's");
    expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());
  write_file_atomically(target, bytes_of("{}"));
  CHECK(contents(target) == "{}");
  CHECK(listing(folder.path) == expected);
  CHECK(contents(folder.path / "out.json.tmp") == "from an older tinyq");
  for (const auto& name : expected)
    if (name != "out.json" && name != "out.json.tmp")
      CHECK(contents(folder.path / name) == "another writer's");
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

TEST_CASE("a temporary that cannot be created is an error that leaves the target intact") {
  // The temporary's name is longer than the target's: a target name near
  // NAME_MAX (255 bytes on Linux) leaves no room for it. (Permissions would
  // not do: the tests may run as root.)
  TempFolder folder("longname");
  const fs::path target = folder.path / (std::string(250, 'm') + ".tqm");
  put(target, "earlier model");
  CHECK_THROWS_WITH_AS(write_file_atomically(target, bytes_of("new")),
                       doctest::Contains("cannot create temporary"), Error);
  CHECK(contents(target) == "earlier model");
  CHECK(listing(folder.path) == std::vector<std::string>{target.filename().string()});
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

namespace {

// What a reader may see of a file two writers keep replacing: nothing yet,
// or one writer's bytes whole (each writer writes one byte value `size`
// times). Anything else (a mix, a short file) is a torn write.
bool whole_or_missing(const fs::path& target, std::size_t size) {
  std::ifstream in(target, std::ios::binary);
  if (!in) return true;
  const std::string seen(std::istreambuf_iterator<char>(in), {});
  return seen.size() == size && (seen == std::string(size, 'A') || seen == std::string(size, 'B'));
}

constexpr std::size_t race_bytes = 256 * 1024;  // several write() calls' worth of stdio buffers
constexpr int race_writes = 40;

void write_repeatedly(const fs::path& target, char fill) {
  const Bytes bytes(race_bytes, static_cast<std::uint8_t>(fill));
  for (int i = 0; i < race_writes; ++i) write_file_atomically(target, bytes);
}

}  // namespace

TEST_CASE("two processes writing one target never mix their bytes or leave temporaries") {
  TempFolder folder("processes");
  const fs::path target = folder.path / "model.tqm";
  std::vector<pid_t> children;
  for (const char fill : {'A', 'B'}) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        write_repeatedly(target, fill);
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  // Read while they write: every read must see one whole version.
  bool all_whole = true;
  int reads = 0, clean_exits = 0;
  std::size_t running = children.size();
  while (running > 0) {
    all_whole = whole_or_missing(target, race_bytes) && all_whole;
    ++reads;
    for (pid_t& child : children) {
      int status = 0;
      if (child <= 0 || waitpid(child, &status, WNOHANG) != child) continue;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++clean_exits;
      child = 0;
      --running;
    }
  }
  CHECK(clean_exits == 2);
  INFO(reads << " reads during the writes");
  CHECK(all_whole);
  CHECK(whole_or_missing(target, race_bytes));
  CHECK(fs::file_size(target) == race_bytes);
  CHECK(listing(folder.path) == std::vector<std::string>{"model.tqm"});
}

TEST_CASE("two threads writing one target never mix their bytes or leave temporaries") {
  TempFolder folder("threads");
  const fs::path target = folder.path / "model.tqm";
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (const char fill : {'A', 'B'})
    writers.emplace_back([&, fill] {
      try {
        write_repeatedly(target, fill);
      } catch (...) {
        ++failures;
      }
    });
  for (auto& writer : writers) writer.join();
  CHECK(failures == 0);
  CHECK(whole_or_missing(target, race_bytes));
  CHECK(fs::file_size(target) == race_bytes);
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
