#include "sweep/index.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "citynet/version.hpp"
#include "io/hdf5.hpp"
#include "model/events.hpp"

namespace citynet::sweep {
namespace {

namespace fs = std::filesystem;
using io::h5::Handle;

bool has_link(hid_t file, const char* path) {
  // Checks each step of the path, as H5Lexists requires.
  std::string p;
  for (const char* c = path + 1;; ++c) {
    if (*c == '/' || *c == '\0') {
      if (H5Lexists(file, ("/" + p).c_str(), H5P_DEFAULT) <= 0) return false;
      if (*c == '\0') return true;
    }
    p += *c;
  }
}

template <class T>
std::vector<T> read_dataset(hid_t file, const char* name, std::vector<hsize_t>* dims_out,
                            const std::string& path) {
  Handle d(io::h5::check(H5Dopen2(file, name, H5P_DEFAULT),
                         "open " + std::string(name) + " in " + path));
  Handle space(io::h5::check(H5Dget_space(d.get()), "read the shape of " + std::string(name)));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  hsize_t n = 1;
  for (auto x : dims) n *= x;
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0)
    io::h5::check_status(
        H5Dread(d.get(), io::h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
        "read " + std::string(name) + " in " + path);
  if (dims_out) *dims_out = dims;
  return out;
}

std::int64_t dataset_rows(hid_t file, const char* name, const std::string& path) {
  Handle d(io::h5::check(H5Dopen2(file, name, H5P_DEFAULT),
                         "open " + std::string(name) + " in " + path));
  Handle space(io::h5::check(H5Dget_space(d.get()), "read the shape of " + std::string(name)));
  hsize_t dims[8] = {};
  if (H5Sget_simple_extent_ndims(space.get()) < 1) return 0;
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<std::int64_t>(dims[0]);
}

// HDF5 names may not hold '/'; everything else in a solution or layer name is kept.
std::string column_name(const std::string& prefix, const std::string& name) {
  std::string n = name;
  for (char& c : n)
    if (c == '/') c = '_';
  return prefix + "." + n;
}

double parse_double(const std::string& t) {
  double x = std::numeric_limits<double>::quiet_NaN();
  std::from_chars(t.data(), t.data() + t.size(), x);
  return x;
}

class Columns {
 public:
  Columns(hid_t group, std::size_t rows) : group_(group), rows_(rows) {}

  template <class T>
  void add(const std::string& name, const std::vector<T>& values, const std::string& units,
           const std::string& description) {
    io::h5::write_array(group_, name, {rows_}, values.data(), units, description);
    names_.push_back(name);
  }
  void add_strings(const std::string& name, const std::vector<std::string>& values,
                   const std::string& description) {
    io::h5::write_strings(group_, name, values, "", description);
    names_.push_back(name);
  }
  const std::vector<std::string>& names() const { return names_; }

 private:
  hid_t group_;
  hsize_t rows_;
  std::vector<std::string> names_;
};

}  // namespace

RunSummary summarize_run_file(const std::string& path, std::size_t solutions, std::size_t layers) {
  io::h5::quiet_errors();
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) throw RunError("cannot open the run file " + path);
  RunSummary s;
  s.cities = dataset_rows(file.get(), "/cities/id", path);
  std::vector<hsize_t> dims;
  const auto time = read_dataset<double>(file.get(), "/series/time", nullptr, path);
  const auto adopters = read_dataset<std::int32_t>(file.get(), "/series/adopters", &dims, path);
  const std::size_t states = dims.empty() ? 0 : static_cast<std::size_t>(dims[0]);
  const std::size_t width = dims.size() < 2 ? 0 : static_cast<std::size_t>(dims[1]);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.final_adopters.assign(solutions, 0);
  s.time_to_10.assign(solutions, nan);
  s.time_to_50.assign(solutions, nan);
  s.time_to_90.assign(solutions, nan);
  for (std::size_t sol = 0; sol < std::min(solutions, width); ++sol) {
    if (states > 0) s.final_adopters[sol] = adopters[(states - 1) * width + sol];
    for (std::size_t k = 0; k < states && k < time.size(); ++k) {
      // Integer comparison: a share of exactly 50 % counts as reached on every platform.
      const std::int64_t a100 = 100 * static_cast<std::int64_t>(adopters[k * width + sol]);
      auto reach = [&](std::vector<double>& t, std::int64_t pct) {
        if (std::isnan(t[sol]) && s.cities > 0 && a100 >= pct * s.cities) t[sol] = time[k];
      };
      reach(s.time_to_10, 10);
      reach(s.time_to_50, 50);
      reach(s.time_to_90, 90);
    }
  }
  if (has_link(file.get(), "/events/kind") && has_link(file.get(), "/events/layer")) {
    const auto kind = read_dataset<std::int8_t>(file.get(), "/events/kind", nullptr, path);
    const auto layer = read_dataset<std::int32_t>(file.get(), "/events/layer", nullptr, path);
    s.adoptions.assign(layers + 1, 0);
    for (std::size_t e = 0; e < kind.size() && e < layer.size(); ++e) {
      if (kind[e] != static_cast<std::int8_t>(model::EventKind::kAdopt)) continue;
      const std::int32_t l = layer[e];
      ++s.adoptions[l >= 0 && static_cast<std::size_t>(l) < layers ? static_cast<std::size_t>(l)
                                                                   : layers];
    }
  }
  return s;
}

void write_index(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                 const std::string& path, const std::vector<std::int64_t>& runs,
                 const std::string& scope, const std::string& link_prefix, SummaryCache& cache) {
  io::h5::quiet_errors();
  const std::size_t n = runs.size();
  const std::size_t ns = sweep.solutions.size(), nl = sweep.layers.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();

  std::vector<std::int64_t> index(n), point(n), replication(n), seed(n);
  std::vector<std::string> status(n), message(n), file(n), host(n);
  std::vector<double> wall(n, nan);
  std::vector<std::int32_t> threads(n, 0);
  std::vector<std::vector<std::int32_t>> final_adopters(ns, std::vector<std::int32_t>(n, -1));
  std::vector<std::vector<double>> t10(ns, std::vector<double>(n, nan)), t50 = t10, t90 = t10;
  std::vector<std::vector<std::int64_t>> adoptions(nl + 1, std::vector<std::int64_t>(n, -1));
  std::int64_t done = 0, failed = 0;

  for (std::size_t r = 0; r < n; ++r) {
    const std::int64_t i = runs[r];
    index[r] = i;
    point[r] = sweep.point_of(i);
    replication[r] = sweep.replication_of(i);
    seed[r] = static_cast<std::int64_t>(sweep.seed);
    const auto rec = state.records.find(i);
    if (rec != state.records.end()) {
      wall[r] = rec->second.wall_seconds;
      threads[r] = rec->second.threads;
      host[r] = rec->second.host;
    }
    if (state.done(i)) {
      auto it = cache.find(i);
      if (it == cache.end())
        it = cache.emplace(i, summarize_run_file(dir.run_file(i), ns, nl)).first;
      const RunSummary& s = it->second;
      status[r] = "done";
      file[r] = dir.run_file_relative(i);
      for (std::size_t k = 0; k < ns; ++k) {
        final_adopters[k][r] = s.final_adopters[k];
        t10[k][r] = s.time_to_10[k];
        t50[k][r] = s.time_to_50[k];
        t90[k][r] = s.time_to_90[k];
      }
      for (std::size_t l = 0; l < s.adoptions.size() && l <= nl; ++l)
        adoptions[l][r] = s.adoptions[l];
      ++done;
    } else if (state.failed(i)) {
      status[r] = "failed";
      message[r] = rec->second.message;
      ++failed;
    } else {
      status[r] = "todo";
    }
  }

  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    Handle f(io::h5::check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                           "create the sweep index " + tmp));
    const hid_t root = f.get();
    io::h5::set_string_attribute(root, "format", kSweepFormat);
    io::h5::set_attribute<std::int32_t>(root, "format_version", kSweepFormatVersion);
    io::h5::set_string_attribute(root, "citynet_version", kVersion);
    io::h5::set_string_attribute(root, "git_commit", kGitCommit);
    io::h5::set_string_attribute(root, "name", sweep.name);
    io::h5::set_string_attribute(root, "fingerprint", sweep.fingerprint);
    io::h5::set_string_attribute(root, "design", std::string(design_name(sweep.kind)));
    io::h5::set_attribute<std::uint64_t>(root, "seed", sweep.seed);
    io::h5::set_attribute<std::int64_t>(root, "replications", sweep.replications);
    io::h5::set_attribute<std::int64_t>(root, "runs_total", sweep.runs());
    io::h5::set_attribute<std::int64_t>(root, "runs_listed", static_cast<std::int64_t>(n));
    io::h5::set_attribute<std::int64_t>(root, "runs_done", done);
    io::h5::set_attribute<std::int64_t>(root, "runs_failed", failed);
    io::h5::set_string_attribute(root, "scope", scope);

    io::h5::write_scalar_string(root, "sweep", sweep.resolved_yaml, "",
                                "The resolved sweep as YAML: base scenario, seed, replications, "
                                "design, and every point");
    io::h5::write_scalar_string(root, "scenario", sweep.scenario_yaml, "",
                                "The base scenario, resolved (defaults merged), without data_dir");
    std::vector<std::string> keys, types;
    for (const auto& p : sweep.parameters) {
      keys.push_back(p.key);
      types.push_back(p.type);
    }
    io::h5::write_strings(root, "parameters", keys, "",
                          "The varied parameters, in the order of the design (a column of /runs "
                          "each)");
    io::h5::write_strings(
        root, "solutions", sweep.solutions, "",
        "Solutions of the base scenario (the .SOLUTION suffix of metric columns)");
    io::h5::write_strings(root, "layers", sweep.layers, "",
                          "Layers of the base scenario (the .LAYER suffix of adoptions columns)");

    Handle g = io::h5::create_group(root, "runs");
    Columns c(g.get(), n);
    c.add("index", index, "", "Run index: the run file is runs/run-INDEX.h5");
    c.add("point", point, "", "Design point (row of the resolved sweep's points)");
    c.add("replication", replication, "", "Replication of the point, from 0");
    for (std::size_t k = 0; k < sweep.parameters.size(); ++k) {
      const auto& p = sweep.parameters[k];
      const std::string desc = "Value of the varied parameter " + p.key + " (" + p.type + ")";
      if (p.type == "int") {
        std::vector<std::int64_t> v(n);
        for (std::size_t r = 0; r < n; ++r)
          v[r] = static_cast<std::int64_t>(
              parse_double(sweep.points[static_cast<std::size_t>(point[r])][k]));
        c.add(p.key, v, "", desc);
      } else if (p.type == "double") {
        std::vector<double> v(n);
        for (std::size_t r = 0; r < n; ++r)
          v[r] = parse_double(sweep.points[static_cast<std::size_t>(point[r])][k]);
        c.add(p.key, v, "", desc);
      } else if (p.type == "bool") {
        std::vector<std::uint8_t> v(n);
        for (std::size_t r = 0; r < n; ++r)
          v[r] = sweep.points[static_cast<std::size_t>(point[r])][k] == "true" ? 1 : 0;
        c.add(p.key, v, "", desc + ", 1 = true");
      } else {
        std::vector<std::string> v(n);
        for (std::size_t r = 0; r < n; ++r) {
          std::string t = sweep.points[static_cast<std::size_t>(point[r])][k];
          if (p.type == "string" && t.size() >= 2 && t.front() == '"')
            t = t.substr(1, t.size() - 2);
          v[r] = t;
        }
        c.add_strings(p.key, v, desc);
      }
    }
    c.add("seed", seed, "",
          "Master seed of the run: the sweep seed. With the run index (the run file's run_index) "
          "it gives the run's random key");
    c.add_strings("status", status, "done, failed, or todo (not run yet, or in flight)");
    c.add_strings("message", message, "Why a failed run failed; empty otherwise");
    c.add("wall_seconds", wall, "s", "Wall time of the run (NaN when not run)");
    c.add("threads", threads, "threads", "Worker threads the run used (0 when not run)");
    c.add_strings("host", host, "Machine that ran it");
    c.add_strings("file", file, "Run file, relative to the sweep directory; empty when not done");
    for (std::size_t k = 0; k < ns; ++k) {
      const std::string& sol = sweep.solutions[k];
      c.add(column_name("final_adopters", sol), final_adopters[k], "cities",
            "Cities with " + sol + " adopted in the last state (-1 when not done)");
      c.add(column_name("time_to_10", sol), t10[k], "time units",
            "Model time when 10 % of the cities first had " + sol + " (NaN when never)");
      c.add(column_name("time_to_50", sol), t50[k], "time units",
            "Model time when 50 % of the cities first had " + sol + " (NaN when never)");
      c.add(column_name("time_to_90", sol), t90[k], "time units",
            "Model time when 90 % of the cities first had " + sol + " (NaN when never)");
    }
    for (std::size_t l = 0; l <= nl; ++l) {
      const bool none = l == nl;
      c.add(none ? std::string("adoptions.no_tie") : column_name("adoptions", sweep.layers[l]),
            adoptions[l], "events",
            none ? std::string("Adoption events through no tie (innovation, other channels); -1 "
                               "when not done or the run file has no events")
                 : "Adoption events through a tie of layer " + sweep.layers[l] +
                       " (all solutions); -1 when not done or the run file has no events");
    }
    io::h5::set_string_array_attribute(g.get(), "columns", c.names());
    io::h5::set_attribute<std::int64_t>(g.get(), "rows", static_cast<std::int64_t>(n));

    Handle links = io::h5::create_group(root, "files");
    for (std::size_t r = 0; r < n; ++r) {
      if (file[r].empty()) continue;
      io::h5::check_status(
          H5Lcreate_external((link_prefix + file[r]).c_str(), "/", links.get(),
                             dir.run_name(index[r]).c_str(), H5P_DEFAULT, H5P_DEFAULT),
          "link " + file[r] + " from the sweep index");
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw RunError("cannot write the sweep index " + path + ": " + ec.message());
  }
}

}  // namespace citynet::sweep
