#include <filesystem>

#include "core/error.hpp"
#include "io/run_file.hpp"

namespace citynet::io {

using h5::Handle;

namespace {

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(Location{path_, 0, 0}, "", what);
  }

  bool has_attribute(hid_t obj, const char* name) const { return H5Aexists(obj, name) > 0; }

  std::string string_attribute(hid_t obj, const char* name) const {
    if (!has_attribute(obj, name)) fail(std::string("missing attribute '") + name + "'");
    Handle attr(H5Aopen(obj, name, H5P_DEFAULT));
    Handle type(H5Aget_type(attr.get()));
    if (H5Tget_class(type.get()) != H5T_STRING)
      fail(std::string("attribute '") + name + "' is not text");
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5T_CSET_UTF8);
    char* p = nullptr;
    if (H5Tis_variable_str(type.get()) <= 0)
      fail(std::string("attribute '") + name + "' is not a variable-length string");
    if (H5Aread(attr.get(), mem.get(), &p) < 0 || !p)
      fail(std::string("cannot read attribute '") + name + "'");
    std::string out(p);
    H5free_memory(p);
    return out;
  }

  template <class T>
  T number_attribute(hid_t obj, const char* name, hid_t type) const {
    if (!has_attribute(obj, name)) fail(std::string("missing attribute '") + name + "'");
    Handle attr(H5Aopen(obj, name, H5P_DEFAULT));
    T v{};
    if (H5Aread(attr.get(), type, &v) < 0)
      fail(std::string("cannot read attribute '") + name + "'");
    return v;
  }

  Handle open_dataset(hid_t file, const std::string& name, std::vector<hsize_t>& dims) const {
    if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
      // Check parents first: H5Lexists fails on a path whose group is missing.
      fail("missing dataset " + name);
    }
    Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
    if (!d.valid()) fail("cannot open dataset " + name);
    Handle space(H5Dget_space(d.get()));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("cannot read the shape of " + name);
    dims.assign(static_cast<std::size_t>(rank), 0);
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return d;
  }

  bool exists(hid_t file, const std::string& path) const {
    // Walk the path one link at a time: H5Lexists errors when an intermediate group is missing.
    std::string sofar;
    std::size_t pos = 1;
    while (pos <= path.size()) {
      const std::size_t next = path.find('/', pos);
      sofar = path.substr(0, next == std::string::npos ? path.size() : next);
      if (H5Lexists(file, sofar.c_str(), H5P_DEFAULT) <= 0) return false;
      if (next == std::string::npos) break;
      pos = next + 1;
    }
    return true;
  }

  std::vector<std::string> strings(hid_t file, const std::string& name) const {
    if (!exists(file, name)) fail("missing dataset " + name);
    std::vector<hsize_t> dims;
    Handle d = open_dataset(file, name, dims);
    if (dims.size() != 1) fail(name + " is not a 1-D dataset");
    Handle stored(H5Dget_type(d.get()));
    if (H5Tget_class(stored.get()) != H5T_STRING) fail(name + " does not hold text");
    std::vector<std::string> out;
    if (H5Tis_variable_str(stored.get()) <= 0) {
      // Fixed-length text, padded with NULs (or spaces, in files written elsewhere).
      const std::size_t width = H5Tget_size(stored.get());
      Handle mem(H5Tcopy(H5T_C_S1));
      H5Tset_size(mem.get(), width);
      H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
      H5Tset_cset(mem.get(), H5Tget_cset(stored.get()));
      std::vector<char> text(dims[0] * width);
      if (dims[0] > 0 &&
          H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()) < 0)
        fail("cannot read " + name);
      for (std::size_t i = 0; i < dims[0]; ++i) {
        std::string v(text.data() + i * width, width);
        v.erase(v.find_last_not_of(std::string("\0 ", 2)) + 1);
        out.push_back(std::move(v));
      }
      return out;
    }
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5T_CSET_UTF8);
    std::vector<char*> ptrs(dims[0], nullptr);
    if (dims[0] > 0 && H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      fail("cannot read " + name);
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      if (p) H5free_memory(p);
    }
    return out;
  }

  template <class T>
  std::vector<T> numbers(hid_t file, const std::string& name, hid_t type,
                         std::vector<hsize_t>& dims) const {
    if (!exists(file, name)) fail("missing dataset " + name);
    Handle d = open_dataset(file, name, dims);
    std::size_t total = 1;
    for (auto x : dims) total *= x;
    std::vector<T> out(total);
    if (total > 0 && H5Dread(d.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
      fail("cannot read " + name + " (the file may be truncated)");
    return out;
  }

  std::int64_t length(hid_t file, const std::string& name) const {
    if (!exists(file, name)) fail("missing dataset " + name);
    std::vector<hsize_t> dims;
    open_dataset(file, name, dims);
    return dims.empty() ? 0 : static_cast<std::int64_t>(dims[0]);
  }

 private:
  std::string path_;
};

}  // namespace

RunFileInfo read_run_info(const std::string& path) {
  h5::quiet_errors();
  Reader r(path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) r.fail("no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) r.fail("not an HDF5 file (or a truncated one)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) r.fail("cannot open as HDF5 (the file may be truncated or damaged)");
  const hid_t f = file.get();

  RunFileInfo info;
  info.path = path;
  if (!r.has_attribute(f, "format")) r.fail("not a citynet run file (no 'format' attribute)");
  info.format = r.string_attribute(f, "format");
  if (info.format != kRunFormat)
    r.fail("not a citynet run file (format is '" + info.format + "', expected '" + kRunFormat +
           "')");
  info.format_version = r.number_attribute<std::int32_t>(f, "format_version", H5T_NATIVE_INT32);
  if (info.format_version > kRunFormatVersion)
    r.fail("format_version " + std::to_string(info.format_version) +
           " is newer than this citynet reads (" + std::to_string(kRunFormatVersion) +
           "); use a newer citynet");
  info.citynet_version = r.string_attribute(f, "citynet_version");
  info.git_commit = r.string_attribute(f, "git_commit");
  info.scenario_name = r.string_attribute(f, "scenario_name");
  info.seed = r.number_attribute<std::uint64_t>(f, "seed", H5T_NATIVE_UINT64);
  if (r.has_attribute(f, "threads"))
    info.threads = r.number_attribute<std::int32_t>(f, "threads", H5T_NATIVE_INT32);
  info.steps = r.number_attribute<std::int32_t>(f, "steps", H5T_NATIVE_INT32);
  info.complete = r.number_attribute<std::uint8_t>(f, "complete", H5T_NATIVE_UINT8) != 0;
  if (r.has_attribute(f, "wall_seconds"))
    info.wall_seconds = r.number_attribute<double>(f, "wall_seconds", H5T_NATIVE_DOUBLE);

  info.cities = r.length(f, "/cities/id");
  info.solutions = r.strings(f, "/solutions/name");
  if (r.exists(f, "/network")) {
    Handle ng(H5Gopen2(f, "/network", H5P_DEFAULT));
    if (r.has_attribute(ng.get(), "layers")) {
      Handle attr(H5Aopen(ng.get(), "layers", H5P_DEFAULT));
      Handle space(H5Aget_space(attr.get()));
      hsize_t n = 0;
      H5Sget_simple_extent_dims(space.get(), &n, nullptr);
      Handle mem(H5Tcopy(H5T_C_S1));
      H5Tset_size(mem.get(), H5T_VARIABLE);
      std::vector<char*> ptrs(n, nullptr);
      if (n > 0 && H5Aread(attr.get(), mem.get(), ptrs.data()) >= 0) {
        for (char* p : ptrs) {
          info.layers.emplace_back(p ? p : "");
          if (p) H5free_memory(p);
        }
      }
    }
  }
  for (const auto& l : info.layers)
    info.layer_ties.push_back(r.length(f, "/network/" + l + "/targets"));
  std::vector<hsize_t> dims;
  const auto adopters = r.numbers<std::int32_t>(f, "/series/adopters", H5T_NATIVE_INT32, dims);
  const auto time = r.numbers<double>(f, "/series/time", H5T_NATIVE_DOUBLE, dims);
  const std::size_t s = info.solutions.size();
  if (!time.empty()) info.final_time = time.back();
  if (s > 0 && adopters.size() >= s)
    info.final_adopters.assign(adopters.end() - static_cast<std::ptrdiff_t>(s), adopters.end());
  if (r.exists(f, "/events/step")) info.events = r.length(f, "/events/step");
  return info;
}

}  // namespace citynet::io
