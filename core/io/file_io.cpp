#include "core/io/file_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#include "core/error.hpp"

namespace tinyq {

namespace fs = std::filesystem;

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
  const fs::path temporary = path.string() + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) throw Error(temporary.string() + ": cannot create: " + std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const bool flushed = std::fflush(file) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !flushed || !closed) {
    const std::string reason = std::strerror(errno);
    fs::remove(temporary, ec);
    throw Error(path.string() + ": write failed: " + reason);
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(path.string() + ": cannot replace: " + ec.message());
  }
}

void write_text_file_atomically(const fs::path& path, std::string_view text) {
  write_file_atomically(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace tinyq
