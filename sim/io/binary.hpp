#pragma once

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"

namespace citynet::io {

// Plain binary (de)serialisation of trivially copyable values, vectors and strings, for
// checkpoints. Native byte order: a checkpoint is resumed on the machine kind that wrote it.
class BinaryOut {
 public:
  explicit BinaryOut(std::ostream& out) : out_(out) {}
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.write(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <class T, class A>
  void put(const std::vector<T, A>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(v.size());
    if (!v.empty()) out_.write(reinterpret_cast<const char*>(v.data()), sizeof(T) * v.size());
  }
  void put(const std::string& s) {
    put<std::uint64_t>(s.size());
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  template <class T>
  void put(const std::vector<std::vector<T>>& v) {
    put<std::uint64_t>(v.size());
    for (const auto& x : v) put(x);
  }

 private:
  std::ostream& out_;
};

class BinaryIn {
 public:
  BinaryIn(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
  template <class T>
  void get(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!in_.read(reinterpret_cast<char*>(&v), sizeof(T))) fail();
  }
  template <class T, class A>
  void get(std::vector<T, A>& v) {
    std::uint64_t n = 0;
    get(n);
    if (n > (std::uint64_t{1} << 40) / sizeof(T)) fail();
    v.resize(n);
    if (n &&
        !in_.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(sizeof(T) * n)))
      fail();
  }
  void get(std::string& s) {
    std::uint64_t n = 0;
    get(n);
    if (n > (std::uint64_t{1} << 32)) fail();
    s.resize(n);
    if (n && !in_.read(s.data(), static_cast<std::streamsize>(n))) fail();
  }
  template <class T>
  void get(std::vector<std::vector<T>>& v) {
    std::uint64_t n = 0;
    get(n);
    if (n > (std::uint64_t{1} << 32)) fail();
    v.resize(n);
    for (auto& x : v) get(x);
  }
  [[noreturn]] void fail() const {
    throw InputError(Location{name_, 0, 0}, "", "truncated or damaged checkpoint");
  }

 private:
  std::istream& in_;
  std::string name_;
};

}  // namespace citynet::io
