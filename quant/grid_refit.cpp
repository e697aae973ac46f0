// The least-squares grid refit of grid_refit.hpp.
#include "quant/grid_refit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.hpp"
#include "quant/gptq.hpp"

namespace tinyq {

namespace {

// The zero point of an asymmetric grid if it has one (code z is exactly 0), else -1.
int integer_zero_point(const BlockGrid& grid, Scheme scheme) {
  if (scheme != Scheme::asymmetric) return 0;
  const long z = std::lround(-grid.offset * grid.levels / grid.range);
  if (z < 0 || z > grid.levels) return -1;
  return grid.offset == -(static_cast<double>(z) * grid.range / grid.levels) ? int(z) : -1;
}

// The unknowns of one row: per usable block, its step and (no zero point) its offset.
struct Unknown {
  std::size_t block;          // index into the layout's grids
  std::size_t begin, length;  // the block's columns in the row
  bool offset;                // the offset of the block, else its step
  int zero;                   // the zero point the step multiplies (q - zero)
};

double basis(const Unknown& u, std::int32_t q) {
  return u.offset ? 1.0 : double(q - u.zero);
}

std::vector<Unknown> unknowns_of_row(const QuantizedMatrix& layout, const RoundedMatrix& rounded,
                                     std::size_t r) {
  std::vector<Unknown> unknowns;
  const std::size_t runs = layout.runs_per_row(), length = layout.block_columns();
  for (std::size_t g = 0; g < runs; ++g) {
    const std::size_t block = layout.block_index(r, g), begin = g * length;
    const BlockGrid& grid = rounded.grids[block];
    if (!grid.usable()) continue;
    const std::size_t cols = std::min(length, layout.cols - begin);
    const int zero = integer_zero_point(grid, layout.format.scheme);
    unknowns.push_back({block, begin, cols, false, std::max(zero, 0)});
    if (zero < 0) unknowns.push_back({block, begin, cols, true, 0});
  }
  return unknowns;
}

// Solves A θ = b in place (A [n, n] symmetric positive definite) by Cholesky;
// false if A is not positive definite.
bool solve(std::vector<double>& a, std::vector<double>& b, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    double pivot = a[k * n + k];
    for (std::size_t j = 0; j < k; ++j) pivot -= a[k * n + j] * a[k * n + j];
    if (!(pivot > 0.0) || !std::isfinite(pivot)) return false;
    a[k * n + k] = std::sqrt(pivot);
    for (std::size_t i = k + 1; i < n; ++i) {
      double s = a[i * n + k];
      for (std::size_t j = 0; j < k; ++j) s -= a[i * n + j] * a[k * n + j];
      a[i * n + k] = s / a[k * n + k];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) b[i] -= a[i * n + j] * b[j];
    b[i] /= a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = i + 1; j < n; ++j) b[i] -= a[j * n + i] * b[j];
    b[i] /= a[i * n + i];
  }
  return true;
}

// The grids of row r: its runs' in order (one, shared, for a tensor grid).
std::span<const BlockGrid> grids_of_row(const QuantizedMatrix& layout,
                                        std::span<const BlockGrid> grids, std::size_t r) {
  return grids.subspan(layout.block_index(r, 0), layout.runs_per_row());
}

double row_error(std::span<const float> w, const QuantizedMatrix& layout,
                 const std::vector<std::int32_t>& codes, std::span<const BlockGrid> row_grids,
                 std::span<const double> h, std::size_t r) {
  const std::size_t n = layout.cols, length = layout.block_columns();
  std::vector<double> d(n);
  for (std::size_t c = 0; c < n; ++c)
    d[c] = w[r * n + c] - level_of(codes[r * n + c], row_grids[c / length]);
  return quadratic_error(h, d);
}

}  // namespace

double hessian_error(std::span<const float> w, const QuantizedMatrix& layout,
                     const RoundedMatrix& rounded, std::span<const double> hessian) {
  std::vector<double> per_row(layout.rows);
  parallel_for(layout.rows, 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r)
      per_row[r] =
          row_error(w, layout, rounded.codes, grids_of_row(layout, rounded.grids, r), hessian, r);
  });
  double total = 0.0;
  for (const double e : per_row) total += e;  // in row order: the same at any thread count
  return total;
}

void refit_grids(std::span<const float> w, const QuantizedMatrix& layout, RoundedMatrix& rounded,
                 std::span<const double> hessian) {
  const std::size_t rows = layout.rows, n = layout.cols;
  const bool shared = layout.format.granularity == Granularity::tensor;
  // The normal equations of each row: A = Φᵀ H Φ, b = Φᵀ H w.
  std::vector<std::vector<double>> a(rows), b(rows);
  std::vector<std::vector<Unknown>> unknowns(rows);
  parallel_for(rows, 1, [&](std::size_t begin, std::size_t end) {
    std::vector<double> hphi(n);
    for (std::size_t r = begin; r < end; ++r) {
      const std::vector<Unknown>& us = unknowns[r] = unknowns_of_row(layout, rounded, r);
      const std::size_t k = us.size();
      a[r].assign(k * k, 0.0);
      b[r].assign(k, 0.0);
      const std::int32_t* q = rounded.codes.data() + r * n;
      for (std::size_t i = 0; i < k; ++i) {
        std::fill(hphi.begin(), hphi.end(), 0.0);  // H φ_i
        for (std::size_t c = us[i].begin; c < us[i].begin + us[i].length; ++c) {
          const double phi = basis(us[i], q[c]);
          if (phi == 0.0) continue;
          for (std::size_t j = 0; j < n; ++j) hphi[j] += hessian[c * n + j] * phi;
        }
        for (std::size_t j = 0; j < n; ++j) b[r][i] += hphi[j] * w[r * n + j];
        for (std::size_t l = 0; l < k; ++l)
          for (std::size_t c = us[l].begin; c < us[l].begin + us[l].length; ++c)
            a[r][i * k + l] += hphi[c] * basis(us[l], q[c]);
      }
    }
  });
  if (shared)  // one grid for all rows: one system, the rows' sums in row order
    for (std::size_t r = 1; r < rows; ++r)
      if (unknowns[r].size() == unknowns[0].size())
        for (std::size_t i = 0; i < a[0].size(); ++i) a[0][i] += a[r][i];
  if (shared)
    for (std::size_t r = 1; r < rows; ++r)
      if (unknowns[r].size() == unknowns[0].size())
        for (std::size_t i = 0; i < b[0].size(); ++i) b[0][i] += b[r][i];
  const std::size_t systems = shared ? std::min<std::size_t>(rows, 1) : rows;
  parallel_for(systems, 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      const std::vector<Unknown>& us = unknowns[r];
      const std::size_t k = us.size();
      if (k == 0) continue;
      // Φ may be rank-deficient (a block whose codes are all its zero
      // point): a ridge of 1e-9 of the mean diagonal, pulling towards the
      // current parameters, keeps A definite and leaves those unchanged.
      std::vector<double> old(k);
      for (std::size_t i = 0; i < k; ++i) {
        const BlockGrid& grid = rounded.grids[us[i].block];
        old[i] = us[i].offset ? grid.offset : grid.range / grid.levels;
      }
      double mean_diagonal = 0.0;
      for (std::size_t i = 0; i < k; ++i) mean_diagonal += a[r][i * k + i] / double(k);
      const double ridge = 1e-9 * mean_diagonal + 1e-300;
      for (std::size_t i = 0; i < k; ++i) {
        a[r][i * k + i] += ridge;
        b[r][i] += ridge * old[i];
      }
      if (!solve(a[r], b[r], k)) continue;
      // This row's grids (or the tensor's), old and refitted: run g at [g].
      const std::size_t first = layout.block_index(r, 0);
      const std::span<const BlockGrid> old_grids = grids_of_row(layout, rounded.grids, r);
      std::vector<BlockGrid> grids(old_grids.begin(), old_grids.end());
      bool valid = true;
      for (std::size_t i = 0; i < k && valid; ++i) {
        if (us[i].offset) continue;
        const double step = b[r][i];
        BlockGrid grid = grid_with_zero_point(step * rounded.grids[us[i].block].levels, us[i].zero,
                                              layout.format.scheme, layout.format.bits);
        if (i + 1 < k && us[i + 1].offset) grid.offset = b[r][i + 1];
        valid = step > 0.0 && std::isfinite(grid.offset) && grid.usable();
        grids[us[i].block - first] = grid;
      }
      if (!valid) continue;
      const auto error = [&](std::span<const BlockGrid> g) {
        double total = 0.0;
        for (std::size_t row = shared ? 0 : r; row < (shared ? rows : r + 1); ++row)
          total += row_error(w, layout, rounded.codes, g, hessian, row);
        return total;
      };
      if (error(grids) < error(old_grids))
        std::copy(grids.begin(), grids.end(), rounded.grids.begin() + std::ptrdiff_t(first));
    }
  });
}

}  // namespace tinyq
