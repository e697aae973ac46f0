// FunctionRef<R(Args...)>: a non-owning reference to any callable with that
// signature, as a pointer to the callable and a pointer to a function that
// calls it (what C++26 names std::function_ref). Unlike std::function it
// never allocates, which matters for callbacks that run for a few
// microseconds: a parallel loop's chunks, a product's epilogue on each block
// of its result. The callable must outlive the FunctionRef, so take one as a
// parameter, never store one.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace tinyq {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>)
      FunctionRef(F&& callable)  // NOLINT: implicit on purpose, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace tinyq
