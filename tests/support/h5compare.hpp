#pragma once

#include <hdf5.h>

#include <map>
#include <string>
#include <vector>

namespace citynet::testing {

// Every dataset of an HDF5 file as raw bytes in its native layout, by path. Variable-length
// strings are read as text. Used to compare two run files dataset by dataset.
inline std::map<std::string, std::string> read_all_datasets(const std::string& path) {
  std::map<std::string, std::string> out;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return out;
  struct Ctx {
    hid_t file;
    std::map<std::string, std::string>* out;
  } ctx{file, &out};
  auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* c = static_cast<Ctx*>(data);
    if (info->type != H5O_TYPE_DATASET) return 0;
    const hid_t d = H5Dopen2(c->file, name, H5P_DEFAULT);
    const hid_t type = H5Dget_type(d);
    const hid_t space = H5Dget_space(d);
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::string bytes;
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
      std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
      H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
      for (char* p : ptrs) {
        bytes += p ? p : "";
        bytes += '\0';
      }
      H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
    } else {
      const hid_t native = H5Tget_native_type(type, H5T_DIR_ASCEND);
      bytes.resize(static_cast<std::size_t>(n) * H5Tget_size(native));
      if (n > 0) H5Dread(d, native, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
      H5Tclose(native);
    }
    (*c->out)[std::string("/") + name] = std::move(bytes);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    return 0;
  };
  H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit, &ctx, H5O_INFO_BASIC);
  H5Fclose(file);
  return out;
}

}  // namespace citynet::testing
