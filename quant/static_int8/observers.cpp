// The four activation observers (what each does: observers.hpp).
#include "quant/static_int8/observers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

namespace {

constexpr std::size_t histogram_bins = 2048;

ActivationRange percentile_range(std::span<const float> values) {
  std::vector<float> sorted(values.begin(), values.end());
  const auto at = [&](double fraction) {
    const auto index = static_cast<std::size_t>(fraction * double(sorted.size() - 1));
    std::nth_element(sorted.begin(), sorted.begin() + std::ptrdiff_t(index), sorted.end());
    return sorted[index];
  };
  return {std::min(0.0f, at(0.0001)), std::max(0.0f, at(0.9999))};
}

// Squared error of quantizing every value to the u8 grid of [lo, hi].
double quantization_mse(std::span<const float> values, double lo, double hi) {
  const double scale = (hi - lo) / 255.0;
  const double zero_point = std::nearbyint(-lo / scale);
  double error = 0.0;
  for (const float v : values) {
    const double code = std::clamp(std::nearbyint(double(v) / scale) + zero_point, 0.0, 255.0);
    const double back = (code - zero_point) * scale;
    error += (double(v) - back) * (double(v) - back);
  }
  return error;
}

ActivationRange mse_range(ActivationRange full, std::span<const float> values) {
  ActivationRange best = full;
  double best_error = std::numeric_limits<double>::infinity();
  for (int percent = 100; percent >= 30; --percent) {
    const double f = percent / 100.0;
    const double error = quantization_mse(values, f * full.lo, f * full.hi);
    if (error < best_error) {
      best_error = error;
      best = {static_cast<float>(f * full.lo), static_cast<float>(f * full.hi)};
    }
  }
  return best;
}

// KL(P || Q) of two unnormalized distributions. Where Q is 0 but P is not (a
// last bin holding only outliers), Q counts as 1e-4 of its total, as
// TensorRT's calibrator smooths it, so such a cut costs much but finitely.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double p_total = 0.0, q_total = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) p_total += p[i], q_total += q[i];
  if (q_total == 0.0) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0.0)
      kl += p[i] / p_total * std::log((p[i] / p_total) / std::max(q[i] / q_total, 1e-4));
  return kl;
}

ActivationRange entropy_range(ActivationRange full, std::span<const float> values) {
  const double magnitude = std::max(-double(full.lo), double(full.hi));
  // Exact zeros (half of a ReLU's outputs) are left out: 0 is a code at
  // every cut, so they cost nothing, and as a spike in the first bin they
  // would make every cut wider than one bin per level look bad.
  std::vector<float> magnitudes;
  for (const float v : values)
    if (v != 0.0f) magnitudes.push_back(std::fabs(v));
  const std::vector<double> counts = histogram_counts(magnitudes, 0.0, magnitude, histogram_bins);
  // Levels the codes give the magnitude: all 255 steps for one-signed data,
  // about half for data that straddles 0.
  const std::size_t levels = full.lo < 0.0f && full.hi > 0.0f ? 128 : 255;
  std::size_t best_cut = histogram_bins;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  for (std::size_t cut = levels; cut <= histogram_bins; ++cut) {
    p.assign(counts.begin(), counts.begin() + std::ptrdiff_t(cut));
    for (std::size_t b = cut; b < histogram_bins; ++b) p[cut - 1] += counts[b];
    // Q: the kept bins without the outliers, merged into `levels` levels,
    // each level's mass spread evenly over the bins where P is nonzero.
    q.assign(cut, 0.0);
    for (std::size_t level = 0; level < levels; ++level) {
      const std::size_t begin = level * cut / levels, end = (level + 1) * cut / levels;
      double mass = 0.0;
      std::size_t nonzero = 0;
      for (std::size_t b = begin; b < end; ++b) {
        mass += counts[b];
        nonzero += p[b] > 0.0 ? 1 : 0;
      }
      for (std::size_t b = begin; b < end; ++b) q[b] = p[b] > 0.0 ? mass / double(nonzero) : 0.0;
    }
    const double kl = kl_divergence(p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best_cut = cut;
    }
  }
  const double threshold = magnitude * double(best_cut) / double(histogram_bins);
  return {static_cast<float>(std::max(double(full.lo), -threshold)),
          static_cast<float>(std::min(double(full.hi), threshold))};
}

}  // namespace

std::vector<double> histogram_counts(std::span<const float> values, double lo, double hi,
                                     std::size_t bins) {
  if (bins == 0 || !(hi > lo))
    throw Error("histogram_counts: expected bins >= 1 over a range hi > lo, found " +
                std::to_string(bins) + " bins over [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  std::vector<double> counts(bins, 0.0);
  const double width = (hi - lo) / double(bins);
  for (const float v : values) {
    const auto bin =
        static_cast<std::size_t>(std::clamp((double(v) - lo) / width, 0.0, double(bins - 1)));
    counts[bin] += 1.0;
  }
  return counts;
}

Observer parse_observer(std::string_view name) {
  if (name == "minmax") return Observer::minmax;
  if (name == "percentile") return Observer::percentile;
  if (name == "mse") return Observer::mse;
  if (name == "entropy") return Observer::entropy;
  throw Error("unknown activation observer '" + std::string(name) +
              "' (expected minmax, percentile, mse or entropy)");
}

std::string to_string(Observer observer) {
  switch (observer) {
    case Observer::minmax:
      return "minmax";
    case Observer::percentile:
      return "percentile";
    case Observer::mse:
      return "mse";
    case Observer::entropy:
      return "entropy";
  }
  return "?";
}

ActivationRange observe_range(Observer observer, std::span<const float> values) {
  if (values.empty()) throw Error("observe_range: no calibration values");
  ActivationRange full;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      throw Error("observe_range: calibration value " + std::to_string(i) + " is not finite");
    full.lo = std::min(full.lo, values[i]);
    full.hi = std::max(full.hi, values[i]);
  }
  if (!(full.hi > full.lo)) return full;  // always 0
  switch (observer) {
    case Observer::minmax:
      return full;
    case Observer::percentile:
      return percentile_range(values);
    case Observer::mse:
      return mse_range(full, values);
    case Observer::entropy:
      return entropy_range(full, values);
  }
  return full;
}

U8Quantization u8_quantization(ActivationRange range) {
  if (!(range.hi > range.lo)) return pixel_quantization;
  const float scale = (range.hi - range.lo) / 255.0f;
  const float zero_point = std::clamp(std::nearbyint(-range.lo / scale), 0.0f, 255.0f);
  return {scale, static_cast<std::int32_t>(zero_point)};
}

}  // namespace tinyq
