// GPTQ: the Hessian, the factor of its inverse, and the column-by-column pass.
#include "quant/gptq.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "quant/grid_refit.hpp"

namespace tinyq {

namespace {

// In-place upper Cholesky factor (A = Uᵀ U) of a symmetric [n, n] matrix,
// right-looking: row k of U is row k of what is left of A over sqrt(A_kk),
// then row k's outer product leaves A (contiguous row updates that
// vectorize). Only the upper triangle is read and written. False when a
// pivot is not positive, or is lost in rounding (below 1e-12 of its original
// diagonal entry: singular to working precision, its inverse would be noise).
bool cholesky_upper(std::vector<double>& a, std::size_t n) {
  std::vector<double> diagonal(n);
  for (std::size_t i = 0; i < n; ++i) diagonal[i] = a[i * n + i];
  for (std::size_t k = 0; k < n; ++k) {
    double* row = a.data() + k * n;
    const double pivot = row[k];
    if (!(pivot > 1e-12 * diagonal[k]) || !std::isfinite(pivot)) return false;
    const double d = std::sqrt(pivot);
    for (std::size_t j = k; j < n; ++j) row[j] /= d;
    for (std::size_t i = k + 1; i < n; ++i) {
      const double f = row[i];
      double* target = a.data() + i * n;
      for (std::size_t j = i; j < n; ++j) target[j] -= f * row[j];
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < i; ++j) a[i * n + j] = 0.0;
  return true;
}

// M = U⁻¹ for an upper-triangular U, row by row from the last: U M = I gives
// row i of M = (e_i - Σ_{k>i} U_ik · row k of M) / U_ii (contiguous row updates).
std::vector<double> inverse_upper(const std::vector<double>& u, std::size_t n) {
  std::vector<double> m(n * n, 0.0);
  for (std::size_t i = n; i-- > 0;) {
    double* row = m.data() + i * n;
    row[i] = 1.0;
    for (std::size_t k = i + 1; k < n; ++k) {
      const double f = u[i * n + k];
      const double* other = m.data() + k * n;
      for (std::size_t j = k; j < n; ++j) row[j] -= f * other[j];
    }
    for (std::size_t j = i; j < n; ++j) row[j] /= u[i * n + i];
  }
  return m;
}

}  // namespace

// Σ_i d_i · (Σ_j H_ij · d_j): each inner sum is one chain of additions over
// j in order, which alone waits on every addition's latency. Four rows share
// one pass over j, four independent chains, and their terms then join the
// total in order of i: the bits of summing one row at a time, at about a
// quarter of the wait (AWQ's search and the grid refits call this for every
// candidate).
double quadratic_error(std::span<const double> h, std::span<const double> d) {
  const std::size_t n = d.size();
  std::vector<std::size_t> rows;  // the i with d_i != 0, ascending
  rows.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] != 0.0) rows.push_back(i);
  double total = 0.0;
  std::size_t t = 0;
  for (; t + 4 <= rows.size(); t += 4) {
    const double* h0 = h.data() + rows[t] * n;
    const double* h1 = h.data() + rows[t + 1] * n;
    const double* h2 = h.data() + rows[t + 2] * n;
    const double* h3 = h.data() + rows[t + 3] * n;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      s0 += h0[j] * d[j];
      s1 += h1[j] * d[j];
      s2 += h2[j] * d[j];
      s3 += h3[j] * d[j];
    }
    total += d[rows[t]] * s0;
    total += d[rows[t + 1]] * s1;
    total += d[rows[t + 2]] * s2;
    total += d[rows[t + 3]] * s3;
  }
  for (; t < rows.size(); ++t) {
    const double* hi = h.data() + rows[t] * n;
    double s = 0.0;
    for (std::size_t j = 0; j < n; ++j) s += hi[j] * d[j];
    total += d[rows[t]] * s;
  }
  return total;
}

std::vector<double> gptq_hessian(const Tensor& inputs) {
  inputs.require_rank(2, "gptq_hessian");
  const std::size_t n = inputs.dim(0), in = inputs.dim(1);
  std::vector<double> h(in * in, 0.0), x(n * in);
  for (std::size_t i = 0; i < n * in; ++i) x[i] = inputs[i];
  // Σ x xᵀ over samples, upper triangle: row a gains x_a · x[a..], skipped
  // when x_a = 0 (most pixels, and every input a ReLU cut off). Each thread
  // owns whole rows of H and adds the samples in order: the same bits at any
  // thread count. Rows go in pairs a and in - 1 - a, whose lengths sum to
  // in + 1, so that every thread gets the same work.
  parallel_for((in + 1) / 2, 4, [&](std::size_t begin, std::size_t end) {
    for (std::size_t s = 0; s < n; ++s) {
      const double* sample = x.data() + s * in;
      for (std::size_t pair = begin; pair < end; ++pair) {
        const std::size_t mirror = in - 1 - pair;
        for (const std::size_t a : {pair, mirror}) {
          if (sample[a] == 0.0) continue;
          double* row = h.data() + a * in;
          for (std::size_t b = a; b < in; ++b) row[b] += sample[a] * sample[b];
          if (mirror == pair) break;  // the middle row of an odd width, once
        }
      }
    }
  });
  const double scale = n == 0 ? 0.0 : 2.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < in; ++i)
    for (std::size_t j = i; j < in; ++j) h[j * in + i] = h[i * in + j] *= scale;
  return h;
}

InverseFactor inverse_cholesky_upper(std::vector<double> hessian, std::size_t n, double damp) {
  double mean_diagonal = 0.0;
  for (std::size_t i = 0; i < n; ++i) mean_diagonal += hessian[i * n + i];
  mean_diagonal = n == 0 ? 0.0 : mean_diagonal / static_cast<double>(n);
  // H = Rᵀ R (R upper) gives H⁻¹ = R⁻¹ R⁻ᵀ, a product the wrong way round
  // for an upper factor of H⁻¹. Reversing the order of rows and columns
  // (J, the reversal permutation, J = J⁻¹ = Jᵀ) turns it round: with
  // J H J = Rᵀ R, the matrix U = J R⁻ᵀ J is upper triangular and
  // Uᵀ U = J R⁻¹ R⁻ᵀ J = J (J H J)⁻¹ J = H⁻¹. One factorization and one
  // triangular inverse.
  for (;;) {
    std::vector<double> reversed(n * n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        reversed[(n - 1 - i) * n + (n - 1 - j)] =
            hessian[i * n + j] + (i == j ? damp * mean_diagonal : 0.0);
    if (cholesky_upper(reversed, n)) {
      const std::vector<double> inverse = inverse_upper(reversed, n);
      InverseFactor factor{std::vector<double>(n * n), damp};
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)  // U_ij = (R⁻ᵀ)_(n-1-i)(n-1-j) = (R⁻¹)_(n-1-j)(n-1-i)
          factor.upper[i * n + j] = inverse[(n - 1 - j) * n + (n - 1 - i)];
      return factor;
    }
    const double raised = std::max(10.0 * damp, 1e-6);
    std::cerr << "gptq: H + damp * mean(diag H) * I is not positive definite at damp " << damp
              << "; retrying with damp " << raised << "\n";
    damp = raised;
  }
}

RoundedMatrix gptq_round(std::span<const float> w, const QuantizedMatrix& layout,
                         const GridChooser& choose_grid, std::span<const float> column_importance,
                         std::span<const double> hessian, const GptqOptions& options) {
  const std::size_t rows = layout.rows, n = layout.cols;
  const Scheme scheme = layout.format.scheme;
  const int bits = layout.format.bits;
  if (hessian.size() != n * n)
    throw Error("gptq: expected a " + std::to_string(n) + " x " + std::to_string(n) +
                " Hessian, found " + std::to_string(hessian.size()) + " values");

  // Dead inputs: H_cc = 1 so H stays invertible, and weight 0 (it never matters).
  std::vector<double> h(hessian.begin(), hessian.end());
  std::vector<float> weights(w.begin(), w.end());
  for (std::size_t c = 0; c < n; ++c)
    if (h[c * n + c] == 0.0) {
      h[c * n + c] = 1.0;
      for (std::size_t r = 0; r < rows; ++r) weights[r * n + c] = 0.0f;
    }
  // order[k]: the column the pass rounds k-th.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (options.act_order)
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return h[a * n + a] > h[b * n + b]; });
  std::vector<double> permuted(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) permuted[i * n + j] = h[order[i] * n + order[j]];
  const std::vector<double> u = inverse_cholesky_upper(std::move(permuted), n, options.damp).upper;

  const bool group = layout.format.granularity == Granularity::group;
  const std::size_t group_size = layout.block_columns();
  // Grids fitted before the pass: every grid but those of groups in natural order.
  const bool fit_up_front = !group || options.act_order;
  RoundedMatrix out{std::vector<std::int32_t>(rows * n),
                    std::vector<BlockGrid>(layout.block_count())};
  if (fit_up_front)
    for_each_block(layout, [&](std::size_t begin, std::size_t length, std::size_t block) {
      out.grids[block] =
          choose_grid(std::span<const float>(weights).subspan(begin, length),
                      block_importance(column_importance, n, begin, length), scheme, bits);
    });

  // Blocks hold whole groups: 128 columns, or one group when groups are larger.
  const std::size_t block_columns =
      group ? std::max(options.block_columns / group_size, std::size_t{1}) * group_size
            : options.block_columns;
  // The weights as updated so far, columns in pass order (so the updates run
  // over contiguous memory; with act-order off the order is the natural one).
  std::vector<double> work(rows * n);
  std::vector<double> errors(rows * block_columns);
  // One pass over the columns, rounding into `result`; with `grids_up_front`
  // false, each group's grid is fitted as the pass reaches it.
  const auto pass = [&](RoundedMatrix& result, bool grids_up_front) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t k = 0; k < n; ++k) work[r * n + k] = weights[r * n + order[k]];
    for (std::size_t i1 = 0; i1 < n; i1 += block_columns) {
      const std::size_t i2 = std::min(i1 + block_columns, n);
      parallel_for(rows, 1, [&](std::size_t row_begin, std::size_t row_end) {
        std::vector<float> group_weights;
        for (std::size_t r = row_begin; r < row_end; ++r) {
          double* row = work.data() + r * n;
          double* e = errors.data() + r * block_columns;
          for (std::size_t i = i1; i < i2; ++i) {
            const std::size_t c = order[i];
            if (!grids_up_front && c % group_size == 0) {  // natural order: c == i
              const std::size_t length = std::min(group_size, n - c);
              group_weights.assign(row + c, row + c + length);
              result.grids[layout.block_index(r, c / group_size)] = choose_grid(
                  group_weights, block_importance(column_importance, n, c, length), scheme, bits);
            }
            const BlockGrid& grid = result.grids[layout.block_index(r, group ? c / group_size : 0)];
            const std::int32_t q = nearest_code(static_cast<float>(row[i]), grid, scheme, bits);
            result.codes[r * n + c] = q;
            // The OBS step. Rounding weight q of the row (all others free)
            // to w_q' raises the output error (w - w')ᵀ H (w - w') / 2 least
            // when the free weights move by
            //   δ = -(w_q - w_q') / [H⁻¹]_qq · H⁻¹_:,q,
            // (minimize δᵀ H δ / 2 subject to e_qᵀ δ = w_q' - w_q with a
            // Lagrange multiplier). Then q leaves the problem: the inverse of
            // H without row and column q is the Schur complement
            //   H⁻¹ - H⁻¹_:,q H⁻¹_q,: / [H⁻¹]_qq.
            // Taking the columns in a fixed order, row i of the upper Cholesky
            // factor U of H⁻¹ (H⁻¹ = Uᵀ U) divided by U_ii equals row i of the
            // inverse after the columns before i were eliminated divided by its
            // diagonal, so the whole sequence of updates is
            //   err = (w_i - w_i') / U_ii,   w_j -= err · U_ij  for j > i.
            const double err = (row[i] - level_of(q, grid)) / u[i * n + i];
            for (std::size_t j = i + 1; j < i2; ++j) row[j] -= err * u[i * n + j];
            e[i - i1] = err;
          }
          // The block's errors reach the later columns in one lazy update.
          for (std::size_t i = i1; i < i2; ++i)
            for (std::size_t j = i2; j < n; ++j) row[j] -= e[i - i1] * u[i * n + j];
        }
      });
    }
  };
  pass(out, fit_up_front);
  // Refits (quant/grid_refit.hpp): the grids fitted to the codes, the pass
  // again on those grids, kept while the output error falls.
  if (options.refits > 0) {
    double best = hessian_error(weights, layout, out, h);
    RoundedMatrix current = out;
    for (std::size_t k = 0; k < options.refits; ++k) {
      refit_grids(weights, layout, current, h);
      pass(current, true);
      const double error = hessian_error(weights, layout, current, h);
      if (!(error < best)) break;
      best = error;
      out = current;
    }
  }
  return out;
}

Rounder gptq_rounder(const Tensor& layer_inputs, const GptqOptions& options) {
  if (layer_inputs.size() == 0) throw Error("gptq needs calibration inputs");
  auto hessian = std::make_shared<const std::vector<double>>(gptq_hessian(layer_inputs));
  return
      [hessian, options](std::span<const float> w, const QuantizedMatrix& layout,
                         const GridChooser& choose_grid, std::span<const float> column_importance) {
        return gptq_round(w, layout, choose_grid, column_importance, *hessian, options);
      };
}

}  // namespace tinyq
