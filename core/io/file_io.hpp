// Whole-file reads with a size cap, and atomic writes.
//
// Both data (IDX files) and nn (model files) read untrusted files whole and
// parse them from memory; the cap stops a huge or endless file before it is
// read. Writes go to a new temporary file in the same folder, named
// "<target>.<pid>.<n>.tmp" and created exclusively, so concurrent writers of
// one target (processes or threads) never share one. It is written, synced to
// disk (fsync) and closed, then renamed over the target, and the folder is
// synced so the rename itself survives a crash. Rename within one filesystem
// is atomic: readers see the old file or one writer's new file whole, never
// half of one or a mix of two, and a failed run leaves an earlier file intact.
// A run killed mid-write may leave its temporary behind (nothing removes it,
// as it cannot be told from another process's write in progress).
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
// tinyq::Error is thrown, with one exception: if only the final sync of the
// folder fails, path already holds the new bytes and the Error says so.
// Zero bytes are a valid (empty) file.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
// The same for text (reports, SVG plots).
void write_text_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace tinyq
