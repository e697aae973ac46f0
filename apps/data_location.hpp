// Where the programs look for MNIST when --data is not given, and what they
// say when it is nowhere: how to fetch MNIST, and that Debian's
// dataset-fashion-mnist package works as well.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tinyq {

// --data if given (must hold the four files), else the first folder of
// default_data_folders() that holds them; else tinyq::Error with directions.
std::filesystem::path locate_data(const std::optional<std::string>& data_option);

}  // namespace tinyq
