// AMX-INT8: the int8 product of a block of rows in tile registers (Intel
// Xeon from Sapphire Rapids on), inside the avx512 path of int8_gemm.
//
// AMX adds eight tile registers of up to 16 rows × 64 bytes and an
// instruction, tdpbusd, that multiplies a tile of 16 rows of a (u8, 64
// inputs each) by a tile of s8 laid out as 16 rows of "16 outputs × 4
// inputs" and adds the result to a 16 × 16 tile of int32 sums:
//
//   C[r][j] += Σ_{t<64} A[r][t] · B[t/4][4j + t%4]        16 · 16 · 64 multiply-adds
//
// A row of that B is one k-group of a packed panel (int8_gemm.hpp: 64
// bytes, output j's four weights at 4j), so 16 consecutive k-groups of a
// panel are a B tile as they lie, 64 bytes apart, and 16 rows of a at
// inputs 4g .. 4g+63 are an A tile, lda bytes apart. One tdpbusd does the
// work of 16 rows × 16 k-groups of vpdpbusd, and each product is the same
// exact integer: the sums are the VNNI kernel's, to the bit.
//
// The block: 32 rows × 2 panels in four C tiles (tmm0-3), two A tiles
// (tmm4-5) and two B tiles (tmm6-7); 16 rows or one panel use the same
// registers, fewer of them. Each A tile meets both B tiles and each B tile
// both A tiles, so 4 tile loads feed 4 tdpbusd. The k-groups past the last
// whole 16 are left to the caller (run_tiles sums them first with the VNNI
// tiles into C, and `accumulate` then loads C before adding).
//
// Whole Fashion-MNIST test set, 2 threads, an Intel Xeon with AMX, against
// TINYQ_AMX=0 (the VNNI tiles alone), alternated: dynamic int8 1.10-1.15M ->
// 1.75-1.94M samples/s, static int8 1.69-1.71M -> 3.20-3.29M (bench_mnist).
// Unaligned rows would lose most of that: with the packed weights and the
// activation rows both 16 bytes off their cache lines (malloc's alignment),
// one core ran a 48 × 768 × 256 block at 0.42 of its aligned speed, hence
// AlignedAllocator for both (core/aligned_allocator.hpp).
//
// The operating system must agree first: Linux saves the 8 KiB of tile
// data on a context switch only for processes that asked
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), Linux 5.16 and
// later); without that the first tile instruction faults. Each call loads
// the tile configuration and releases the tiles on return, so a thread
// between calls carries no tile state.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) && defined(__linux__)

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TINYQ_AMX __attribute__((target("amx-tile,amx-int8")))

namespace tinyq {

namespace {

constexpr long arch_req_xcomp_perm = 0x1023;  // arch_prctl code, asm/prctl.h
constexpr long xfeature_xtiledata = 18;       // the tile data's bit in XCR0

bool cpu_and_os_offer_amx() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amx_tile = (edx >> 24) & 1u, amx_int8 = (edx >> 25) & 1u;
  if (!amx_tile || !amx_int8) return false;
  return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}

// TINYQ_AMX=0 turns the tiles off for the whole process (the VNNI kernels
// then do all the work: for comparisons).
bool allowed_by_environment() {
  const char* value = std::getenv("TINYQ_AMX");
  return value == nullptr || std::strcmp(value, "0") != 0;
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{int8_amx_available() && allowed_by_environment()};
  return flag;
}

// ldtilecfg's 64-byte operand: palette 1, then each tile's bytes per row
// and rows. All eight tiles are 16 × 64 bytes. Static and constant, so its
// bytes are in memory when ldtilecfg reads them (g++ 12 does not count a
// local operand as read by the instruction and drops the stores filling it).
struct alignas(64) TileConfig {
  std::uint8_t palette;
  std::uint8_t start_row;
  std::uint8_t reserved[14];
  std::uint16_t bytes_per_row[16];
  std::uint8_t rows[16];
};
constexpr TileConfig all_tiles_16_by_64 = {
    1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

// C tiles: row tile r, panel p -> tmm(2r + p); A: tmm(4 + r); B: tmm(6 + p).
// The tile numbers are immediates, hence the templates and constexpr ifs.
template <std::size_t RowTiles, std::size_t PanelTiles>
TINYQ_AMX void block(const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                     std::size_t panel_stride, std::size_t g_begin, std::size_t g_end,
                     std::int32_t* c, std::size_t ldc, bool accumulate) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;  // 64
  const std::size_t c_stride = ldc * sizeof(std::int32_t);
  std::int32_t* c1 = c + 16 * ldc;  // the second row tile's sums
  if (accumulate) {
    _tile_loadd(0, c, c_stride);
    if constexpr (PanelTiles == 2) _tile_loadd(1, c + 16, c_stride);
    if constexpr (RowTiles == 2) _tile_loadd(2, c1, c_stride);
    if constexpr (RowTiles == 2 && PanelTiles == 2) _tile_loadd(3, c1 + 16, c_stride);
  } else {
    _tile_zero(0);
    if constexpr (PanelTiles == 2) _tile_zero(1);
    if constexpr (RowTiles == 2) _tile_zero(2);
    if constexpr (RowTiles == 2 && PanelTiles == 2) _tile_zero(3);
  }
  for (std::size_t g = g_begin; g < g_end; g += 16) {
    _tile_loadd(4, a + g * int8_k_group, lda);
    _tile_loadd(6, b + g * group_bytes, group_bytes);
    _tile_dpbusd(0, 4, 6);
    if constexpr (PanelTiles == 2) {
      _tile_loadd(7, b + panel_stride + g * group_bytes, group_bytes);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (RowTiles == 2) {
      _tile_loadd(5, a + 16 * lda + g * int8_k_group, lda);
      _tile_dpbusd(2, 5, 6);
      if constexpr (PanelTiles == 2) _tile_dpbusd(3, 5, 7);
    }
  }
  _tile_stored(0, c, c_stride);
  if constexpr (PanelTiles == 2) _tile_stored(1, c + 16, c_stride);
  if constexpr (RowTiles == 2) _tile_stored(2, c1, c_stride);
  if constexpr (RowTiles == 2 && PanelTiles == 2) _tile_stored(3, c1 + 16, c_stride);
}

TINYQ_AMX void load_tile_config() {
  _tile_loadconfig(&all_tiles_16_by_64);
}

TINYQ_AMX void release_tiles() {
  _tile_release();
}

}  // namespace

bool int8_amx_available() {
  static const bool available = cpu_and_os_offer_amx();
  return available;
}

bool int8_amx_enabled() {
  return enabled_flag().load(std::memory_order_relaxed);
}

bool set_int8_amx_enabled(bool enabled) {
  return enabled_flag().exchange(enabled && int8_amx_available(), std::memory_order_relaxed);
}

// Panels outside, rows inside, as run_tiles walks them: the two panels'
// k-groups (25 KB at k = 784) stay in L1 while the rows pass.
void int8_gemm_amx(std::size_t m, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t panels, std::size_t g_begin,
                   std::size_t g_end, std::int32_t* c, std::size_t ldc, bool accumulate) {
  load_tile_config();
  for (std::size_t p = 0; p < panels; p += 2) {
    const std::int8_t* panel = b + p * panel_stride;
    std::int32_t* c_panel = c + p * int8_panel_columns;
    const bool two_panels = p + 1 < panels;
    for (std::size_t r = 0; r < m; r += 32) {
      const std::uint8_t* rows = a + r * lda;
      std::int32_t* c_rows = c_panel + r * ldc;
      const bool two_row_tiles = r + 16 < m;
      if (two_row_tiles && two_panels)
        block<2, 2>(rows, lda, panel, panel_stride, g_begin, g_end, c_rows, ldc, accumulate);
      else if (two_row_tiles)
        block<2, 1>(rows, lda, panel, panel_stride, g_begin, g_end, c_rows, ldc, accumulate);
      else if (two_panels)
        block<1, 2>(rows, lda, panel, panel_stride, g_begin, g_end, c_rows, ldc, accumulate);
      else
        block<1, 1>(rows, lda, panel, panel_stride, g_begin, g_end, c_rows, ldc, accumulate);
    }
  }
  release_tiles();
}

}  // namespace tinyq

#else

namespace tinyq {

bool int8_amx_available() {
  return false;
}
bool int8_amx_enabled() {
  return false;
}
bool set_int8_amx_enabled(bool) {
  return false;
}
void int8_gemm_amx(std::size_t, const std::uint8_t*, std::size_t, const std::int8_t*, std::size_t,
                   std::size_t, std::size_t, std::size_t, std::int32_t*, std::size_t, bool) {
  throw Error("int8_gemm_amx: AMX needs x86-64 Linux");
}

}  // namespace tinyq

#endif
