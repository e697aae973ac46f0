// The blocked gemm driver: loops around the micro-kernel that keep its
// inputs in cache, in the style of BLIS/GotoBLAS.
//
//   for jc over columns of C, NC at a time          B block kc×NC → L2
//     for pc over k, KC at a time                   (packed once per jc, pc)
//       pack op(B)[pc.., jc..] into NR-wide panels
//       for ir over rows of C, MR at a time
//         pack op(A)[ir.., pc..] into one MR panel   A panel MR×kc → L1
//         for jr over the B panels                   each B panel streams
//           micro-kernel: C[ir.., jr..] (+)= A panel · B panel   from L2
//
// Why these sizes (AVX-512 numbers; this machine: 48 KiB L1d, 2 MiB L2):
// - KC ≤ 512: the A panel (12 × 512 floats = 24 KiB) stays in L1 while it
//   meets every B panel of the block, and one pass over C per 512 steps of k
//   keeps the C traffic small next to the FMAs per element. Measured against
//   256 and 384: 2-5% faster at 1024³, at X·Wᵀ (784 → 2 blocks instead of 3)
//   and at inference with batch 10000.
// - NC ≤ 512: the packed B block (512 × 512 floats = 1 MiB) fits in L2
//   with room for the A panels streaming past.
// The k range is cut into equal blocks (784 → 2 × 392, not 512 + 272).
//
// Small products skip packing where the kernel can read an operand as it
// lies (see the thresholds below): training at batch 64 spent a third as
// long copying operands as in the kernel (perf, AVX2). X · Wᵀ, whose B = Wᵀ would need a
// transposing copy of the whole weight matrix, is computed as Cᵀ = W · Xᵀ: W's rows are read in
// place and only the batch is packed.
//
// Determinism: element C(i, j) is always computed by one thread, as the
// k blocks in order, each a sequential FMA chain in the kernel, merged into
// C with the same rule. The block boundaries in k depend only on k, so
// neither the thread count nor how rows or columns were split between
// threads can change a single bit. Nor can reading in place or swapping
// A and B: the FMAs of an element are the same (a·b = b·a exactly).
#include "core/kernels/gemm_blocked.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

constexpr std::size_t kc_max = 512;
constexpr std::size_t nc_max = 512;

// When A is read in place (no A panel is re-packed per block of columns),
// the packed B block is also kept within half of a 512 KiB L2 (Zen 3): G·W at
// widths 1024,1024 (64 × 1024 × 1024, kc = 512) packed a 1 MiB block per
// thread that the 11 row panels then streamed from L3 11 times; with
// nc = 128 they read it from L2. Training at widths 1024,1024 ran 1.03-1.06x
// faster (median of alternating rounds, busy 2-core machine). Column blocks
// never change which FMAs an element gets, so neither do the bits.
constexpr std::size_t b_block_max_floats = 64 * 1024;

// When op(B) is B itself, its rows are already NR floats side by side and
// the kernel can read panels in place (with row stride ldb) instead of a
// packed copy. That pays when few A panels meet each B panel, so the copy
// is not amortized: at the Dense backward shapes (m = 64) it saves 7-15%.
// With many A panels the packed copy wins (1024³: in place was 60% slower,
// its 4 KiB row stride maps every row to the same cache sets). On AVX2
// (MR = 6) m = 64 is 11 panels, and allowing that lost: training at widths
// 1024,1024 spent 39% longer in G·W's kernel to save a 6% copy (perf).
constexpr std::size_t in_place_max_panels = 8;

// ... and when the rows a k block reads in place lie within 1 MiB (half of
// this machine's L2): a panel's kc rows lie ldb floats apart, so at ldb =
// 1024 every step of k opens a new 4 KiB page, which the hardware
// prefetchers do not cross. G·W at widths 1024,1024 (64 × 1024 × 1024,
// kc = 512, 2 MiB) ran at 171 GFLOP/s in place and 296 packed, on an Intel
// Xeon with AVX-512, 2 threads; 64 × 900 × 900 (1.6 MiB) 275 and 306. Below
// the bound in place wins: 64 × 256 × 784 (0.8 MiB) 362 and 332 (at
// 64 × 768 × 768, 1.2 MiB, in place was still 3% faster).
constexpr std::size_t in_place_max_span_floats = 256 * 1024;

// With few rows of C, op(A) = A is not worth packing either: the kernel's
// run_a_rows broadcasts from MR row pointers. Measured on Zen 3 (AVX2, one
// thread, a busy machine: ±10%): 1-10% faster at G·W (64 × 1024 × 1024,
// 64 × 1000 × 1000), 12-38% at X·Wᵀ with the swap below; at m = 256 (batch
// 256) 2-23% and 8-11%. Big products keep packing A, which reads every panel
// contiguously and keeps the 1024³ rate, training's yardstick, as it was.
// (Reading a transposed A in place, MR floats per step of k, was about 20%
// slower at Gᵀ·X, 1024 × 1024 × 64: its steps lie 4 KiB apart, all in one
// set of the L1 cache.)
constexpr std::size_t rows_in_place_max_m = 256;

// The largest tile of any kernel (AVX-512: 12 × 32), for swapped products.
constexpr std::size_t max_tile_floats = 12 * 32;

// Per-thread packing buffers, grown on demand and kept for the next call,
// so steady-state training allocates nothing. 64-byte aligned.
class PackBuffer {
 public:
  float* get(std::size_t floats) {
    if (storage_.size() < floats + 16) storage_.assign(floats + 16, 0.0f);
    auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    return storage_.data() + ((64 - address % 64) % 64) / sizeof(float);
  }

 private:
  std::vector<float> storage_;
};

struct Problem {
  MicroKernel kernel;
  MatrixView a, b;
  std::size_t m, n, k, kc;
  float beta;
  float* c;
  std::size_t ldc;
  bool b_in_place;    // read full B panels straight from op(B), see gemm_blocked
  bool a_in_place;    // read A's rows in place with the kernel's run_a_rows
  bool c_transposed;  // C(i, j) is stored at c[j * ldc + i] (a swapped product, see gemm_blocked)
  const FinishedBlock* finished;  // the caller's epilogue, or nullptr
};

// Computes C rows [i0, i1) × columns [j0, j1) over the whole k range.
void compute_block(const Problem& pr, std::size_t i0, std::size_t i1, std::size_t j0,
                   std::size_t j1) {
  thread_local PackBuffer a_buffer, b_buffer, sum_buffer;
  const std::size_t mr = pr.kernel.mr, nr = pr.kernel.nr;
  const std::size_t nc_fit = std::max(nr, b_block_max_floats / pr.kc / nr * nr);
  const std::size_t nc =
      std::min(pr.a_in_place ? std::min(nc_max, nc_fit) : nc_max, (j1 - j0 + nr - 1) / nr * nr);
  float* a_panel = a_buffer.get(mr * pr.kc);
  float* b_block = b_buffer.get(pr.kc * nc);
  alignas(64) float tile[max_tile_floats];
  // A swapped product over several k blocks (X·Wᵀ with k = 784 is two)
  // keeps each tile's running sum here, stored by the kernel in its own
  // order, and transposes it into C once, after the last block: one
  // transposed merge per tile instead of one per block, and none that reads
  // C back. With beta = 0 the bits are those of merging every block into C:
  // there block 1 gives C = t1 and block 2 C = fma(1, C, t2) = t1 + t2; here
  // the kernel's store gives s = t1, then s = fma(1, s, t2), and C = s.
  // 64 × 784 × 256 (the first layer's forward), 2 threads, Intel Xeon,
  // alternated: 0.95-0.97 of the time; a training step 0.99.
  const bool sums_in_tiles = pr.c_transposed && pr.beta == 0.0f && pr.kc < pr.k;
  const std::size_t row_tiles = (i1 - i0 + mr - 1) / mr, col_tiles = (nc + nr - 1) / nr;
  float* sums = sums_in_tiles ? sum_buffer.get(row_tiles * col_tiles * mr * nr) : nullptr;

  for (std::size_t jc = j0; jc < j1; jc += nc) {
    const std::size_t cols = std::min(nc, j1 - jc);
    for (std::size_t pc = 0; pc < pr.k; pc += pr.kc) {
      const std::size_t kc = std::min(pr.kc, pr.k - pc);
      const float beta = pc == 0 ? pr.beta : 1.0f;
      // Panels before `packed_from` are read in place (only a ragged last
      // panel needs the zero padding of a packed one).
      const std::size_t packed_from = pr.b_in_place ? cols / nr * nr : 0;
      const float* b_in_place = pr.b.data + pc * pr.b.ld + jc;
      auto b_panel = [&](std::size_t jr) {
        return jr < packed_from ? b_in_place + jr : b_block + jr * kc;
      };
      for (std::size_t jr = packed_from; jr < cols; jr += nr)
        pack_b_panel(pr.b, pc, kc, jc + jr, std::min(nr, cols - jr), nr, pr.kernel.transpose,
                     b_block + jr * kc);
      for (std::size_t ir = i0; ir < i1; ir += mr) {
        const std::size_t rows = std::min(mr, i1 - ir);
        MicroKernelFunction run = pr.kernel.run;
        const float* a_sliver = a_panel;
        std::size_t a_stride = mr;
        if (pr.a_in_place) {
          run = pr.kernel.run_a_rows;
          a_sliver = pr.a.data + ir * pr.a.ld + pc;
          a_stride = pr.a.ld;
        } else {
          pack_a_panel(pr.a, ir, rows, pc, kc, mr, pr.kernel.transpose, a_panel);
        }
        for (std::size_t jr = 0; jr < cols; jr += nr) {
          const std::size_t tile_cols = std::min(nr, cols - jr);
          const float* b_sliver = b_panel(jr);
          const std::size_t b_stride = jr < packed_from ? pr.b.ld : nr;
          if (!pr.c_transposed) {
            run(kc, a_sliver, a_stride, b_sliver, b_stride, pr.c + ir * pr.ldc + jc + jr, pr.ldc,
                rows, tile_cols, beta);
            continue;
          }
          // Swapped: the kernel stores the tile (or adds it to its running
          // sum), and the transposed merge puts it into C.
          float* stored = tile;
          float stored_beta = 0.0f, merge_beta = beta;
          if (sums_in_tiles) {
            stored = sums + ((ir - i0) / mr * col_tiles + jr / nr) * mr * nr;
            stored_beta = pc == 0 ? 0.0f : 1.0f;
            merge_beta = 0.0f;
          }
          run(kc, a_sliver, a_stride, b_sliver, b_stride, stored, nr, rows, tile_cols, stored_beta);
          if (!sums_in_tiles || pc + kc == pr.k)
            pr.kernel.merge_transposed(stored, nr, pr.c + (jc + jr) * pr.ldc + ir, pr.ldc, rows,
                                       tile_cols, merge_beta);
        }
        // After the last k block these rows × cols of C are final, and the
        // tiles just stored are still in this core's L1 and L2.
        if (pr.finished && pc + kc == pr.k) {
          if (pr.c_transposed)
            (*pr.finished)(jc, cols, ir, rows);
          else
            (*pr.finished)(ir, rows, jc, cols);
        }
      }
    }
  }
}

void run_problem(const Problem& pr, bool parallel) {
  if (!parallel) {
    compute_block(pr, 0, pr.m, 0, pr.n);
    return;
  }
  // Split the longer side of C into whole tiles. Each thread then packs its
  // own share of that operand and the whole of the other one.
  //
  // Except Aᵀ·B, the shape of a weight gradient Gᵀ·X [out, in], whose rows
  // are split however wide it is (given a tile of rows per thread): each
  // thread then writes the gradient of the rows of W that it reads in the
  // forward product (X·Wᵀ, run as W·Xᵀ and split by W's rows) and that its
  // share of the SGD update reads and writes (nn/sgd.cpp), so the three
  // passes over a row of W meet in one core's L2 (core/thread_pool.cpp
  // keeps chunk t on thread t). Training, batch 64, 2 threads, Intel Xeon,
  // alternated in one process: 0.96 of the time on top of that chunk
  // placement at the default MLP (1.01 without it), 1.00 at 1024,1024.
  const std::size_t mr = pr.kernel.mr, nr = pr.kernel.nr;
  const bool gradient_rows = pr.a.transposed && (pr.m + mr - 1) / mr >= num_threads();
  if (pr.n >= pr.m && !gradient_rows) {
    const std::size_t panels = (pr.n + nr - 1) / nr;
    parallel_for(panels, 1, [&](std::size_t begin, std::size_t end) {
      compute_block(pr, 0, pr.m, begin * nr, std::min(pr.n, end * nr));
    });
  } else {
    const std::size_t panels = (pr.m + mr - 1) / mr;
    parallel_for(panels, 1, [&](std::size_t begin, std::size_t end) {
      compute_block(pr, begin * mr, std::min(pr.m, end * mr), 0, pr.n);
    });
  }
}

}  // namespace

void gemm_blocked(const MicroKernel& kernel, MatrixView a, MatrixView b, std::size_t m,
                  std::size_t n, std::size_t k, float beta, float* c, std::size_t ldc,
                  bool parallel, InPlace in_place, const FinishedBlock* finished) {
  const std::size_t k_blocks = (k + kc_max - 1) / kc_max;
  const std::size_t kc = (k + k_blocks - 1) / k_blocks;
  const bool allowed = in_place == InPlace::allowed;
  const bool rows = allowed && kernel.run_a_rows != nullptr && m <= rows_in_place_max_m;
  // X · Wᵀ with few rows: computed as its transpose Cᵀ = W · Xᵀ, so that the
  // big operand W is read in place and only the small X is packed. Also
  // when W's rows would fill less than half of a panel's width as columns
  // of C (a classifier's 10 outputs against AVX-512's 32 columns fill a
  // third of every tile; as rows of Cᵀ they fill one tile of 12). Products
  // with 10 outputs on AVX-512, 2 threads, Intel Xeon, two runs: 0.65-0.70
  // of the time at 64 × 128 (the default MLP's last layer), 0.77-0.80 at
  // 256 × 128, 0.55-0.56 at 64 × 4096. On AVX2 (16 columns, 10 fill 5/8)
  // swapping took 1.08 and 1.23 of the time at the first two.
  const bool narrow_w = 2 * n < kernel.nr;
  if (rows && b.transposed && !a.transposed && (m < n || narrow_w) &&
      kernel.mr * kernel.nr <= max_tile_floats) {
    const MatrixView swapped_a{b.data, b.ld, false}, swapped_b{a.data, a.ld, true};
    run_problem(
        {kernel, swapped_a, swapped_b, n, m, k, kc, beta, c, ldc, false, true, true, finished},
        parallel);
    return;
  }
  const bool b_in_place = allowed && !b.transposed && m <= in_place_max_panels * kernel.mr &&
                          kc * b.ld <= in_place_max_span_floats;
  run_problem(
      {kernel, a, b, m, n, k, kc, beta, c, ldc, b_in_place, rows && !a.transposed, false, finished},
      parallel);
}

}  // namespace tinyq
