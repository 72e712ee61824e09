#include <tbb/global_control.h>
#include <catch2/catch.hpp>

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

template <class T>
std::vector<T> read_all(const std::string& path, const std::string& name, int* filters) {
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Handle dset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  h5::Handle space(H5Dget_space(dset.get()));
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  std::vector<T> out(n);
  REQUIRE(H5Dread(dset.get(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >=
          0);
  h5::Handle dcpl(H5Dget_create_plist(dset.get()));
  *filters = H5Pget_nfilters(dcpl.get());
  return out;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<std::int32_t>& ints,
                const std::vector<double>& table, int compression) {
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  h5::Layout layout;
  layout.compression = compression;
  h5::write_array(file.get(), "ints", {ints.size()}, ints.data(), "", "test", layout);
  h5::write_array(file.get(), "table", {table.size() / 3, 3}, table.data(), "", "test", layout);
}

}  // namespace

TEST_CASE("Large arrays are written in compressed chunks that read back exactly", "[unit]") {
  // Several batches of chunks and a partial last chunk, in one and two dimensions.
  std::vector<std::int32_t> ints(65536 * 70 + 12345);
  for (std::size_t i = 0; i < ints.size(); ++i)
    ints[i] = static_cast<std::int32_t>((i * 2654435761u) % 1000003) - 500000;
  std::vector<double> table(3 * 70001);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = 0.5 * static_cast<double>(i % 977);

  for (int compression : {0, 1, 4}) {
    INFO("compression " << compression);
    const std::string path = temp_file(std::to_string(compression) + ".h5");
    write_file(path, ints, table, compression);
    int filters = -1;
    CHECK(read_all<std::int32_t>(path, "ints", &filters) == ints);
    CHECK(filters == (compression > 0 ? 2 : 0));  // shuffle and deflate
    CHECK(read_all<double>(path, "table", &filters) == table);
    std::filesystem::remove(path);
  }
}

TEST_CASE("Compressed arrays are the same bytes for any thread count", "[unit]") {
  std::vector<std::int32_t> ints(65536 * 5 + 7);
  for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<std::int32_t>(i % 4093);
  const std::vector<double> table(3 * 30000, 1.25);
  std::string one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    write_file(temp_file("t1.h5"), ints, table, 4);
    one = bytes_of(temp_file("t1.h5"));
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    write_file(temp_file("t2.h5"), ints, table, 4);
    two = bytes_of(temp_file("t2.h5"));
  }
  CHECK(!one.empty());
  CHECK(one == two);
  std::filesystem::remove(temp_file("t1.h5"));
  std::filesystem::remove(temp_file("t2.h5"));
}
