#include "core/io/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#include "core/error.hpp"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

// Closes a POSIX file descriptor on every path out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports close's own failure (NFS, for one, reports a
  // failed write only here).
  bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// Creates "<target>.<pid>.<n>.tmp" with O_EXCL, so the file is new and ours
// alone: two processes (pid differs) or two threads (n differs) writing the
// same target never share a temporary. A name left by a killed run whose pid
// came back is skipped, not reused.
FileDescriptor create_temporary(const fs::path& target, fs::path& temporary) {
  static std::atomic<std::uint64_t> counter{0};
  const std::string stem = target.string() + "." + std::to_string(::getpid()) + ".";
  for (int attempt = 0; attempt < 100; ++attempt) {
    temporary = stem + std::to_string(counter++) + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) {
      if (fd < 0)
        throw Error(target.string() + ": cannot create temporary " + temporary.string() + ": " +
                    std::strerror(errno));
      return FileDescriptor(fd);
    }
  }
  throw Error(target.string() + ": cannot create a temporary: 100 names like " +
              temporary.string() + " are taken");
}

// write(2) may write less than asked (signals, pipes); loop until done.
// Returns 0 on success, else the errno of the failing call.
int write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return 0;
}

// The rename is durable only once the folder's entry is on disk too.
// Filesystems that cannot sync a folder say EINVAL; that is no error here.
int sync_folder(const fs::path& folder) {
  FileDescriptor fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return errno;
  return fd.close() ? 0 : errno;
}

}  // namespace

std::vector<std::uint8_t> read_file(const fs::path& path, std::uint64_t max_bytes) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(path.string() + ": no such file");
  if (!fs::is_regular_file(status)) throw Error(path.string() + ": not a regular file");
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error(path.string() + ": cannot read size: " + ec.message());
  if (size > max_bytes)
    throw Error(path.string() + ": file is " + std::to_string(size) + " bytes, limit is " +
                std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size))
    throw Error(path.string() + ": read " + std::to_string(in.gcount()) + " of " +
                std::to_string(size) + " bytes");
  return bytes;
}

void write_file_atomically(const fs::path& path, std::span<const std::uint8_t> bytes) {
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw Error(path.string() + ": folder " + folder.string() + " does not exist");
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a folder, expected a file");

  fs::path temporary;
  FileDescriptor file = create_temporary(path, temporary);
  // Data first, then fsync, then rename: after a crash the target holds the
  // old bytes or all the new ones, never a renamed file whose data never
  // reached the disk.
  int error = write_all(file.get(), bytes);
  if (!error && ::fsync(file.get()) != 0) error = errno;
  if (!file.close() && !error) error = errno;
  if (!error && ::rename(temporary.c_str(), path.c_str()) != 0) {
    error = errno;
    ::unlink(temporary.c_str());
    throw Error(path.string() + ": cannot replace: " + std::strerror(error));
  }
  if (error) {
    ::unlink(temporary.c_str());
    throw Error(path.string() + ": write failed: " + std::strerror(error));
  }
  if (const int folder_error = sync_folder(folder))
    throw Error(path.string() + ": written, but folder " + folder.string() +
                " could not be flushed to disk: " + std::strerror(folder_error));
}

void write_text_file_atomically(const fs::path& path, std::string_view text) {
  write_file_atomically(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace tinyq
