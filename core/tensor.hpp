// Tensor: a dense, row-major block of float32 with a shape of rank 1 to 4.
//
// It is a value type: copying a Tensor copies its numbers, moving it moves
// them. Storage is aligned to 64 bytes (one cache line, one AVX-512 register)
// so the kernels may use aligned loads on row starts when rows are multiples
// of 16 floats.
//
// `resize` keeps the allocation when the new size fits in it. Layers keep
// their outputs and gradients as member Tensors and resize them each batch,
// so after the first batch training allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

namespace tinyq {

// The shape of a tensor: up to four extents, outermost first.
class Shape {
 public:
  static constexpr std::size_t max_rank = 4;

  Shape() = default;  // rank 0, size 0: the shape of an empty Tensor
  Shape(std::initializer_list<std::size_t> extents);
  explicit Shape(std::span<const std::size_t> extents);

  std::size_t rank() const { return rank_; }
  std::size_t operator[](std::size_t axis) const { return extents_[axis]; }
  std::size_t size() const;  // product of the extents (0 for rank 0)
  std::span<const std::size_t> extents() const { return {extents_.data(), rank_}; }
  std::string to_string() const;  // "[64, 784]"

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<std::size_t, max_rank> extents_{};
  std::size_t rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;                                         // empty: rank 0, no storage
  explicit Tensor(const Shape& shape);                        // zero-filled
  Tensor(const Shape& shape, std::span<const float> values);  // values.size() must match

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept = default;
  Tensor& operator=(Tensor&& other) noexcept = default;

  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.rank(); }
  std::size_t dim(std::size_t axis) const;  // checked
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::span<float> values() { return {data_.get(), size_}; }
  std::span<const float> values() const { return {data_.get(), size_}; }

  float& operator[](std::size_t i) { return data_[i]; }
  float operator[](std::size_t i) const { return data_[i]; }

  // Rank-2 access: element (row, col) and whole rows. Unchecked in release
  // builds; these sit inside loops.
  float& operator()(std::size_t row, std::size_t col) { return data_[row * shape_[1] + col]; }
  float operator()(std::size_t row, std::size_t col) const { return data_[row * shape_[1] + col]; }
  std::span<float> row(std::size_t r) { return {data_.get() + r * shape_[1], shape_[1]}; }
  std::span<const float> row(std::size_t r) const {
    return {data_.get() + r * shape_[1], shape_[1]};
  }

  // Changes the shape; keeps the allocation when the new size fits in it.
  // The contents are unspecified afterwards (use fill to set them).
  void resize(const Shape& shape);
  // Same numbers, another shape of the same size.
  void reshape(const Shape& shape);
  void fill(float value);

  // Throws tinyq::Error unless this tensor has rank 2 (where names the caller).
  void require_rank(std::size_t rank, const char* where) const;

 private:
  struct AlignedFree {
    void operator()(float* p) const;
  };
  Shape shape_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::unique_ptr<float[], AlignedFree> data_;
};

}  // namespace tinyq
