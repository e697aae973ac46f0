#include "core/tensor.hpp"

#include <algorithm>
#include <new>

#include "core/error.hpp"

namespace tinyq {

namespace {

constexpr std::size_t alignment = 64;

void check_rank(std::size_t rank) {
  if (rank < 1 || rank > Shape::max_rank)
    throw Error("tensor rank must be 1 to 4, found " + std::to_string(rank));
}

}  // namespace

Shape::Shape(std::initializer_list<std::size_t> extents)
    : Shape(std::span<const std::size_t>(extents.begin(), extents.size())) {}

Shape::Shape(std::span<const std::size_t> extents) {
  check_rank(extents.size());
  std::copy(extents.begin(), extents.end(), extents_.begin());
  rank_ = extents.size();
}

std::size_t Shape::size() const {
  if (rank_ == 0) return 0;
  std::size_t n = 1;
  for (std::size_t i = 0; i < rank_; ++i) n *= extents_[i];
  return n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(extents_[i]);
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  return a.rank_ == b.rank_ &&
         std::equal(a.extents_.begin(), a.extents_.begin() + a.rank_, b.extents_.begin());
}

void Tensor::AlignedFree::operator()(float* p) const {
  ::operator delete[](p, std::align_val_t{alignment});
}

Tensor::Tensor(const Shape& shape) {
  resize(shape);
  fill(0.0f);
}

Tensor::Tensor(const Shape& shape, std::span<const float> values) {
  if (values.size() != shape.size())
    throw Error("tensor of shape " + shape.to_string() + " needs " + std::to_string(shape.size()) +
                " values, found " + std::to_string(values.size()));
  resize(shape);
  std::copy(values.begin(), values.end(), data_.get());
}

Tensor::Tensor(const Tensor& other) : Tensor() {
  *this = other;
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  if (other.rank() == 0) {
    shape_ = Shape();
    size_ = 0;
    return *this;
  }
  resize(other.shape_);
  std::copy(other.data(), other.data() + other.size_, data_.get());
  return *this;
}

std::size_t Tensor::dim(std::size_t axis) const {
  if (axis >= rank())
    throw Error("tensor axis " + std::to_string(axis) + " out of range for shape " +
                shape_.to_string());
  return shape_[axis];
}

void Tensor::resize(const Shape& shape) {
  const std::size_t n = shape.size();
  if (n > capacity_) {
    // Round up to whole cache lines so vector kernels may read a full line.
    const std::size_t floats_per_line = alignment / sizeof(float);
    const std::size_t cap = (n + floats_per_line - 1) / floats_per_line * floats_per_line;
    data_.reset(
        static_cast<float*>(::operator new[](cap * sizeof(float), std::align_val_t{alignment})));
    capacity_ = cap;
  }
  shape_ = shape;
  size_ = n;
}

void Tensor::reshape(const Shape& shape) {
  if (shape.size() != size_)
    throw Error("cannot reshape " + shape_.to_string() + " to " + shape.to_string() +
                ": sizes differ");
  shape_ = shape;
}

void Tensor::fill(float value) {
  std::fill(data_.get(), data_.get() + size_, value);
}

void Tensor::require_rank(std::size_t rank, const char* where) const {
  if (this->rank() != rank)
    throw Error(std::string(where) + ": expected a rank-" + std::to_string(rank) +
                " tensor, found shape " + shape_.to_string());
}

}  // namespace tinyq
