#include "io/hdf5.hpp"

#include <tbb/parallel_for.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "io/checksum.hpp"
#include "io/deflate_bound.hpp"

namespace citynet::io::h5 {

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      break;
  }
  id_ = -1;
}

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw RunError("HDF5: could not " + what);
  return id;
}

void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw RunError("HDF5: could not " + what);
}

void quiet_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

void start_library() {
  H5open();
  H5Eclear2(H5E_DEFAULT);  // the calling thread's error stack, freed only when cleared
}

template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<std::int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
hid_t native_type<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t native_type<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}

static Handle string_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "create a string type"));
  check_status(H5Tset_size(t.get(), H5T_VARIABLE), "set a string size");
  check_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), "set a string encoding");
  return t;
}

void set_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
  Handle type = string_type();
  Handle space(check(H5Screate(H5S_SCALAR), "create a dataspace"));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  Handle attr(
      check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
            "create attribute " + name));
  const char* p = value.c_str();
  check_status(H5Awrite(attr.get(), type.get(), &p), "write attribute " + name);
}

void set_string_array_attribute(hid_t obj, const std::string& name,
                                const std::vector<std::string>& values) {
  Handle type = string_type();
  const hsize_t n = values.size();
  Handle space(check(H5Screate_simple(1, &n, nullptr), "create a dataspace"));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  Handle attr(
      check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
            "create attribute " + name));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  check_status(H5Awrite(attr.get(), type.get(), ptrs.data()), "write attribute " + name);
}

template <class T>
void set_attribute(hid_t obj, const std::string& name, T value) {
  // An attribute already there with this type is written over in place: deleting and creating
  // it again rewrote the object's header (the run file's root, at its close).
  if (H5Aexists(obj, name.c_str()) > 0) {
    Handle attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
    Handle type(check(H5Aget_type(attr.get()), "read the type of attribute " + name));
    Handle space(check(H5Aget_space(attr.get()), "read the shape of attribute " + name));
    if (H5Tequal(type.get(), native_type<T>()) > 0 &&
        H5Sget_simple_extent_type(space.get()) == H5S_SCALAR) {
      check_status(H5Awrite(attr.get(), native_type<T>(), &value), "write attribute " + name);
      return;
    }
    attr.reset();
    check_status(H5Adelete(obj, name.c_str()), "replace attribute " + name);
  }
  Handle space(check(H5Screate(H5S_SCALAR), "create a dataspace"));
  Handle attr(
      check(H5Acreate2(obj, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
            "create attribute " + name));
  check_status(H5Awrite(attr.get(), native_type<T>(), &value), "write attribute " + name);
}
template void set_attribute<double>(hid_t, const std::string&, double);
template void set_attribute<std::int32_t>(hid_t, const std::string&, std::int32_t);
template void set_attribute<std::int64_t>(hid_t, const std::string&, std::int64_t);
template void set_attribute<std::uint64_t>(hid_t, const std::string&, std::uint64_t);
template void set_attribute<std::uint8_t>(hid_t, const std::string&, std::uint8_t);

Handle create_group(hid_t parent, const std::string& name) {
  return Handle(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "create group " + name));
}

static void describe(hid_t obj, const std::string& units, const std::string& description) {
  set_string_attribute(obj, "units", units);
  set_string_attribute(obj, "description", description);
}

// The deflate level of the pipeline a chunked dataset gets for `compression`: 0 when compression
// is off or this HDF5 lacks the deflate filter. Chunks filtered here and written directly must
// match that pipeline.
static int deflate_level(int compression) {
  return compression > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 ? compression : 0;
}

static Handle dataset_properties(int rank, const hsize_t* chunk, const Layout& layout) {
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "create dataset properties"));
  check_status(H5Pset_obj_track_times(dcpl.get(), false), "disable time tracking");
  if (chunk) {
    check_status(H5Pset_chunk(dcpl.get(), rank, chunk), "set chunking");
    if (const int level = deflate_level(layout.compression); level > 0) {
      check_status(H5Pset_shuffle(dcpl.get()), "set shuffle");
      check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(level)), "set compression");
    }
  }
  return dcpl;
}

namespace {

// HDF5's shuffle filter: byte b of element i goes to b * elements + i. The first `valid`
// elements come from `src`, the rest of the chunk is zeros. A fixed element size lets the compiler
// unroll the byte loop: ten and six times faster than the general loop on 4- and 8-byte elements.
// Every size up to kFixedShuffle has its own loop, fixed-length strings (country codes, names)
// included.
template <std::size_t E>
void shuffle_fixed(unsigned char* dst, const unsigned char* src, std::size_t valid,
                   std::size_t elements) {
  for (std::size_t i = 0; i < valid; ++i)
    for (std::size_t b = 0; b < E; ++b) dst[b * elements + i] = src[i * E + b];
}

constexpr std::size_t kFixedShuffle = 32;
using ShuffleLoop = void (*)(unsigned char*, const unsigned char*, std::size_t, std::size_t);

template <std::size_t... E>
constexpr std::array<ShuffleLoop, sizeof...(E)> shuffle_loops(std::index_sequence<E...>) {
  return {&shuffle_fixed<E + 1>...};
}

void shuffle(unsigned char* dst, const unsigned char* src, std::size_t valid, std::size_t elements,
             std::size_t element) {
  static constexpr auto loops = shuffle_loops(std::make_index_sequence<kFixedShuffle>{});
  if (element == 1) {
    std::memcpy(dst, src, valid);
  } else if (element <= kFixedShuffle) {
    loops[element - 1](dst, src, valid, elements);
  } else {
    for (std::size_t i = 0; i < valid; ++i)
      for (std::size_t b = 0; b < element; ++b) dst[b * elements + i] = src[i * element + b];
  }
  if (valid < elements)
    for (std::size_t b = 0; b < element; ++b)
      std::memset(dst + b * elements + valid, 0, elements - valid);
}

// zlib's compress2 allocates and clears over 256 kB of state on every call, for chunks that are
// often 8 kB samples or a few kB of rows. Each thread keeps one stream and resets it between
// chunks; the shuffled input and the output go through buffers the thread keeps too. The window
// is compress2's (32 kB), the memory level 6, not its 8: a reset clears a 16 kB hash table, not
// 64 kB, which at 10^4 cities took 7 % off the writer's instructions and 36 pages off the run,
// and blocks of 4096 symbols, not 16384, made files 0.2-1.6 % smaller; at 10^5 cities writing
// took as long. An array's sample is deflated with two strategies in turn: the reset stream
// takes the other one with deflateParams, which before any input only sets it (a new stream per
// switch cost as much as the sample, and one per strategy twice the pages). The streams are raw
// deflate, and the zlib wrapper around them (RFC 1950) is written here: the same two header
// bytes zlib writes, and the Adler-32 trailer from io::adler32, ten times faster than zlib's
// own.
class Deflater {
 public:
  Deflater() = default;
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  ~Deflater() {
    if (stream_.level >= 0) deflateEnd(&stream_.z);
  }

  static Deflater& local() {
    thread_local Deflater d;
    return d;
  }

  unsigned char* input(std::size_t bytes) { return reserve(in_, in_size_, bytes); }
  // What input() was last given, for a look before deflate() takes it.
  const unsigned char* held_input() const { return in_.get(); }

  // Deflates the first `bytes` of input() at `level` with zlib's `strategy` into a new buffer of
  // the exact size, as zlib's deflate with its zlib wrapper would.
  std::vector<unsigned char> deflate(std::size_t bytes, int level, int strategy) {
    z_stream& z = stream(level, strategy);
    constexpr std::size_t kHeader = 2, kTrailer = 4;
    const uLong bound = deflateBound(&z, static_cast<uLong>(bytes));
    unsigned char* out = reserve(out_, out_size_, kHeader + bound + kTrailer);
    // deflate's own header for a 32 kB window: level 0-1 and the Huffman-only and run-length
    // strategies are flagged fastest, levels 2-5 fast, 6 default, 7-9 best; a check makes the
    // two bytes a multiple of 31.
    const unsigned flags = strategy >= Z_HUFFMAN_ONLY || level < 2 ? 0
                           : level < 6                             ? 1
                           : level == 6                            ? 2
                                                                   : 3;
    unsigned header = ((Z_DEFLATED + ((MAX_WBITS - 8) << 4)) << 8) | (flags << 6);
    header += 31 - header % 31;
    out[0] = static_cast<unsigned char>(header >> 8);
    out[1] = static_cast<unsigned char>(header & 0xff);
    z.next_in = in_.get();
    z.avail_in = static_cast<uInt>(bytes);
    z.next_out = out + kHeader;
    z.avail_out = static_cast<uInt>(bound);
    if (::deflate(&z, Z_FINISH) != Z_STREAM_END) throw RunError("cannot compress a chunk");
    const std::size_t size = kHeader + z.total_out;
    const std::uint32_t check = io::adler32(1, in_.get(), bytes);
    for (std::size_t i = 0; i < kTrailer; ++i)
      out[size + i] = static_cast<unsigned char>(check >> (8 * (kTrailer - 1 - i)));
    return {out, out + size + kTrailer};
  }

 private:
  static unsigned char* reserve(std::unique_ptr<unsigned char[]>& buffer, std::size_t& size,
                                std::size_t bytes) {
    if (bytes > size) {
      buffer.reset(new unsigned char[bytes]);  // uninitialised: every byte used is written
      size = bytes;
    }
    return buffer.get();
  }

  struct Stream {
    z_stream z{};
    int level = -1;  // -1: not started
    int strategy = Z_DEFAULT_STRATEGY;
  };

  // The thread's stream, reset, at `level` and `strategy`; restarted if it has another level.
  z_stream& stream(int level, int strategy) {
    Stream& s = stream_;
    if (s.level == level) {
      if (deflateReset(&s.z) != Z_OK) throw RunError("cannot compress a chunk");
      if (s.strategy != strategy) {
        if (deflateParams(&s.z, level, strategy) != Z_OK) throw RunError("cannot compress a chunk");
        s.strategy = strategy;
      }
      return s.z;
    }
    if (s.level >= 0) deflateEnd(&s.z);
    s = {};
    if (deflateInit2(&s.z, level, Z_DEFLATED, -MAX_WBITS, kMemLevel, strategy) != Z_OK)
      throw RunError("cannot start compressing a chunk");
    s.level = level;
    s.strategy = strategy;
    return s.z;
  }

  static constexpr int kMemLevel = 6;

  Stream stream_;
  std::unique_ptr<unsigned char[]> in_, out_;
  std::size_t in_size_ = 0, out_size_ = 0;
};

// The chunk shuffled into the thread's Deflater, whose deflate() takes it from there.
Deflater& shuffled_chunk(const unsigned char* data, std::size_t rows, std::size_t chunk_rows,
                         std::size_t row_bytes, std::size_t element) {
  const std::size_t bytes = chunk_rows * row_bytes;
  Deflater& z = Deflater::local();
  shuffle(z.input(bytes), data, rows * row_bytes / element, bytes / element, element);
  return z;
}

// One chunk of `rows` rows of `row_bytes` bytes, through HDF5's shuffle filter and its deflate
// filter (zlib's deflate with a 32 kB window, as HDF5 calls it, unless a strategy is given),
// so that readers see an ordinary shuffled and deflated chunk. The tail of an edge chunk is
// zeros.
std::vector<unsigned char> filter_chunk(const unsigned char* data, std::size_t rows,
                                        std::size_t chunk_rows, std::size_t row_bytes,
                                        std::size_t element, int level,
                                        int strategy = Z_DEFAULT_STRATEGY) {
  return shuffled_chunk(data, rows, chunk_rows, row_bytes, element)
      .deflate(chunk_rows * row_bytes, level, strategy);
}

// Filters `n` chunks in parallel and writes them in order: compression is most of the cost of
// writing large arrays. They go in batches, so that memory stays at two batches, and while this
// thread writes one batch (HDF5 and the kernel's copy, on one thread) the other threads filter
// the next. Each chunk depends on its own data only, so the file is the same for any thread
// count. filter(k) gives chunk k's filtered bytes, origin(k, offset) sets its first element's
// coordinates and returns its dataset.
template <class Filter, class Origin>
void write_chunks(std::size_t n, int rank, const Filter& filter, const Origin& origin,
                  const std::string& what) {
  constexpr std::size_t kBatch = 8;
  using Batch = std::vector<std::vector<unsigned char>>;
  auto filter_batch = [&](Batch& out, std::size_t first) {
    out.resize(std::min(kBatch, n - first));
    citynet::parallel_for(std::size_t{0}, out.size(),
                          [&](std::size_t i) { out[i] = filter(first + i); });
  };
  if (n == 0) return;
  Batch ready, next;
  filter_batch(ready, 0);
  std::vector<hsize_t> offset(static_cast<std::size_t>(rank), 0);
  for (std::size_t first = 0; first < n; first += kBatch) {
    citynet::BackgroundTask filtering;
    if (first + kBatch < n)
      filtering.run([&, after = first + kBatch] { filter_batch(next, after); });
    for (std::size_t i = 0; i < ready.size(); ++i) {
      const hid_t dset = origin(first + i, offset.data());
      check_status(
          H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset.data(), ready[i].size(), ready[i].data()),
          what);
    }
    filtering.wait();
    std::swap(ready, next);
  }
}

// The least and greatest of n values, into min and max (which start at the first). Without
// SSE4.1, x86-64's baseline has no 32- or 64-bit integer min and max, and this scan took longer
// than packing the values: where the processor has AVX2 the loop is compiled for it too.
template <class T>
inline void min_max_loop(const unsigned char* bytes, std::size_t n, T& min, T& max) {
  T lo = min, hi = max;
  for (std::size_t i = 0; i < n; ++i) {
    T x;
    std::memcpy(&x, bytes + i * sizeof(T), sizeof(T));
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  min = lo;
  max = hi;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void min_max_avx2(const unsigned char* bytes, std::size_t n,
                                                  std::int32_t& min, std::int32_t& max) {
  min_max_loop(bytes, n, min, max);
}
__attribute__((target("avx2"))) void min_max_avx2(const unsigned char* bytes, std::size_t n,
                                                  std::int64_t& min, std::int64_t& max) {
  min_max_loop(bytes, n, min, max);
}
#endif

template <class T>
void min_max(const unsigned char* bytes, std::size_t n, T& min, T& max) {
#if defined(__x86_64__) && defined(__GNUC__)
  if constexpr (sizeof(T) >= 4) {
    if (cpu_has_avx2()) {
      min_max_avx2(bytes, n, min, max);
      return;
    }
  }
#endif
  min_max_loop(bytes, n, min, max);
}

// Sends the 32 bits above the lowest `held` of `acc` to `dst`, most significant byte first.
inline void put_word(std::uint64_t acc, unsigned held, unsigned char*& dst) {
  const std::uint32_t word = __builtin_bswap32(static_cast<std::uint32_t>(acc >> held));
  std::memcpy(dst, &word, 4);
  dst += 4;
}

// 32 values less `min` in Bits bits each, most significant bit first: Bits 32-bit words. With
// the width fixed the loop unrolls whole, every shift and store known, with no branch left, where
// the general loop below branches on every value.
template <unsigned Bits, class T>
void pack_blocks(const unsigned char* bytes, std::size_t blocks, T min, unsigned char* dst) {
  using U = std::make_unsigned_t<T>;
  for (std::size_t k = 0; k < blocks; ++k, bytes += 32 * sizeof(T)) {
    std::uint64_t acc = 0;
    unsigned held = 0;
#pragma GCC unroll 32
    for (unsigned i = 0; i < 32; ++i) {
      T x;
      std::memcpy(&x, bytes + i * sizeof(T), sizeof(T));
      acc = (acc << Bits) | static_cast<U>(static_cast<U>(x) - static_cast<U>(min));
      held += Bits;
      if (held >= 32) {
        held -= 32;
        put_word(acc, held, dst);
      }
    }
  }
}

template <class T>
using BlockPacker = void (*)(const unsigned char*, std::size_t, T, unsigned char*);

template <class T, unsigned... B>
constexpr std::array<BlockPacker<T>, sizeof...(B)> block_packers(
    std::integer_sequence<unsigned, B...>) {
  return {&pack_blocks<B + 1, T>...};
}

// One chunk through HDF5's scale-offset filter for integers (H5Z_SO_INT, minimum bits found per
// chunk, no fill value): every value less the chunk's minimum, in as few bits as the chunk's span
// needs, packed most significant bit first after a 21-byte header that holds the bit count and
// the minimum, little-endian. Tie targets shrink as much this way as deflate shrinks them, at a
// small fraction of deflate's time. The tail of an edge chunk repeats the minimum.
template <class T>
std::vector<unsigned char> pack_chunk(const unsigned char* bytes, std::size_t rows,
                                      std::size_t chunk_rows, std::size_t row_bytes) {
  using U = std::make_unsigned_t<T>;
  const std::size_t n = rows * row_bytes / sizeof(T);
  const std::size_t chunk_n = chunk_rows * row_bytes / sizeof(T);
  auto load = [bytes](std::size_t i) {
    T x;
    std::memcpy(&x, bytes + i * sizeof(T), sizeof(T));
    return x;
  };
  T min = n > 0 ? load(0) : T{0}, max = min;
  min_max(bytes, n, min, max);
  const U range = static_cast<U>(static_cast<U>(max) - static_cast<U>(min));
  constexpr unsigned kFull = sizeof(T) * 8;
  unsigned bits = 0;
  if (range > static_cast<U>(~U{0} - 2)) {
    bits = kFull;  // as HDF5 decides: too wide a span to gain anything
  } else {
    const std::uint64_t span = static_cast<std::uint64_t>(range) + 1;
    while (bits < 64 && (std::uint64_t{1} << bits) < span) ++bits;
  }
  constexpr std::size_t kHeader = 21;
  std::vector<unsigned char> out(kHeader + (chunk_n * bits + 7) / 8, 0);
  for (unsigned i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(bits >> (8 * i));
  out[4] = 8;
  const auto minval = static_cast<std::uint64_t>(static_cast<std::int64_t>(min));
  for (unsigned i = 0; i < 8; ++i) out[5 + i] = static_cast<unsigned char>(minval >> (8 * i));
  if (bits == kFull) {
    std::memcpy(out.data() + kHeader, bytes, n * sizeof(T));
    for (std::size_t i = n; i < chunk_n; ++i)
      std::memcpy(out.data() + kHeader + i * sizeof(T), &min, sizeof(T));
    return out;
  }
  if (bits == 0) return out;
  unsigned char* dst = out.data() + kHeader;
  // Whole blocks of 32 values end on a word boundary; the general loop goes on from there.
  std::size_t first = 0;
  constexpr unsigned kBlockBits = std::min<unsigned>(31, kFull - 1);
  if (bits <= kBlockBits) {
    static constexpr auto packers =
        block_packers<T>(std::make_integer_sequence<unsigned, kBlockBits>{});
    const std::size_t blocks = n / 32;
    packers[bits - 1](bytes, blocks, min, dst);
    first = blocks * 32;
    dst += blocks * 4 * bits;
  }
  // Bits gather in a 64-bit accumulator and leave it 32 at a time, most significant first.
  // Fewer than 32 wait after each put, so a put of up to 32 more always fits.
  std::uint64_t acc = 0;
  unsigned held = 0;
  auto put_bits = [&](std::uint64_t value, unsigned width) {
    acc = (acc << width) | value;
    held += width;
    if (held >= 32) {
      held -= 32;
      put_word(acc, held, dst);
    }
  };
  auto put = [&](U value) {
    const auto wide = static_cast<std::uint64_t>(value);
    if (bits > 32) {
      put_bits(wide >> 32, bits - 32);
      put_bits(wide & 0xffffffffu, 32);
    } else {
      put_bits(wide, bits);
    }
  };
  for (std::size_t i = first; i < n; ++i)
    put(static_cast<U>(static_cast<U>(load(i)) - static_cast<U>(min)));
  for (std::size_t i = n; i < chunk_n; ++i) put(0);
  // The last bits, left-aligned in as many bytes as they need.
  for (; held >= 8; held -= 8) *dst++ = static_cast<unsigned char>(acc >> (held - 8));
  if (held > 0) *dst = static_cast<unsigned char>(acc << (8 - held));
  return out;
}

using Packer = std::vector<unsigned char> (*)(const unsigned char*, std::size_t, std::size_t,
                                              std::size_t);

// An array of `dims` whose elements are `element` bytes of HDF5 type `type`, `data` in row-major
// order. Chunked and compressed in parallel where that pays: shuffled and deflated at level
// `compression`, or, for integers (`pack`), scale-offset packed where that shrinks them nearly
// as much.
void write_elements(hid_t parent, const std::string& name, hid_t type,
                    const std::vector<hsize_t>& dims, const unsigned char* data,
                    std::size_t element, std::size_t chunk_bytes, int compression,
                    const std::string& units, const std::string& description,
                    Packer pack = nullptr) {
  const int rank = static_cast<int>(dims.size());
  Handle space(check(H5Screate_simple(rank, dims.data(), nullptr), "create a dataspace"));
  hsize_t total = 1;
  for (auto d : dims) total *= d;
  const std::size_t bytes = static_cast<std::size_t>(total) * element;
  const int deflate = deflate_level(compression);

  hsize_t row = 1;
  for (int i = 1; i < rank; ++i) row *= std::max<hsize_t>(dims[i], 1);
  const std::size_t row_bytes = static_cast<std::size_t>(row) * element;
  const auto rows_per_chunk = static_cast<std::size_t>(
      std::clamp<hsize_t>(chunk_bytes / row_bytes, 1, std::max<hsize_t>(dims[0], 1)));
  std::vector<hsize_t> chunk(dims);
  chunk[0] = rows_per_chunk;

  // An array of one repeated value (unit tie weights, say) is stored as its first chunk and its
  // fill value: readers see every element, and neither time nor disk is spent on copies of it.
  // (The one chunk makes its storage non-empty, which h5diff requires to compare it.) Its chunks
  // are small, 16 kB, since filtering a full-size one cost more than a small run's other arrays.
  // Element i equals element i + 1 for all i exactly when the bytes equal themselves shifted by
  // one.
  if (total >= 4096 && std::memcmp(data, data + element, bytes - element) == 0) {
    const auto fill_rows = static_cast<std::size_t>(
        std::clamp<hsize_t>(16384 / row_bytes, 1, std::max<hsize_t>(dims[0], 1)));
    chunk[0] = fill_rows;
    Handle dcpl = dataset_properties(rank, chunk.data(), Layout{deflate});
    check_status(H5Pset_fill_value(dcpl.get(), type, data), "set a fill value");
    check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_IFSET), "set the fill time");
    Handle dset(check(
        H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        "create dataset " + name));
    const std::size_t rows = std::min(fill_rows, static_cast<std::size_t>(dims[0]));
    std::vector<unsigned char> first;
    if (deflate > 0) {
      first = filter_chunk(data, rows, fill_rows, row_bytes, element, deflate);
    } else {
      first.resize(fill_rows * row_bytes);
      for (std::size_t i = 0; i < first.size(); i += element) std::memcpy(&first[i], data, element);
    }
    const std::vector<hsize_t> origin(dims.size(), 0);
    check_status(
        H5Dwrite_chunk(dset.get(), H5P_DEFAULT, 0, origin.data(), first.size(), first.data()),
        "write dataset " + name);
    describe(dset.get(), units, description);
    return;
  }

  bool chunked = deflate > 0 && total >= 4096;
  bool packed = false;
  int strategy = Z_DEFAULT_STRATEGY;
  if (chunked) {
    // The first 8 kB decide. Data that deflate barely shrinks (coordinates, populations) would
    // cost compression time for nothing and is stored as it is. Integers that packing shrinks
    // by a fifth are packed, at ten times deflate's speed, unless deflate makes them three
    // times smaller still (row numbers, say). Deflate looks for repeats (zlib's default) where
    // that shrinks the sample by over a tenth more than runs alone do (row numbers, names); on
    // the rest runs alone are 1.3-2.4 times faster. Within that tenth whole arrays came out
    // smaller by runs: in city_100k's file the variant designs 3.91 against 4.03 MB, the
    // capacities and openness 3.6 % smaller, and its write phase took 0.113 against 0.145 s;
    // the world's capacities and openness 2 % smaller; files of synthetic cities unchanged.
    // Runs are tried first: a sample they leave at over 4/5 of its size (coordinates,
    // populations) is all but free of repeats too, and is not deflated a second time. A bound
    // on what runs make (io/deflate_bound.hpp) tells those samples without deflating them: 10 µs
    // on 8 kB of coordinates, where zlib took 40 µs warm and ~90 µs in a 10^4-city run, whose
    // city table then took 10.0 M instructions to write against 11.5 M. The decisions are
    // those deflating would make, files included: where the bound leaves one open, runs are
    // deflated after all.
    const std::size_t rows =
        std::min<std::size_t>({rows_per_chunk, static_cast<std::size_t>(dims[0]),
                               std::max<std::size_t>(1, 8192 / row_bytes)});
    const std::size_t sample = rows * row_bytes;
    const auto plain = static_cast<double>(sample);
    Deflater& z = shuffled_chunk(data, rows, rows, row_bytes, element);
    auto deflated_size = [&](int with) {
      return static_cast<double>(z.deflate(sample, deflate, with).size());
    };
    const auto least = static_cast<double>(least_run_length_deflate(z.held_input(), sample));
    const bool no_runs = least > 0.8 * plain;
    // Where runs leave over 4/5 the sample is stored as it is unless packed, and the bound
    // stands for their size until packing needs it exact.
    double deflated = least;
    if (!no_runs) {
      const double runs = deflated_size(Z_RLE);
      const double repeats = runs > 0.8 * plain ? runs : deflated_size(Z_DEFAULT_STRATEGY);
      const bool by_runs = runs <= 1.1 * repeats;
      if (by_runs) strategy = Z_RLE;
      deflated = by_runs ? runs : repeats;
    }
    if (pack && H5Zfilter_avail(H5Z_FILTER_SCALEOFFSET) > 0) {
      const auto size = static_cast<double>(pack(data, rows, rows, row_bytes).size());
      // The bound is less than runs make: packing it does not beat may still beat them.
      packed = size <= 0.8 * plain &&
               (size <= 3.0 * deflated || (no_runs && size <= 3.0 * deflated_size(Z_RLE)));
    }
    if (!packed && deflated > 0.8 * plain) chunked = false;
  }
  Handle dcpl =
      dataset_properties(rank, chunked ? chunk.data() : nullptr, Layout{packed ? 0 : deflate});
  if (packed) {
    // No fill value, so that the filter spends no code on one: every chunk is written.
    check_status(H5Pset_fill_value(dcpl.get(), type, nullptr), "unset the fill value");
    check_status(H5Pset_scaleoffset(dcpl.get(), H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT),
                 "set scale-offset packing");
  }
  Handle dset(check(
      H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset " + name));
  if (total > 0 && chunked) {
    const std::size_t chunks =
        (static_cast<std::size_t>(dims[0]) + rows_per_chunk - 1) / rows_per_chunk;
    write_chunks(
        chunks, rank,
        [&](std::size_t k) {
          const std::size_t begin = k * rows_per_chunk;
          const std::size_t rows =
              std::min(rows_per_chunk, static_cast<std::size_t>(dims[0]) - begin);
          return packed ? pack(data + begin * row_bytes, rows, rows_per_chunk, row_bytes)
                        : filter_chunk(data + begin * row_bytes, rows, rows_per_chunk, row_bytes,
                                       element, deflate, strategy);
        },
        [&](std::size_t k, hsize_t* offset) {
          offset[0] = k * rows_per_chunk;
          return dset.get();
        },
        "write dataset " + name);
  } else if (total > 0) {
    check_status(H5Dwrite(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 "write dataset " + name);
  }
  describe(dset.get(), units, description);
}

}  // namespace

template <class T>
void write_array(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                 const T* data, const std::string& units, const std::string& description,
                 const Layout& layout) {
  Packer pack = nullptr;
  if constexpr (std::is_integral_v<T>) pack = &pack_chunk<T>;
  write_elements(parent, name, native_type<T>(), dims, reinterpret_cast<const unsigned char*>(data),
                 sizeof(T), 65536 * sizeof(T), layout.compression, units, description, pack);
}

#define CITYNET_INSTANTIATE(T)                                                                   \
  template void write_array<T>(hid_t, const std::string&, const std::vector<hsize_t>&, const T*, \
                               const std::string&, const std::string&, const Layout&);
CITYNET_INSTANTIATE(double)
CITYNET_INSTANTIATE(float)
CITYNET_INSTANTIATE(std::int8_t)
CITYNET_INSTANTIATE(std::uint8_t)
CITYNET_INSTANTIATE(std::int32_t)
CITYNET_INSTANTIATE(std::int64_t)
#undef CITYNET_INSTANTIATE

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values,
                   const std::string& units, const std::string& description, const Layout& layout) {
  // Fixed-length UTF-8, padded with NULs to the longest value: a variable-length string is an
  // object of HDF5's global heap each, which made a million city names cost a tenth of a second.
  // Gathering a million names into the padded table took as long as deflating it (~9 ms): blocks
  // of rows go in parallel.
  const std::size_t n = values.size();
  constexpr std::size_t kBlock = 16384;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::size_t> longest(blocks, 1);
  citynet::parallel_for(std::size_t{0}, blocks, [&](std::size_t b) {
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i)
      longest[b] = std::max(longest[b], values[i].size());
  });
  const std::size_t width = blocks > 0 ? *std::max_element(longest.begin(), longest.end()) : 1;
  Handle type(check(H5Tcopy(H5T_C_S1), "create a string type"));
  check_status(H5Tset_size(type.get(), width), "set a string size");
  check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "set a string padding");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set a string encoding");
  const std::unique_ptr<unsigned char[]> text(
      new unsigned char[std::max<std::size_t>(n * width, 1)]);
  citynet::parallel_for(std::size_t{0}, blocks, [&](std::size_t b) {
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      unsigned char* row = text.get() + i * width;
      std::memcpy(row, values[i].data(), values[i].size());
      std::memset(row + values[i].size(), 0, width - values[i].size());
    }
  });
  // HDF5's shuffle filter takes a string's whole width as its element.
  write_elements(parent, name, type.get(), {n}, text.get(), width, 65536, layout.compression, units,
                 description);
}

void write_scalar_string(hid_t parent, const std::string& name, const std::string& value,
                         const std::string& units, const std::string& description) {
  Handle type = string_type();
  Handle space(check(H5Screate(H5S_SCALAR), "create a dataspace"));
  Handle dcpl = dataset_properties(0, nullptr, {});
  Handle dset(check(H5Dcreate2(parent, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                               dcpl.get(), H5P_DEFAULT),
                    "create dataset " + name));
  // HDF5 clears a type-conversion buffer of 1 MB by default for a variable-length write, which
  // cost more than the rest of a small run's file; one string needs a few bytes of it.
  Handle dxpl(check(H5Pcreate(H5P_DATASET_XFER), "create transfer properties"));
  check_status(H5Pset_buffer(dxpl.get(), 4096, nullptr, nullptr), "set the conversion buffer");
  const char* p = value.c_str();
  check_status(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, dxpl.get(), &p),
               "write dataset " + name);
  describe(dset.get(), units, description);
}

// Appended rows (events, series) are deflated with zlib's run-length strategy, matches of
// distance one only: still ordinary deflate streams, and on the event columns of city_100k a
// seventh less compression time and a smaller file (20.49 -> 20.16 MB) than the default.
constexpr int kAppendStrategy = Z_RLE;

template <class T>
AppendableDataset<T>::AppendableDataset(hid_t parent, const std::string& name, std::size_t width,
                                        const std::string& units, const std::string& description,
                                        const Layout& layout)
    : width_(width) {
  const int rank = width == 0 ? 1 : 2;
  hsize_t dims[2] = {0, width};
  hsize_t maxdims[2] = {H5S_UNLIMITED, width};
  // Rows wider than 64k values (snapshots of every tie's weight) are split into chunks of 64k
  // columns, so that one row's chunks compress in parallel and none grows with the network.
  hsize_t chunk[2] = {layout.chunk_rows ? layout.chunk_rows : kAppendChunkRows,
                      std::clamp<hsize_t>(width, 1, kMaxChunkColumns)};
  if (width > 0) chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(chunk[0], 65536 / width));
  Handle space(check(H5Screate_simple(rank, dims, maxdims), "create a dataspace"));
  chunk_rows_ = static_cast<std::size_t>(chunk[0]);
  chunk_columns_ = static_cast<std::size_t>(chunk[1]);
  // Rows wait here until they fill a chunk: held in place from the start, the buffer is not
  // copied as it grows, and each of its pages is touched once (a fault costs ~1 µs here).
  pending_.reserve(chunk_rows_ * std::max<std::size_t>(width, 1));
  level_ = deflate_level(layout.compression);
  Layout l = layout;
  Handle dcpl = dataset_properties(rank, chunk, l);
  dset_ = Handle(check(H5Dcreate2(parent, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT,
                                  dcpl.get(), H5P_DEFAULT),
                       "create dataset " + name));
  describe(dset_.get(), units, description);
}

struct ChunkBatch::Started {
  citynet::BackgroundTask filtering;
};

ChunkBatch::ChunkBatch() = default;
ChunkBatch::~ChunkBatch() = default;  // Started's task waits, its filters reading kept_

void ChunkBatch::start() {
  if (chunks_.empty() || started_) return;
  filtered_.resize(chunks_.size());
  started_ = std::make_unique<Started>();
  started_->filtering.run([this] {
    citynet::parallel_for(std::size_t{0}, chunks_.size(),
                          [this](std::size_t k) { filtered_[k] = chunks_[k].filter(); });
  });
}

void ChunkBatch::write(const std::string& what) {
  // The filters start() ran read chunks_ and fill filtered_ until they are done. Everything is
  // taken out before anything can throw, so that the batch is empty after a failed write too.
  std::exception_ptr failed;
  if (started_) {
    try {
      started_->filtering.wait();
    } catch (...) {
      failed = std::current_exception();
    }
    started_.reset();
  }
  const std::vector<Chunk> chunks = std::exchange(chunks_, {});
  const auto kept = std::exchange(kept_, {});
  auto filtered = std::exchange(filtered_, {});
  if (failed) std::rethrow_exception(failed);
  // HDF5 reads as many coordinates as the dataset has dimensions.
  write_chunks(
      chunks.size(), 2,
      [&](std::size_t k) { return filtered.empty() ? chunks[k].filter() : std::move(filtered[k]); },
      [&](std::size_t k, hsize_t* offset) {
        offset[0] = chunks[k].offset[0];
        offset[1] = chunks[k].offset[1];
        return chunks[k].dset;
      },
      what);
}

template <class T>
void AppendableDataset<T>::append(const T* rows, std::size_t count, ChunkBatch* batch) {
  const std::size_t w = std::max<std::size_t>(width_, 1);
  pending_.insert(pending_.end(), rows, rows + count * w);
  // Whole chunks go out as soon as they are complete, so memory stays at one chunk.
  const std::size_t waiting = pending_.size() / w;
  if (waiting >= chunk_rows_) {
    const std::size_t full = waiting - waiting % chunk_rows_;
    const auto end = pending_.begin() + static_cast<std::ptrdiff_t>(full * w);
    if (batch) {
      write(batch->keep(std::vector<T>(pending_.begin(), end)).data(), full, batch);
    } else {
      write(pending_.data(), full, nullptr);
    }
    pending_.erase(pending_.begin(), end);
  }
}

template <class T>
void AppendableDataset<T>::flush(ChunkBatch* batch) {
  if (!dset_.valid() || pending_.empty()) return;
  const std::size_t count = pending_.size() / std::max<std::size_t>(width_, 1);
  if (batch) {
    write(batch->keep(std::move(pending_)).data(), count, batch);
  } else {
    write(pending_.data(), count, nullptr);
  }
  pending_.clear();
}

template <class T>
void AppendableDataset<T>::write(const T* rows, std::size_t count, ChunkBatch* batch) {
  if (count == 0) return;
  const int rank = width_ == 0 ? 1 : 2;
  const std::size_t w = std::max<std::size_t>(width_, 1);
  hsize_t newdims[2] = {rows_ + count, width_};
  check_status(H5Dset_extent(dset_.get(), newdims), "extend a dataset");
  // Whole chunks on chunk boundaries are filtered in parallel and written as they are, as
  // write_array does (millions of events would otherwise be deflated on one thread); the rest
  // goes through HDF5's own pipeline.
  ChunkBatch own;
  ChunkBatch& out = batch ? *batch : own;
  const std::size_t chunk_rows = chunk_rows_, chunk_columns = chunk_columns_;
  const int level = level_;
  const hid_t dset = dset_.get();
  if (level > 0 && rows_ % chunk_rows == 0 && count >= chunk_rows) {
    const std::size_t chunks = count / chunk_rows;
    const auto* bytes = reinterpret_cast<const unsigned char*>(rows);
    // Chunk (i, j): rows i * chunk_rows on, columns j * chunk_columns on. A row split into
    // column chunks has one row per chunk, so each chunk is contiguous in `rows`; the last
    // column chunk of a row is padded.
    const std::size_t across = (w + chunk_columns - 1) / chunk_columns;
    for (std::size_t k = 0; k < chunks * across; ++k) {
      const std::size_t i = k / across, first = (k % across) * chunk_columns;
      if (across == 1) {
        out.add(dset, rows_ + i * chunk_rows, 0, [=] {
          return filter_chunk(bytes + i * chunk_rows * w * sizeof(T), chunk_rows, chunk_rows,
                              w * sizeof(T), sizeof(T), level, kAppendStrategy);
        });
      } else {
        const std::size_t columns = std::min(chunk_columns, w - first);
        out.add(dset, rows_ + i * chunk_rows, first, [=] {
          return filter_chunk(bytes + (i * w + first) * sizeof(T), columns, chunk_columns,
                              sizeof(T), sizeof(T), level, kAppendStrategy);
        });
      }
    }
    rows_ += chunks * chunk_rows;
    rows += chunks * chunk_rows * w;
    count -= chunks * chunk_rows;
  }
  // The last rows of a run, starting a chunk of one row's width: filtered here too, padded with
  // zeros, which HDF5's pipeline would have cost more than all else a small run writes.
  if (count > 0 && level > 0 && rows_ % chunk_rows == 0 && w <= chunk_columns) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(rows);
    out.add(dset, rows_, 0, [=] {
      return filter_chunk(bytes, count, chunk_rows, w * sizeof(T), sizeof(T), level,
                          kAppendStrategy);
    });
    rows_ += count;
    count = 0;
  }
  if (!batch) own.write("append rows");
  if (count == 0) return;
  Handle file_space(check(H5Dget_space(dset_.get()), "get a dataspace"));
  hsize_t start[2] = {rows_, 0};
  hsize_t extent[2] = {count, width_};
  check_status(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr),
      "select rows");
  Handle mem_space(check(H5Screate_simple(rank, extent, nullptr), "create a dataspace"));
  check_status(
      H5Dwrite(dset_.get(), native_type<T>(), mem_space.get(), file_space.get(), H5P_DEFAULT, rows),
      "append rows");
  rows_ += count;
}

template class AppendableDataset<double>;
template class AppendableDataset<float>;
template class AppendableDataset<std::int8_t>;
template class AppendableDataset<std::int32_t>;
template class AppendableDataset<std::int64_t>;

}  // namespace citynet::io::h5
