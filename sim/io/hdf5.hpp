#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace citynet::io::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
};

// Throws RunError naming `what` when an HDF5 call failed (negative id or status).
hid_t check(hid_t id, const std::string& what);
void check_status(herr_t status, const std::string& what);

// Silences HDF5's own error stack printing; our errors say what failed.
void quiet_errors();

// Starts the HDF5 library: 1.4 M instructions and ~100 page faults that a run's writer would
// otherwise pay when a small run can least afford them (app::RunStart calls it on a thread of
// its own while the scenario is read). HDF5 calls made meanwhile wait for it (the library takes
// one lock for every call). A failure here shows again, with its message, at the first real call.
void start_library();

template <class T>
hid_t native_type();

// Dataset creation settings shared by every dataset we write: chunking and deflate for large
// ones, and no object modification times so identical runs give identical bytes.
struct Layout {
  int compression = 1;
  std::size_t chunk_rows = 0;  // rows per chunk of an AppendableDataset; 0: kAppendChunkRows
};
inline constexpr std::size_t kAppendChunkRows = 4096;

void set_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void set_string_array_attribute(hid_t obj, const std::string& name,
                                const std::vector<std::string>& values);
template <class T>
void set_attribute(hid_t obj, const std::string& name, T value);

Handle create_group(hid_t parent, const std::string& name);

// A fixed-size dataset written at once; `dims` has one or two entries.
template <class T>
void write_array(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                 const T* data, const std::string& units, const std::string& description,
                 const Layout& layout = {});
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values,
                   const std::string& units, const std::string& description,
                   const Layout& layout = {});
void write_scalar_string(hid_t parent, const std::string& name, const std::string& value,
                         const std::string& units, const std::string& description);

// Chunks of several datasets, filtered in parallel and written in the order they were added. The
// last rows of a run are a chunk or two in each of a dozen datasets: filtered one dataset after
// another they kept one thread busy while the others waited. Whatever a chunk is made from must
// stay as it is until write(); keep() holds it until then.
class ChunkBatch {
 public:
  using Filter = std::function<std::vector<unsigned char>()>;
  ChunkBatch();
  ~ChunkBatch();
  ChunkBatch(const ChunkBatch&) = delete;
  ChunkBatch& operator=(const ChunkBatch&) = delete;
  void add(hid_t dset, hsize_t row, hsize_t column, Filter filter) {
    chunks_.push_back({dset, {row, column}, std::move(filter)});
  }
  template <class T>
  const std::vector<T>& keep(std::vector<T>&& values) {
    auto held = std::make_shared<const std::vector<T>>(std::move(values));
    const std::vector<T>& ref = *held;
    kept_.push_back(std::move(held));
    return ref;
  }
  // Filters the chunks added so far on the run's threads while the caller goes on; nothing may
  // be added until write(). A batch dropped unwritten waits for its filters.
  void start();
  // Throws RunError naming `what` if HDF5 refuses a chunk (or a filter fails); empties the batch
  // either way.
  void write(const std::string& what);

 private:
  struct Chunk {
    hid_t dset;
    hsize_t offset[2];
    Filter filter;
  };
  std::vector<Chunk> chunks_;
  std::vector<std::shared_ptr<const void>> kept_;
  std::vector<std::vector<unsigned char>> filtered_;  // by start()
  struct Started;
  std::unique_ptr<Started> started_;
};

// A dataset that grows along its first dimension as a run goes: rows of `width` values (width 0
// means a 1-D dataset), chunked and compressed, never held whole in memory. Rows wait in memory
// until they fill a chunk, as one HDF5 write a step cost more than the steps of fast rules;
// flush() writes the rest, and a dataset closed without it drops them.
template <class T>
class AppendableDataset {
 public:
  AppendableDataset() = default;
  AppendableDataset(hid_t parent, const std::string& name, std::size_t width,
                    const std::string& units, const std::string& description, const Layout& layout);
  // With a batch, the chunks these rows complete are filtered and written with the batch's.
  void append(const T* rows, std::size_t count, ChunkBatch* batch = nullptr);
  void append(const std::vector<T>& rows) {
    append(rows.data(), rows.size() / std::max<std::size_t>(width_, 1));
  }
  void flush(ChunkBatch* batch = nullptr);
  hid_t id() const { return dset_.get(); }
  std::size_t chunk_rows() const { return chunk_rows_; }
  std::size_t rows() const { return rows_ + pending_.size() / std::max<std::size_t>(width_, 1); }

 private:
  void write(const T* rows, std::size_t count, ChunkBatch* batch);

  Handle dset_;
  std::size_t width_ = 0;
  std::size_t rows_ = 0;  // written to the file
  static constexpr hsize_t kMaxChunkColumns = 65536;
  std::size_t chunk_rows_ = 1;
  std::size_t chunk_columns_ = 1;
  int level_ = 0;  // deflate level of the dataset's filters, 0 for none
  std::vector<T> pending_;
};

}  // namespace citynet::io::h5
