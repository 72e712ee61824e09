#include "io/run_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

#include "citynet/version.hpp"
#include "core/error.hpp"
#include "io/binary.hpp"

namespace citynet::io {

using h5::Handle;

namespace {

std::string partial_name(const std::string& path) {
  return path + ".partial-" + std::to_string(::getpid());
}

// Files created ahead, by partial path: -1 until created (or when creating failed).
struct Ahead {
  bool done = false;
  hid_t file = -1;
};
std::mutex g_ahead_mutex;
std::condition_variable g_ahead_done;
std::map<std::string, Ahead> g_ahead;

hid_t create_partial(const std::string& partial) {
  h5::quiet_errors();
  return H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
}

// The file created ahead for `partial`, once it is; -1 if none was announced or it failed.
hid_t take_ahead(const std::string& partial) {
  std::unique_lock lock(g_ahead_mutex);
  auto it = g_ahead.find(partial);
  // Looked up again after each wake: discard_ahead may have dropped the entry meanwhile.
  g_ahead_done.wait(lock, [&] {
    it = g_ahead.find(partial);
    return it == g_ahead.end() || it->second.done;
  });
  if (it == g_ahead.end()) return -1;
  const hid_t f = it->second.file;
  g_ahead.erase(it);
  return f;
}

}  // namespace

void announce_ahead(const std::string& path) {
  std::lock_guard lock(g_ahead_mutex);
  g_ahead[partial_name(path)] = Ahead{};
}

void create_ahead(const std::string& path) {
  const std::string partial = partial_name(path);
  const hid_t f = create_partial(partial);
  if (f < 0) H5Eclear2(H5E_DEFAULT);  // its writer creates it again, and says why it cannot
  std::lock_guard lock(g_ahead_mutex);
  const auto it = g_ahead.find(partial);
  if (it == g_ahead.end()) {  // not announced: nobody would take it
    if (f >= 0) {
      H5Fclose(f);
      std::remove(partial.c_str());
    }
    return;
  }
  it->second = Ahead{true, f};
  g_ahead_done.notify_all();
}

void discard_ahead(const std::string& path) {
  const std::string partial = partial_name(path);
  hid_t f = -1;
  {
    std::lock_guard lock(g_ahead_mutex);
    const auto it = g_ahead.find(partial);
    if (it == g_ahead.end()) return;
    f = it->second.file;  // still being created: create_ahead finds no entry and removes it
    g_ahead.erase(it);
  }
  g_ahead_done.notify_all();
  if (f < 0) return;
  H5Fclose(f);
  std::remove(partial.c_str());
}

RunFileWriter::RunFileWriter(std::string path, const scenario::Scenario& scenario)
    : RunFileWriter(std::move(path), scenario, Unopened{}) {
  open();
}

RunFileWriter::RunFileWriter(std::string path, const scenario::Scenario& scenario, Unopened)
    : path_(std::move(path)), scenario_(scenario), write_events_(scenario.output.events) {
  layout_.compression = scenario.output.compression;
  // A run's last chunk of each such dataset is padded to its full length and filtered at the
  // end, on one thread per chunk: 1024 rows of 64 solutions' adopters for a run of 101 states
  // were half the time its file took to close.
  per_state_ = layout_;
  per_state_.chunk_rows = std::min(static_cast<std::size_t>(std::max(scenario.time.steps, 0)) + 1,
                                   h5::kAppendChunkRows);
  // Reserved, not touched: events wait here until they fill a chunk of each column.
  if (write_events_) pending_.reserve(2 * h5::kAppendChunkRows);
  partial_ = partial_name(path_);
}

// No HDF5 call before this one, which may run on another thread than the constructor: the
// constructing thread does not wait for the library to start.
void RunFileWriter::open() {
  h5::quiet_errors();
  hid_t f = take_ahead(partial_);
  if (f < 0) f = create_partial(partial_);
  if (f < 0)
    throw RunError("cannot create the output file " + partial_ +
                   " (check that its directory exists and is writable)");
  file_ = Handle(f);
}

RunFileWriter::~RunFileWriter() {
  if (finished_) return;
  // Unfinished: close everything and leave nothing that could pass for a result.
  close_datasets();
  file_.reset();
  std::remove(partial_.c_str());
}

void RunFileWriter::close_datasets() {
  time_ = {};
  adopters_ = {};
  ev_step_ = {};
  ev_city_ = {};
  ev_solution_ = {};
  ev_kind_ = {};
  ev_source_ = {};
  ev_layer_ = {};
  ev_mechanism_ = {};
  ev_variant_ = {};
  extra_series_.clear();
  snapshots_.clear();
  snapshot_step_ = {};
  snapshot_group_.reset();
}

void RunFileWriter::write_static(const Meta& meta, const model::CityTable& cities,
                                 const net::Network& network) {
  write_header(meta);
  write_cities(cities);
  write_network(network);
}

void RunFileWriter::write_header(const Meta& meta) {
  const hid_t root = file_.get();
  h5::set_string_attribute(root, "format", kRunFormat);
  h5::set_attribute<std::int32_t>(root, "format_version", kRunFormatVersion);
  h5::set_string_attribute(root, "citynet_version", kVersion);
  h5::set_string_attribute(root, "git_commit", kGitCommit);
  h5::set_string_attribute(root, "scenario_name", scenario_.name);
  h5::set_attribute<std::uint64_t>(root, "seed", meta.seed);
  h5::set_attribute<std::uint64_t>(root, "run_index", meta.run_index);
  volatile_metadata_ = meta.volatile_metadata;
  if (volatile_metadata_) h5::set_attribute<std::int32_t>(root, "threads", meta.threads);
  h5::set_string_attribute(root, "rng_scheme", kRngScheme);
  h5::set_attribute<std::int32_t>(root, "steps", scenario_.time.steps);
  h5::set_string_attribute(root, "time_unit", scenario_.time.unit);
  // Written again at the close; made here, with the header, so that the close only overwrites
  // them.
  h5::set_attribute<std::int32_t>(root, "steps_done", 0);
  if (volatile_metadata_) h5::set_attribute<double>(root, "wall_seconds", 0.0);
  h5::set_attribute<std::uint8_t>(root, "complete", 0);

  h5::write_scalar_string(root, "scenario", scenario_.resolved_yaml, "",
                          "The fully resolved scenario (defaults merged, overrides applied) as "
                          "YAML; running it again reproduces this file");

  Handle sg = h5::create_group(root, "solutions");
  std::vector<std::int32_t> ids;
  std::vector<std::string> names;
  for (std::size_t s = 0; s < scenario_.solutions.size(); ++s) {
    ids.push_back(static_cast<std::int32_t>(s));
    names.push_back(scenario_.solutions[s].name);
  }
  h5::write_array(sg.get(), "id", {ids.size()}, ids.data(), "",
                  "Solution index (column of /series/adopters)");
  h5::write_strings(sg.get(), "name", names, "", "Solution name", layout_);

  Handle series = h5::create_group(root, "series");
  time_ = h5::AppendableDataset<double>(series.get(), "time", 0, scenario_.time.unit,
                                        "Model time of each state: row 0 is the initial state, "
                                        "row k the state after k steps",
                                        per_state_);
  adopters_ = h5::AppendableDataset<std::int32_t>(
      series.get(), "adopters", scenario_.solutions.size(), "cities",
      "Cities with each solution adopted in each state [state, solution]", per_state_);

  if (write_events_) {
    Handle eg = h5::create_group(root, "events");
    std::vector<std::string> kinds(model::kEventKindNames.begin(), model::kEventKindNames.end());
    h5::set_string_array_attribute(eg.get(), "kind_names", kinds);
    ev_step_ = h5::AppendableDataset<std::int32_t>(
        eg.get(), "step", 0, "steps", "Index of the first state that shows the event", layout_);
    ev_city_ = h5::AppendableDataset<std::int32_t>(eg.get(), "city", 0, "",
                                                   "City index (row of /cities)", layout_);
    ev_solution_ = h5::AppendableDataset<std::int32_t>(
        eg.get(), "solution", 0, "", "Solution index (row of /solutions)", layout_);
    ev_kind_ = h5::AppendableDataset<std::int8_t>(
        eg.get(), "kind", 0, "", "Event kind code; the group attribute kind_names names each code",
        layout_);
    h5::set_string_array_attribute(ev_kind_.id(), "kind_names", kinds);
    ev_source_ = h5::AppendableDataset<std::int32_t>(
        eg.get(), "source", 0, "", "City index the solution came from, or -1 (seed, innovation)",
        layout_);
    ev_layer_ = h5::AppendableDataset<std::int32_t>(
        eg.get(), "layer", 0, "",
        "Index of the network layer the tie to the source belongs to (attribute layers of "
        "/network), or -1",
        layout_);
    ev_mechanism_ = h5::AppendableDataset<std::int8_t>(
        eg.get(), "mechanism", 0, "",
        "What weighed most in an adoption; the attribute mechanism_names names each code, -1 "
        "for none (seeds, drops)",
        layout_);
    std::vector<std::string> mechanisms(model::kMechanismNames.begin(),
                                        model::kMechanismNames.end());
    h5::set_string_array_attribute(ev_mechanism_.id(), "mechanism_names", mechanisms);
    ev_variant_ = h5::AppendableDataset<std::int32_t>(
        eg.get(), "variant", 0, "", "Variant adopted or created (row of /variants), or -1",
        layout_);
  }
}

void RunFileWriter::write_cities(const model::CityTable& cities) {
  Handle g = h5::create_group(file_.get(), "cities");
  const hsize_t n = static_cast<hsize_t>(cities.size());
  h5::write_array(g.get(), "id", {n}, cities.id.data(), "",
                  "External city id (GeoNames id for real data, row number for synthetic cities)",
                  layout_);
  h5::write_strings(g.get(), "name", cities.name, "", "City name", layout_);
  h5::write_strings(g.get(), "country", cities.country, "", "Country code (ISO 3166-1 alpha-2)",
                    layout_);
  h5::write_array(g.get(), "latitude", {n}, cities.latitude.data(), "degrees", "Latitude (WGS84)",
                  layout_);
  h5::write_array(g.get(), "longitude", {n}, cities.longitude.data(), "degrees",
                  "Longitude (WGS84)", layout_);
  h5::write_array(g.get(), "population", {n}, cities.population.data(), "people", "Population",
                  layout_);
}

void RunFileWriter::flush() {
  h5::check_status(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), "flush the output file " + partial_);
}

void RunFileWriter::write_network(const net::Network& network) {
  const hid_t root = file_.get();
  if (scenario_.output.network) {
    Handle ng = h5::create_group(root, "network");
    std::vector<std::string> layer_names;
    for (const auto& layer : network.layers) layer_names.push_back(layer.name);
    h5::set_string_array_attribute(ng.get(), "layers", layer_names);
    for (std::size_t l = 0; l < network.layers.size(); ++l) {
      const auto& layer = network.layers[l];
      Handle lg = h5::create_group(ng.get(), layer.name);
      h5::set_attribute<std::int32_t>(lg.get(), "index", static_cast<std::int32_t>(l));
      h5::set_attribute<std::uint8_t>(lg.get(), "complete", layer.complete ? 1 : 0);
      h5::set_attribute<double>(lg.get(), "influence", layer.influence);
      const auto& offsets = layer.offsets;
      h5::write_array(lg.get(), "offsets", {offsets.size()}, offsets.data(), "ties",
                      "CSR row offsets: the ties of city c are targets[offsets[c]:offsets[c+1]] "
                      "(empty for a complete layer, which ties every pair)",
                      layout_);
      h5::write_array(lg.get(), "targets", {layer.targets.size()}, layer.targets.data(), "",
                      "CSR column indices: the city index at the other end of each tie", layout_);
      h5::write_array(lg.get(), "weights", {layer.weights.size()}, layer.weights.data(), "",
                      "Tie weight", layout_);
    }
  }
}

namespace {
enum JournalRecord : std::uint8_t {
  kJournalEvents = 1,
  kJournalState = 2,
  kJournalSeries = 3,
  kJournalSnapshot = 4,
  kJournalMark = 5,
};
}  // namespace

void RunFileWriter::replay_journal(std::istream& journal, std::uint64_t end,
                                   const std::string& name) {
  BinaryIn in(journal, name);
  std::ostream* keep = journal_;
  journal_ = nullptr;  // the records are in the journal already
  while (static_cast<std::uint64_t>(journal.tellg()) < end) {
    std::uint8_t type = 0;
    in.get(type);
    switch (type) {
      case kJournalEvents: {
        std::vector<model::Event> events;
        in.get(events);
        append_events(events);
        break;
      }
      case kJournalState: {
        double time = 0;
        std::vector<std::int32_t> adopters;
        in.get(time);
        in.get(adopters);
        append_state(time, adopters);
        break;
      }
      case kJournalSeries: {
        std::int32_t id = 0;
        std::vector<double> row;
        in.get(id);
        in.get(row);
        append_series(id, row);
        break;
      }
      case kJournalSnapshot: {
        std::int32_t id = 0;
        std::vector<float> row;
        in.get(id);
        in.get(row);
        append_snapshot(id, row);
        break;
      }
      case kJournalMark: {
        Step step = 0;
        in.get(step);
        mark_snapshot(step);
        break;
      }
      default:
        in.fail();
    }
  }
  journal_ = keep;
}

void RunFileWriter::defer() {
  if (journal_) throw std::logic_error("a writer with a checkpoint journal cannot defer");
  deferred_ = true;
}

void RunFileWriter::resume() {
  if (!deferred_) return;
  deferred_ = false;
  for (const auto& d : declared_) {
    if (d.snapshot)
      create_snapshot(d.name, d.width, d.units, d.description);
    else
      create_series(d.name, d.width, d.units, d.description);
  }
  declared_.clear();
  const auto end = static_cast<std::uint64_t>(kept_.tellp());
  kept_.seekg(0);
  replay_journal(kept_, end, "the rows kept while the file was being opened");
  kept_ = std::stringstream();
}

void RunFileWriter::append_state(double time, const std::vector<std::int32_t>& adopters) {
  if (std::ostream* log = record_to()) {
    BinaryOut out(*log);
    out.put(std::uint8_t{kJournalState});
    out.put(time);
    out.put(adopters);
    if (deferred_) return;
  }
  time_.append(&time, 1);
  adopters_.append(adopters.data(), 1);
  ++steps_written_;
}

void RunFileWriter::append_events(const std::vector<model::Event>& events) {
  if (!write_events_) return;
  if (std::ostream* log = record_to()) {
    BinaryOut out(*log);
    out.put(std::uint8_t{kJournalEvents});
    out.put(events);
    if (deferred_) return;
  }
  pending_.insert(pending_.end(), events.begin(), events.end());
  // Whole chunks of the columns go out as soon as there are some: filtered while the next steps
  // run, and written when the next ones are ready or the file is finished. Filtered at the end,
  // 64 solutions' 12,882 events on 10^4 cities were half of what closing their file took.
  if (pending_.size() >= ev_step_.chunk_rows()) {
    events_out_.write("append rows");
    flush_events(events_out_, true);
    events_out_.start();
  }
}

void RunFileWriter::flush_events(h5::ChunkBatch& out, bool whole_chunks) {
  const std::size_t chunk = ev_step_.chunk_rows();
  const std::size_t n = whole_chunks ? pending_.size() - pending_.size() % chunk : pending_.size();
  if (n == 0) return;
  // The columns' chunks are filtered together: eight columns, each a chunk or two at a run's end.
  std::vector<std::int32_t> col(n);
  std::vector<std::int8_t> kind(n);
  auto put = [&](h5::AppendableDataset<std::int32_t>& d, auto field) {
    for (std::size_t i = 0; i < n; ++i) col[i] = field(pending_[i]);
    d.append(col.data(), n, &out);
  };
  put(ev_step_, [](const model::Event& e) { return e.step; });
  put(ev_city_, [](const model::Event& e) { return e.city; });
  put(ev_solution_, [](const model::Event& e) { return e.solution; });
  put(ev_source_, [](const model::Event& e) { return e.source; });
  put(ev_layer_, [](const model::Event& e) { return e.layer; });
  put(ev_variant_, [](const model::Event& e) { return e.variant; });
  for (std::size_t i = 0; i < n; ++i) kind[i] = static_cast<std::int8_t>(pending_[i].kind);
  ev_kind_.append(kind.data(), n, &out);
  for (std::size_t i = 0; i < n; ++i) kind[i] = static_cast<std::int8_t>(pending_[i].mechanism);
  ev_mechanism_.append(kind.data(), n, &out);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
}

// Numbered in the order declared, deferred or not: resume() creates them in that order.
int RunFileWriter::declare(bool snapshot, const std::string& name, std::size_t width,
                           const std::string& units, const std::string& description) {
  if (!deferred_)
    return snapshot ? create_snapshot(name, width, units, description)
                    : create_series(name, width, units, description);
  // The number it will have: those made before deferring, then those declared since.
  const auto made = snapshot ? snapshots_.size() : extra_series_.size();
  const auto waiting = std::count_if(declared_.begin(), declared_.end(),
                                     [&](const Declared& d) { return d.snapshot == snapshot; });
  declared_.push_back({snapshot, name, width, units, description});
  return static_cast<int>(made) + static_cast<int>(waiting);
}

int RunFileWriter::add_series(const std::string& name, std::size_t width, const std::string& units,
                              const std::string& description) {
  return declare(false, name, width, units, description);
}

int RunFileWriter::create_series(const std::string& name, std::size_t width,
                                 const std::string& units, const std::string& description) {
  h5::Handle series(h5::check(H5Gopen2(file_.get(), "/series", H5P_DEFAULT), "open group /series"));
  extra_series_.emplace_back(series.get(), name, width, units, description, per_state_);
  return static_cast<int>(extra_series_.size()) - 1;
}

void RunFileWriter::append_series(int id, const std::vector<double>& row) {
  if (std::ostream* log = record_to()) {
    BinaryOut out(*log);
    out.put(std::uint8_t{kJournalSeries});
    out.put(static_cast<std::int32_t>(id));
    out.put(row);
    if (deferred_) return;
  }
  extra_series_.at(static_cast<std::size_t>(id)).append(row.data(), 1);
}

int RunFileWriter::add_snapshot(const std::string& name, std::size_t width,
                                const std::string& units, const std::string& description) {
  return declare(true, name, width, units, description);
}

int RunFileWriter::create_snapshot(const std::string& name, std::size_t width,
                                   const std::string& units, const std::string& description) {
  if (!snapshot_group_.valid()) {
    snapshot_group_ = h5::create_group(file_.get(), "snapshots");
    snapshot_step_ = h5::AppendableDataset<std::int32_t>(
        snapshot_group_.get(), "step", 0, "steps", "State index of each snapshot row", per_state_);
  }
  snapshots_.emplace_back(snapshot_group_.get(), name, std::max<std::size_t>(width, 1), units,
                          description, per_state_);
  return static_cast<int>(snapshots_.size()) - 1;
}

void RunFileWriter::append_snapshot(int id, const std::vector<float>& row) {
  if (std::ostream* log = record_to()) {
    BinaryOut out(*log);
    out.put(std::uint8_t{kJournalSnapshot});
    out.put(static_cast<std::int32_t>(id));
    out.put(row);
    if (deferred_) return;
  }
  auto& d = snapshots_.at(static_cast<std::size_t>(id));
  if (row.empty()) {
    const float zero = 0.0f;
    d.append(&zero, 1);
  } else {
    d.append(row.data(), 1);
  }
}

void RunFileWriter::mark_snapshot(Step step) {
  if (std::ostream* log = record_to()) {
    BinaryOut out(*log);
    out.put(std::uint8_t{kJournalMark});
    out.put(step);
    if (deferred_) return;
  }
  snapshot_step_.append(&step, 1);
}

void RunFileWriter::write_variants(const std::vector<model::VariantRow>& variants) {
  Handle g = h5::create_group(file_.get(), "variants");
  const std::size_t n = variants.size();
  std::vector<std::int32_t> id(n), solution(n), parent(n), creator(n), step(n);
  std::vector<float> completeness(n), design(n * scenario::kContextDims);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = variants[i];
    id[i] = v.id;
    solution[i] = v.solution;
    parent[i] = v.parent;
    creator[i] = v.creator;
    step[i] = v.step;
    completeness[i] = v.completeness;
    for (int d = 0; d < scenario::kContextDims; ++d)
      design[i * scenario::kContextDims + d] = v.design[d];
  }
  const hsize_t rows = n;
  h5::write_array(g.get(), "id", {rows}, id.data(), "", "Variant index", layout_);
  h5::write_array(g.get(), "solution", {rows}, solution.data(), "", "Solution of the variant",
                  layout_);
  h5::write_array(g.get(), "parent", {rows}, parent.data(), "",
                  "Variant it was adapted from, or -1 for a solution's base design", layout_);
  h5::write_array(g.get(), "creator", {rows}, creator.data(), "",
                  "City that created it, or -1 for a base design", layout_);
  h5::write_array(g.get(), "step", {rows}, step.data(), "steps", "State in which it was created",
                  layout_);
  h5::write_array(g.get(), "completeness", {rows}, completeness.data(), "share",
                  "Share of the design's features in place (partial adoption below 1)", layout_);
  h5::write_array(g.get(), "design", {rows, static_cast<hsize_t>(scenario::kContextDims)},
                  design.data(), "",
                  "Context the variant is designed for: scaled log population, climate "
                  "(|latitude| / 60), income group",
                  layout_);
}

void RunFileWriter::write_national(const std::vector<model::NationalEvent>& events,
                                   const std::vector<std::string>& country_codes) {
  Handle g = h5::create_group(file_.get(), "national");
  const std::size_t n = events.size();
  std::vector<std::string> country(n);
  std::vector<std::int32_t> solution(n), step(n);
  std::vector<std::int8_t> form(n);
  for (std::size_t i = 0; i < n; ++i) {
    country[i] = country_codes.at(static_cast<std::size_t>(events[i].country));
    solution[i] = events[i].solution;
    step[i] = events[i].step;
    form[i] = static_cast<std::int8_t>(events[i].form);
  }
  h5::write_strings(g.get(), "country", country, "", "Country code of the national government",
                    layout_);
  const hsize_t rows = n;
  h5::write_array(g.get(), "solution", {rows}, solution.data(), "", "Solution adopted nationally",
                  layout_);
  h5::write_array(g.get(), "step", {rows}, step.data(), "steps",
                  "State in which the national policy took effect", layout_);
  h5::write_array(g.get(), "form", {rows}, form.data(), "",
                  "0 = mandate (cities must adopt within the compliance lag), 1 = subsidy "
                  "(the nation pays part of the cost)",
                  layout_);
  h5::set_string_array_attribute(g.get(), "form_names", {"mandate", "subsidy"});
}

void RunFileWriter::write_column(const std::string& path, const std::vector<double>& values,
                                 const std::string& units, const std::string& description) {
  const auto slash = path.rfind('/');
  const std::string group = path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  Handle g(h5::check(H5Gopen2(file_.get(), group.c_str(), H5P_DEFAULT), "open group " + group));
  h5::write_array(g.get(), name, {values.size()}, values.data(), units, description, layout_);
}

void RunFileWriter::finish(double wall_seconds, bool complete) {
  // The datasets close_datasets() closes, their last rows written first, all filtered together.
  events_out_.write("append rows");
  h5::ChunkBatch last;
  if (write_events_) flush_events(last, false);
  auto flush = [&](auto&... datasets) { (datasets.flush(&last), ...); };
  flush(time_, adopters_, ev_step_, ev_city_, ev_solution_, ev_kind_, ev_source_, ev_layer_,
        ev_mechanism_, ev_variant_, snapshot_step_);
  for (auto& d : extra_series_) d.flush(&last);
  for (auto& d : snapshots_) d.flush(&last);
  last.write("append rows");
  const hid_t root = file_.get();
  h5::set_attribute<std::int32_t>(root, "steps_done", steps_written_);
  if (volatile_metadata_) h5::set_attribute<double>(root, "wall_seconds", wall_seconds);
  h5::set_attribute<std::uint8_t>(root, "complete", complete ? 1 : 0);
  close_datasets();
  h5::check_status(H5Fflush(root, H5F_SCOPE_GLOBAL), "flush the output file " + partial_);
  h5::check_status(H5Fclose(file_.release()), "close the output file " + partial_);
  // Renaming over an existing file makes ext4 (auto_da_alloc) write the new one out before
  // rename returns, 0.4 ms per MB here: a run repeated under the same name unlinks the old file
  // first. Nothing is under the name for the moment between the two calls. A directory there is
  // left alone, and rename reports it.
  ::unlink(path_.c_str());
  std::error_code ec;
  std::filesystem::rename(partial_, path_, ec);
  if (ec) {
    std::remove(partial_.c_str());
    throw RunError("cannot move the finished output to " + path_ + ": " + ec.message());
  }
  finished_ = true;
}

}  // namespace citynet::io
