// Whole-file reads with a size cap, and atomic writes.
//
// Both data (IDX files) and nn (model files) read untrusted files whole and
// parse them from memory; the cap stops a huge or endless file before it is
// read. Writes go to a temporary file in the same folder that is flushed,
// closed and then renamed over the target: rename within one filesystem is
// atomic, so readers see the old file or the new one, never half of one, and
// a failed run leaves an earlier file intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace tinyq {

// Throws tinyq::Error naming the file if it is missing, unreadable, not a
// regular file, or larger than max_bytes.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// On any failure the temporary is removed, path is untouched, and
// tinyq::Error is thrown.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
// The same for text (reports, SVG plots).
void write_text_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace tinyq
