#include "apps/data_location.hpp"

#include "core/error.hpp"
#include "data/mnist.hpp"

namespace tinyq {

std::filesystem::path locate_data(const std::optional<std::string>& data_option) {
  if (data_option) return *data_option;  // load_mnist names any missing file
  if (const auto found = find_data_folder()) return *found;
  std::string searched;
  for (const auto& folder : default_data_folders())
    searched += (searched.empty() ? "" : ", ") + folder.string();
  throw Error("no MNIST files found (looked in " + searched +
              "); get them with `bash apps/fetch_mnist.sh`, or use Fashion-MNIST from Debian: "
              "`apt-get install dataset-fashion-mnist` then --data "
              "/usr/share/datasets/fashion-mnist");
}

}  // namespace tinyq
