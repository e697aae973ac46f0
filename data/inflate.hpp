// A DEFLATE decoder (RFC 1951): the compressed format inside gzip files.
//
// The input is untrusted, so every malformed stream ends in a tinyq::Error
// that names the problem and the byte offset where it was found; the output
// never grows beyond the caller's limit, and decoding always terminates
// because each step consumes input bits or produces bounded output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tinyq {

// Decodes one complete DEFLATE stream (up to and including its final block).
// Throws tinyq::Error if the stream is corrupt, ends early, or would produce
// more than max_output bytes. If consumed is given, it receives the number of
// input bytes the stream occupied (its last partial byte counts), so a
// container format can find what follows it.
std::vector<std::uint8_t> inflate(std::span<const std::uint8_t> compressed, std::size_t max_output,
                                  std::size_t* consumed = nullptr);

// Decodes only the first `count` bytes of the stream's output (fewer if the
// stream ends sooner) and stops there, without reading the rest. Used to look
// at a file's header before deciding whether to decompress all of it.
std::vector<std::uint8_t> inflate_prefix(std::span<const std::uint8_t> compressed,
                                         std::size_t count);

}  // namespace tinyq
