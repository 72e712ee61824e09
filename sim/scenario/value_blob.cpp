#include "scenario/value_blob.hpp"

#include <cstdint>
#include <stdexcept>

namespace citynet::scenario::detail {

namespace {

// Each node: its kind, line and column, then a scalar's quoted flag and text, a map's entries
// (key, key position, value) or a list's items. Numbers are LEB128 varints.
void put_number(std::string& out, std::uint64_t x) {
  do {
    const auto low = static_cast<unsigned char>(x & 0x7f);
    x >>= 7;
    out.push_back(static_cast<char>(x ? low | 0x80 : low));
  } while (x);
}

void put_text(std::string& out, const std::string& s) {
  put_number(out, s.size());
  out += s;
}

void put_position(std::string& out, const Location& where) {
  put_number(out, static_cast<std::uint64_t>(where.line));
  put_number(out, static_cast<std::uint64_t>(where.column));
}

void put_value(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.kind));
  put_position(out, v.where);
  switch (v.kind) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kScalar:
      out.push_back(v.quoted ? 1 : 0);
      put_text(out, v.text);
      break;
    case Value::Kind::kMap:
      put_number(out, v.entries.size());
      for (const Entry& e : v.entries) {
        put_text(out, e.key);
        put_position(out, e.key_where);
        put_value(out, e.value);
      }
      break;
    case Value::Kind::kList:
      put_number(out, v.items.size());
      for (const Value& item : v.items) put_value(out, item);
      break;
  }
}

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  Value value(int depth) {
    if (depth > kMaxDepth) broken();
    Value v;
    const auto kind = byte();
    if (kind > static_cast<unsigned char>(Value::Kind::kList)) broken();
    v.kind = static_cast<Value::Kind>(kind);
    v.where = position();
    switch (v.kind) {
      case Value::Kind::kNull:
        break;
      case Value::Kind::kScalar:
        v.quoted = byte() != 0;
        v.text = text();
        break;
      case Value::Kind::kMap:
        v.entries.resize(count());
        for (Entry& e : v.entries) {
          e.key = text();
          e.key_where = position();
          e.value = value(depth + 1);
        }
        break;
      case Value::Kind::kList:
        v.items.resize(count());
        for (Value& item : v.items) item = value(depth + 1);
        break;
    }
    return v;
  }

  bool done() const { return at_ == bytes_.size(); }

 private:
  [[noreturn]] void broken() const {
    throw std::logic_error(file_ + ": the schema built into citynet is damaged (byte " +
                           std::to_string(at_) + ")");
  }

  unsigned char byte() {
    if (at_ >= bytes_.size()) broken();
    return static_cast<unsigned char>(bytes_[at_++]);
  }

  std::uint64_t number() {
    std::uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const unsigned char b = byte();
      x |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
    }
    broken();
  }

  // A count of items, each at least one byte: more than the bytes left is damage.
  std::size_t count() {
    const std::uint64_t n = number();
    if (n > bytes_.size() - at_) broken();
    return static_cast<std::size_t>(n);
  }

  std::string text() {
    const std::size_t n = count();
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }

  Location position() {
    Location where{file_, 0, 0};
    where.line = static_cast<int>(number());
    where.column = static_cast<int>(number());
    return where;
  }

  std::string_view bytes_;
  const std::string& file_;
  std::size_t at_ = 0;
};

}  // namespace

std::string write_value_blob(const Value& v) {
  std::string out;
  put_value(out, v);
  return out;
}

Value read_value_blob(std::string_view bytes, const std::string& file) {
  Reader r(bytes, file);
  Value v = r.value(0);
  if (!r.done())
    throw std::logic_error(file + ": the schema built into citynet has trailing bytes");
  return v;
}

}  // namespace citynet::scenario::detail
