#include <tbb/global_control.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/hdf5.hpp"

using namespace citynet::io;

namespace {

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("citynet_hdf5_test_" + name)).string();
}

// The first filter of a dataset's pipeline, or -1 for none.
int first_filter(hid_t dset) {
  h5::Handle dcpl(H5Dget_create_plist(dset));
  if (H5Pget_nfilters(dcpl.get()) < 1) return -1;
  unsigned flags = 0;
  std::size_t n = 0;
  unsigned config = 0;
  return H5Pget_filter2(dcpl.get(), 0, &flags, &n, nullptr, 0, nullptr, &config);
}

template <class T>
std::vector<T> read_all(const std::string& path, const std::string& name, int* filters,
                        int* filter = nullptr, hsize_t* stored = nullptr) {
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Handle dset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  h5::Handle space(H5Dget_space(dset.get()));
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  std::vector<T> out(n);
  REQUIRE(H5Dread(dset.get(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >=
          0);
  h5::Handle dcpl(H5Dget_create_plist(dset.get()));
  *filters = H5Pget_nfilters(dcpl.get());
  if (filter) *filter = first_filter(dset.get());
  if (stored) *stored = H5Dget_storage_size(dset.get());
  return out;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<std::int32_t>& ints,
                const std::vector<double>& table, int compression,
                const std::vector<std::int32_t>* spread = nullptr) {
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  h5::Layout layout;
  layout.compression = compression;
  h5::write_array(file.get(), "ints", {ints.size()}, ints.data(), "", "test", layout);
  h5::write_array(file.get(), "table", {table.size() / 3, 3}, table.data(), "", "test", layout);
  if (spread)
    h5::write_array(file.get(), "spread", {spread->size()}, spread->data(), "", "test", layout);
}

}  // namespace

TEST_CASE("Large arrays are written in compressed chunks that read back exactly", "[unit]") {
  // Several batches of chunks and a partial last chunk, in one and two dimensions.
  std::vector<std::int32_t> ints(65536 * 70 + 12345);
  for (std::size_t i = 0; i < ints.size(); ++i)
    ints[i] = static_cast<std::int32_t>((i * 37) % 64) * 1000 - 20000;
  std::vector<double> table(3 * 70001);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = 0.5 * static_cast<double>(i % 977);

  for (int compression : {0, 1, 4}) {
    INFO("compression " << compression);
    const std::string path = temp_file(std::to_string(compression) + ".h5");
    write_file(path, ints, table, compression);
    int filters = -1;
    int filter = -1;
    // A short cycle over a 16-bit span: deflate finds its repeats and shrinks it far below
    // packing.
    CHECK(read_all<std::int32_t>(path, "ints", &filters, &filter) == ints);
    CHECK(filters == (compression > 0 ? 2 : 0));
    if (compression > 0) CHECK(filter == H5Z_FILTER_SHUFFLE);
    CHECK(read_all<double>(path, "table", &filters, &filter) == table);
    CHECK(filters == (compression > 0 ? 2 : 0));
    if (compression > 0) CHECK(filter == H5Z_FILTER_SHUFFLE);  // then deflate
    std::filesystem::remove(path);
  }
}

namespace {

// What zlib's deflate, wrapper included, makes of `in` with these parameters: a 32 kB window,
// as HDF5's deflate filter has, and the writer's memory level 6.
std::vector<unsigned char> zlib_deflate(const std::vector<unsigned char>& in, int level,
                                        int strategy) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, MAX_WBITS, 6, strategy) == Z_OK);
  std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<unsigned char*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("Deflated chunks are the bytes zlib itself makes of the shuffled rows", "[unit]") {
  // Two whole chunks of 65536 values and a partial one, padded with zeros.
  std::vector<std::int32_t> ints(65536 * 2 + 1000);
  for (std::size_t i = 0; i < ints.size(); ++i)
    ints[i] = static_cast<std::int32_t>((i * 7919) % 4093) - 100;
  const std::string path = temp_file("zlib_bytes.h5");
  for (int level : {1, 4, 6, 9}) {
    INFO("level " << level);
    {
      h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      h5::Layout layout;
      layout.compression = level;
      h5::write_array(file.get(), "ints", {ints.size()}, ints.data(), "", "test", layout);
    }
    h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    h5::Handle dset(H5Dopen2(file.get(), "ints", H5P_DEFAULT));
    REQUIRE(first_filter(dset.get()) == H5Z_FILTER_SHUFFLE);
    for (std::size_t chunk = 0; chunk < 3; ++chunk) {
      INFO("chunk " << chunk);
      // HDF5's shuffle: byte b of value i at b * 65536 + i.
      std::vector<unsigned char> shuffled(65536 * 4, 0);
      for (std::size_t i = 0; i < 65536 && chunk * 65536 + i < ints.size(); ++i) {
        const auto v = static_cast<std::uint32_t>(ints[chunk * 65536 + i]);
        for (std::size_t b = 0; b < 4; ++b)
          shuffled[b * 65536 + i] = static_cast<unsigned char>(v >> (8 * b));
      }
      const hsize_t offset[1] = {chunk * 65536};
      hsize_t size = 0;
      REQUIRE(H5Dget_chunk_storage_size(dset.get(), offset, &size) >= 0);
      std::vector<unsigned char> stored(size);
      std::uint32_t mask = 0;
      REQUIRE(H5Dread_chunk(dset.get(), H5P_DEFAULT, offset, &mask, stored.data()) >= 0);
      CHECK(mask == 0);
      // The writer deflates with zlib's default strategy or with runs only, whichever shrank
      // the array's first rows more.
      const bool same = stored == zlib_deflate(shuffled, level, Z_DEFAULT_STRATEGY) ||
                        stored == zlib_deflate(shuffled, level, Z_RLE);
      CHECK(same);
    }
  }
  std::filesystem::remove(path);
}

TEST_CASE("Compressed arrays are the same bytes for any thread count", "[unit]") {
  // Deflated (ints), one repeated value (table) and scale-offset packed (spread).
  std::vector<std::int32_t> ints(65536 * 5 + 7);
  for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<std::int32_t>(i % 4093);
  const std::vector<double> table(3 * 30000, 1.25);
  std::vector<std::int32_t> spread(65536 * 5 + 7);
  std::uint32_t x = 2463534242u;
  for (auto& v : spread) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::int32_t>(x % 100000);
  }
  std::string one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    write_file(temp_file("t1.h5"), ints, table, 4, &spread);
    one = bytes_of(temp_file("t1.h5"));
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    write_file(temp_file("t2.h5"), ints, table, 4, &spread);
    two = bytes_of(temp_file("t2.h5"));
  }
  int filters = -1, filter = -1;
  CHECK(read_all<std::int32_t>(temp_file("t2.h5"), "spread", &filters, &filter) == spread);
  CHECK(filter == H5Z_FILTER_SCALEOFFSET);
  CHECK(!one.empty());
  CHECK(one == two);
  std::filesystem::remove(temp_file("t1.h5"));
  std::filesystem::remove(temp_file("t2.h5"));
}

namespace {

template <class T>
void check_packed(const std::string& label, const std::vector<T>& values, bool packed) {
  INFO(label);
  const std::string path = temp_file("packed.h5");
  {
    h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::write_array(file.get(), "v", {values.size()}, values.data(), "", "test", {});
  }
  int filters = -1;
  int filter = -1;
  // HDF5's own scale-offset decoder reads what the writer packed.
  CHECK(read_all<T>(path, "v", &filters, &filter) == values);
  CHECK((filter == H5Z_FILTER_SCALEOFFSET) == packed);
  std::filesystem::remove(path);
}

// Values that read back exactly, by whichever filter the writer chose for them.
template <class T>
void check_values(const std::string& label, const std::vector<T>& values) {
  INFO(label);
  const std::string path = temp_file("values.h5");
  {
    h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::write_array(file.get(), "v", {values.size()}, values.data(), "", "test", {});
  }
  int filters = -1;
  const std::vector<T> read = read_all<T>(path, "v", &filters);
  // The first value that differs, if any: a whole vector in a failure message is megabytes.
  const auto diff = std::mismatch(read.begin(), read.end(), values.begin(), values.end());
  CHECK(read.size() == values.size());
  CHECK(diff.first - read.begin() == static_cast<std::ptrdiff_t>(read.size()));
  std::filesystem::remove(path);
}

}  // namespace

TEST_CASE("Integers are packed with HDF5's scale-offset filter and read back exactly", "[unit]") {
  // Chunks hold 65536 values: every case spans several, the last one partial.
  const std::size_t n = 65536 * 3 + 1001;
  std::uint64_t x = 88172645463325252ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::vector<std::int32_t> negative(n);
  for (auto& v : negative) v = -70000 + static_cast<std::int32_t>(next() % 100000);
  check_packed("17-bit span of negative and positive values", negative, true);

  std::vector<std::int32_t> sorted_rows(n);  // tie targets: sorted runs of random ids
  for (std::size_t i = 0; i < n; ++i) sorted_rows[i] = static_cast<std::int32_t>(next() % 1000000);
  for (std::size_t i = 0; i + 10 <= n; i += 10)
    std::sort(sorted_rows.begin() + static_cast<std::ptrdiff_t>(i),
              sorted_rows.begin() + static_cast<std::ptrdiff_t>(i + 10));
  check_packed("tie targets", sorted_rows, true);

  std::vector<std::int64_t> wide(n);  // a 41-bit span: values cross the 32-bit halves
  for (auto& v : wide) v = static_cast<std::int64_t>(next() % (1ull << 41)) - (1ll << 40);
  check_packed("41-bit span of 64-bit values", wide, true);

  std::vector<std::int64_t> offsets(n);  // monotone, as CSR offsets
  for (std::size_t i = 1; i < n; ++i)
    offsets[i] = offsets[i - 1] + static_cast<std::int64_t>(next() % 21);
  check_packed("CSR offsets", offsets, true);

  std::vector<std::int32_t> flat_first(n, 7);  // a first chunk of one value: zero bits
  for (std::size_t i = 65536; i < n; ++i) flat_first[i] = static_cast<std::int32_t>(next() % 1000);
  check_packed("a constant chunk, then 10-bit chunks", flat_first, true);

  std::vector<std::int32_t> full(n);  // no span to gain: stored whole
  for (auto& v : full) v = static_cast<std::int32_t>(static_cast<std::uint32_t>(next()));
  check_packed("full 32-bit range", full, false);

  std::vector<std::int8_t> small(n);
  for (auto& v : small) v = static_cast<std::int8_t>(static_cast<int>(next() % 16) - 8);
  check_packed("4-bit span of bytes", small, true);

  // Every width the packer has a fixed loop for, and the first past them.
  for (unsigned bits = 1; bits <= 33; ++bits) {
    std::vector<std::int64_t> spread(n);
    for (auto& v : spread) v = static_cast<std::int64_t>(next() % (1ull << bits)) - 5;
    spread[17] = -5;  // the whole span, so that each chunk needs every bit
    spread[65536 + 3] = -5;
    spread[2 * 65536 + 9] = -5;
    spread[3 * 65536 + 11] = -5;
    spread[29] = static_cast<std::int64_t>((1ull << bits) - 1) - 5;
    spread[65536 + 8] = spread[29];
    spread[2 * 65536 + 40] = spread[29];
    spread[3 * 65536 + 1000] = spread[29];
    if (bits < 32) {
      std::vector<std::int32_t> narrow(spread.begin(), spread.end());
      check_values("a " + std::to_string(bits) + "-bit span of 32-bit values", narrow);
    }
    check_values("a " + std::to_string(bits) + "-bit span of 64-bit values", spread);
  }

  std::vector<std::int64_t> rows(n);  // row numbers: deflate makes them far smaller
  for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<std::int64_t>(i);
  check_packed("row numbers", rows, false);
}

TEST_CASE("An array of one repeated value is stored as one chunk and its fill value", "[unit]") {
  const std::vector<float> weights(1000000, 1.0f);  // 16 chunks of 65536
  std::vector<float> nearly(weights);
  nearly.back() = 0.5f;
  for (int compression : {0, 4}) {
    INFO("compression " << compression);
    const std::string path = temp_file("fill.h5");
    {
      h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      h5::Layout layout;
      layout.compression = compression;
      h5::write_array(file.get(), "weights", {weights.size()}, weights.data(), "", "test", layout);
      h5::write_array(file.get(), "nearly", {nearly.size()}, nearly.data(), "", "test", layout);
    }
    int filters = -1;
    hsize_t stored = 0;
    CHECK(read_all<float>(path, "weights", &filters, nullptr, &stored) == weights);
    CHECK(stored > 0);
    CHECK(stored <= 65536 * sizeof(float));
    CHECK(read_all<float>(path, "nearly", &filters, nullptr, &stored) == nearly);
    if (compression == 0) CHECK(stored == nearly.size() * sizeof(float));
    std::filesystem::remove(path);
  }
}

TEST_CASE("Appended rows reach the file whole once flushed", "[unit]") {
  // Compressed, whole chunks and a last partial one are filtered here and written directly;
  // rows appended after a flush left a partial chunk go through HDF5's pipeline, which reads
  // that chunk back. All read back the same.
  for (int compression : {0, 1}) {
    INFO("compression " << compression);
    const std::string path = temp_file("append.h5");
    std::vector<std::int32_t> expected;
    {
      h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      h5::Layout layout;
      layout.compression = compression;
      layout.chunk_rows = 100;
      h5::AppendableDataset<std::int32_t> d(file.get(), "rows", 3, "", "test", layout);
      // Batches of uneven sizes: some fill part of a chunk, some several chunks at once.
      std::int32_t next = 0;
      for (std::size_t count : {1, 7, 99, 250, 0, 1, 1000, 42}) {
        std::vector<std::int32_t> batch(count * 3);
        for (auto& v : batch) v = next++ % 977;
        d.append(batch.data(), count);
        expected.insert(expected.end(), batch.begin(), batch.end());
        CHECK(d.rows() * 3 == expected.size());
      }
      d.flush();
      // Appends after the flush: the partial chunk it wrote is completed, then more.
      for (std::size_t count : {30, 171}) {
        std::vector<std::int32_t> batch(count * 3);
        for (auto& v : batch) v = next++ % 977;
        d.append(batch.data(), count);
        expected.insert(expected.end(), batch.begin(), batch.end());
        d.flush();
        CHECK(d.rows() * 3 == expected.size());
      }
    }
    int filters = -1;
    CHECK(read_all<std::int32_t>(path, "rows", &filters) == expected);
    CHECK(filters == (compression > 0 ? 2 : 0));
    std::filesystem::remove(path);
  }
}

TEST_CASE("A batch filtered in the background writes the bytes of one filtered at write()",
          "[unit]") {
  // Two columns appended a chunk at a time through a batch, as a run's events are: started
  // (filtered on the run's threads while the caller goes on) or not, the files are the same.
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 2);
  auto write = [](const std::string& path, bool started) {
    h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::Layout layout;
    layout.chunk_rows = 256;
    h5::AppendableDataset<std::int32_t> a(file.get(), "a", 0, "", "test", layout);
    h5::AppendableDataset<std::int32_t> b(file.get(), "b", 0, "", "test", layout);
    h5::ChunkBatch batch;
    std::vector<std::int32_t> values(3 * 256);
    for (int round = 0; round < 5; ++round) {
      batch.write("append rows");  // the previous round's chunks
      for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = static_cast<std::int32_t>((i * 7919 + static_cast<std::size_t>(round)) % 1000);
      a.append(values.data(), values.size(), &batch);
      for (auto& v : values) v = -v;
      b.append(values.data(), values.size(), &batch);
      if (started) batch.start();
    }
    batch.write("append rows");
  };
  const std::string plain = temp_file("batch_plain.h5"), started = temp_file("batch_started.h5");
  write(plain, false);
  write(started, true);
  int filters = -1;
  const auto a = read_all<std::int32_t>(started, "a", &filters);
  REQUIRE(a.size() == 5 * 3 * 256);
  CHECK(filters == 2);
  CHECK(a[3 * 256 + 1] == static_cast<std::int32_t>((7919 + 1) % 1000));
  CHECK(read_all<std::int32_t>(started, "b", &filters)[5] ==
        -static_cast<std::int32_t>(5 * 7919 % 1000));
  CHECK(bytes_of(started) == bytes_of(plain));
  std::filesystem::remove(plain);
  std::filesystem::remove(started);
}

TEST_CASE("Rows wider than a chunk are appended in column chunks that read back whole", "[unit]") {
  // A snapshot of every tie's weight: one row per snapshot, wider than 64k values.
  const std::size_t width = 65536 * 2 + 123;
  for (int compression : {0, 1}) {
    INFO("compression " << compression);
    const std::string path = temp_file("wide.h5");
    std::vector<float> expected;
    {
      h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      h5::Layout layout;
      layout.compression = compression;
      h5::AppendableDataset<float> d(file.get(), "weights", width, "", "test", layout);
      for (int row = 0; row < 3; ++row) {
        std::vector<float> values(width);
        for (std::size_t k = 0; k < width; ++k)
          values[k] = static_cast<float>((k * 31 + static_cast<std::size_t>(row)) % 1000) / 8.0f;
        d.append(values.data(), 1);
        expected.insert(expected.end(), values.begin(), values.end());
      }
      d.flush();
      h5::Handle dcpl(H5Dget_create_plist(d.id()));
      hsize_t chunk[2] = {0, 0};
      REQUIRE(H5Pget_chunk(dcpl.get(), 2, chunk) == 2);
      CHECK(chunk[0] == 1);
      CHECK(chunk[1] == 65536);
    }
    int filters = -1;
    CHECK(read_all<float>(path, "weights", &filters) == expected);
    std::filesystem::remove(path);
  }
}

TEST_CASE("An attribute set again takes the new value, with its own type or a new one", "[unit]") {
  const std::string path = temp_file("attributes.h5");
  {
    h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const hid_t root = file.get();
    h5::set_attribute<std::int32_t>(root, "steps_done", 0);
    h5::set_attribute<std::uint8_t>(root, "complete", 0);
    h5::set_attribute<std::int32_t>(root, "steps_done", 100);  // same type: overwritten
    h5::set_attribute<std::uint8_t>(root, "complete", 1);
    h5::set_attribute<std::int64_t>(root, "complete", 7);  // another type: replaced
  }
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  H5O_info_t info;
  REQUIRE(H5Oget_info2(file.get(), &info, H5O_INFO_NUM_ATTRS) >= 0);
  CHECK(info.num_attrs == 2);
  auto read = [&](const char* name, hid_t mem_type, auto value) {
    h5::Handle attr(H5Aopen(file.get(), name, H5P_DEFAULT));
    h5::Handle type(H5Aget_type(attr.get()));
    CHECK(H5Tequal(type.get(), mem_type) > 0);
    REQUIRE(H5Aread(attr.get(), mem_type, &value) >= 0);
    return value;
  };
  CHECK(read("steps_done", H5T_NATIVE_INT32, std::int32_t{0}) == 100);
  CHECK(read("complete", H5T_NATIVE_INT64, std::int64_t{0}) == 7);
  file.reset();
  std::filesystem::remove(path);
}
