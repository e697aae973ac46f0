// Model files written by earlier tinyq versions keep loading, with outputs
// identical to the bit to what the writing version computed.
//
// tests/fixtures/v1 holds .tqm (model file version 1) and safetensors
// ("quantized-mlp/1" and PyTorch-named float) files made by the writers of
// commit c3321ed, before state dicts, and expected_outputs.txt: the outputs
// that commit's code computed for input_6x40.f32 on the generic and avx2
// paths, for each kernel (float sums are ordered differently per path, so
// each path has its own expected bits; the dynamic_int8 rows were
// recomputed when its activations became 7-bit codes). The fixtures were made on a machine
// without AVX-512: where the default path is avx512, the bits are checked by
// CI's runs with TINYQ_ISA=avx2 and generic, and here only old against
// re-saved files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/io/file_io.hpp"
#include "core/kernels/isa.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"

using namespace tinyq;
namespace fs = std::filesystem;

namespace {

fs::path fixtures() {
  return fs::path(TINYQ_FIXTURE_DIR) / "v1";
}

struct Expected {
  std::string model, kernel, isa;
  std::vector<float> outputs;
};

std::vector<Expected> expected_outputs() {
  std::ifstream in(fixtures() / "expected_outputs.txt");
  REQUIRE(in.good());
  std::vector<Expected> all;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Expected e;
    fields >> e.model >> e.kernel >> e.isa;
    std::string value;
    while (fields >> value) e.outputs.push_back(std::strtof(value.c_str(), nullptr));
    all.push_back(e);
  }
  return all;
}

Tensor fixture_input() {
  const auto bytes = read_file(fixtures() / "input_6x40.f32", 1 << 20);
  REQUIRE(bytes.size() == 6 * 40 * sizeof(float));
  Tensor x({6, 40});
  std::memcpy(x.data(), bytes.data(), bytes.size());
  return x;
}

void check_outputs(Sequential& model, const Tensor& x, const std::vector<float>& expected) {
  const Tensor& y = model.forward(x);
  REQUIRE(y.size() == expected.size());
  CHECK(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("every fixture of version 1 loads and gives the outputs it gave then") {
  const Tensor x = fixture_input();
  const std::string float_isa = isa_name(active_isa(KernelFamily::gemm));
  const std::string weight_only_isa = isa_name(active_isa(KernelFamily::widen_gemm));
  const std::string int8_isa = isa_name(active_isa(KernelFamily::int8_gemm));
  const std::vector<Expected> all = expected_outputs();
  std::size_t checked = 0;
  for (const Expected& e : all) {
    const bool dynamic = e.kernel == "dynamic_int8";
    const std::string& isa = dynamic                     ? int8_isa
                             : e.kernel == "weight_only" ? weight_only_isa
                                                         : float_isa;
    if (e.isa != "generic") continue;  // one pass per file and kernel; the bits by `isa` below
    INFO(e.model << " " << e.kernel << " on " << isa);
    Sequential model = load_model(fixtures() / e.model, all_layers());
    if (dynamic) set_quantized_kernel(model, QuantizedKernel::dynamic_int8);
    const Tensor y = model.forward(x);

    // Saved again by today's writers (model file version 2 and safetensors
    // "tinyq/2"), it computes the same bits as the old file.
    Sequential again = deserialize_model(serialize_model(model), "again.tqm", all_layers());
    if (dynamic) set_quantized_kernel(again, QuantizedKernel::dynamic_int8);
    check_outputs(again, x, {y.values().begin(), y.values().end()});
    const auto st_bytes = model_to_safetensors(model);
    Sequential from_st = model_from_safetensors(read_safetensors(st_bytes, "again.safetensors"),
                                                "again.safetensors", all_layers());
    if (dynamic) set_quantized_kernel(from_st, QuantizedKernel::dynamic_int8);
    check_outputs(from_st, x, {y.values().begin(), y.values().end()});

    const auto recorded = std::find_if(all.begin(), all.end(), [&](const Expected& r) {
      return r.model == e.model && r.kernel == e.kernel && r.isa == isa;
    });
    if (recorded == all.end()) {
      MESSAGE("no outputs recorded for the " << isa << " path; run with TINYQ_ISA=avx2 or generic");
      continue;
    }
    check_outputs(model, x, recorded->outputs);
    ++checked;
  }
  // 2 float files, 5 quantized formats x 2 files x 2 kernels: none skipped
  // on the paths the fixtures were recorded on.
  if (float_isa != "avx512") CHECK(checked == 22);
}
