#include "sweep/store.hpp"

#include <fcntl.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): kill() is POSIX, not in <csignal>
#include <sys/file.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace citynet::sweep {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateFormat = "citynet-sweep-dir";
constexpr int kStateVersion = 1;

// Writes `text` to `path` so that a reader sees the old content or the new, never a part.
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw RunError("cannot write " + tmp);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw RunError("cannot write " + path + ": " + ec.message());
  }
}

// "run-000042..." -> 42, or -1.
std::int64_t index_of(const std::string& name) {
  if (name.rfind("run-", 0) != 0) return -1;
  std::int64_t i = -1;
  const char* b = name.data() + 4;
  const char* e = name.data() + name.size();
  const auto r = std::from_chars(b, e, i);
  if (r.ec != std::errc() || r.ptr == b) return -1;
  return i;
}

bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

void make_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw RunError("cannot create the directory " + path + ": " + ec.message());
}

}  // namespace

std::string this_host() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

SweepDir::SweepDir(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string SweepDir::run_name(std::int64_t i) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "run-%06lld", static_cast<long long>(i));
  return buf;
}

std::string SweepDir::shard_index_file(int shard, int shards) const {
  return root_ + "/shards/shard-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".h5";
}

void SweepDir::claim(const Sweep& sweep) const {
  std::error_code ec;
  if (fs::exists(state_file(), ec)) {
    const Sweep held = load();
    if (held.fingerprint == sweep.fingerprint) return;
    std::string what = held.resolved_yaml != sweep.resolved_yaml
                           ? "the sweep definition differs"
                           : "the base scenario (" + sweep.scenario_file + ") differs";
    throw InputError({sweep.source_file, 0, 0}, "",
                     "the output directory " + root_ + " holds results of another sweep ('" +
                         held.name + "' from " + held.source_file + "; " + what +
                         "). Use another --out directory, or remove " + root_ +
                         " to start this sweep afresh");
  }
  if (fs::exists(root_, ec) && !fs::is_directory(root_, ec))
    throw InputError({root_, 0, 0}, "", "--out must name a directory; this is a file");
  bool foreign = false;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().front() != '.' && it->path().filename() != "shards")
      foreign = true;
  if (foreign)
    throw InputError({root_, 0, 0}, "",
                     "the output directory is not empty and holds no sweep; use a new or empty "
                     "directory");
  make_dir(root_ + "/runs");
  make_dir(root_ + "/records");

  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << kStateFormat;
  out << YAML::Key << "format_version" << YAML::Value << kStateVersion;
  out << YAML::Key << "fingerprint" << YAML::Value << sweep.fingerprint;
  out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << sweep.name;
  out << YAML::Key << "sweep_file" << YAML::Value << YAML::DoubleQuoted << sweep.source_file;
  out << YAML::Key << "scenario" << YAML::Value << YAML::DoubleQuoted << sweep.scenario_file;
  out << YAML::Key << "seed" << YAML::Value << sweep.seed;
  out << YAML::Key << "replications" << YAML::Value << sweep.replications;
  out << YAML::Key << "design" << YAML::Value << std::string(design_name(sweep.kind));
  out << YAML::Key << "fixed" << YAML::Value << YAML::Flow << sweep.fixed;
  out << YAML::Key << "keys" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& p : sweep.parameters) out << p.key;
  out << YAML::EndSeq;
  out << YAML::Key << "types" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& p : sweep.parameters) out << p.type;
  out << YAML::EndSeq;
  out << YAML::Key << "solutions" << YAML::Value << YAML::Flow << sweep.solutions;
  out << YAML::Key << "layers" << YAML::Value << YAML::Flow << sweep.layers;
  out << YAML::Key << "points" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : sweep.points) out << YAML::Flow << p;
  out << YAML::EndSeq;
  out << YAML::Key << "resolved" << YAML::Value << YAML::Literal << sweep.resolved_yaml;
  out << YAML::Key << "scenario_yaml" << YAML::Value << YAML::Literal << sweep.scenario_yaml;
  out << YAML::EndMap;
  write_atomically(state_file(),
                   "# Written by `citynet sweep`: the sweep this directory holds. "
                   "Do not edit.\n" +
                       std::string(out.c_str()) + "\n");
}

Sweep SweepDir::load() const {
  std::error_code ec;
  if (!fs::exists(state_file(), ec))
    throw InputError({root_, 0, 0}, "",
                     "holds no sweep (no sweep.yaml); give the --out directory of a sweep");
  try {
    const YAML::Node n = YAML::LoadFile(state_file());
    if (n["format"].as<std::string>() != kStateFormat ||
        n["format_version"].as<int>() > kStateVersion)
      throw InputError({state_file(), 0, 0}, "",
                       "not a sweep state file of a version this citynet reads");
    Sweep s;
    s.fingerprint = n["fingerprint"].as<std::string>();
    s.name = n["name"].as<std::string>();
    s.source_file = n["sweep_file"].as<std::string>();
    s.scenario_file = n["scenario"].as<std::string>();
    s.seed = n["seed"].as<std::uint64_t>();
    s.replications = n["replications"].as<std::int64_t>();
    const std::string kind = n["design"].as<std::string>();
    for (auto k : {DesignKind::kNone, DesignKind::kPoints, DesignKind::kGrid,
                   DesignKind::kLatinHypercube, DesignKind::kSobol, DesignKind::kSaltelli})
      if (design_name(k) == kind) s.kind = k;
    s.fixed = n["fixed"].as<std::vector<std::string>>();
    const auto keys = n["keys"].as<std::vector<std::string>>();
    const auto types = n["types"].as<std::vector<std::string>>();
    for (std::size_t k = 0; k < keys.size(); ++k)
      s.parameters.push_back({keys[k], "", k < types.size() ? types[k] : "double", {}});
    s.solutions = n["solutions"].as<std::vector<std::string>>();
    s.layers = n["layers"].as<std::vector<std::string>>();
    for (const auto& p : n["points"]) s.points.push_back(p.as<std::vector<std::string>>());
    s.resolved_yaml = n["resolved"].as<std::string>();
    s.scenario_yaml = n["scenario_yaml"].as<std::string>();
    return s;
  } catch (const YAML::Exception& e) {
    throw InputError({state_file(), 0, 0}, "",
                     std::string("damaged sweep state file: ") + e.what());
  }
}

SweepState SweepDir::scan() const {
  SweepState st;
  std::error_code ec;
  const std::string host = this_host();
  for (fs::directory_iterator it(root_ + "/runs", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::int64_t i = index_of(name);
    if (i < 0) continue;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".h5") == 0 &&
        name.find(".partial-") == std::string::npos)
      st.finished_files.insert(i);
    else if (name.find(".partial-") != std::string::npos)
      st.partial_files[i].push_back(it->path().string());
  }
  for (fs::directory_iterator it(root_ + "/records", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::int64_t i = index_of(name);
    if (i < 0 || name.find(".tmp-") != std::string::npos) continue;
    const auto ext = it->path().extension().string();
    try {
      if (ext == ".yaml") {
        const YAML::Node n = YAML::LoadFile(it->path().string());
        RunRecord r;
        r.index = i;
        r.status = n["status"].as<std::string>();
        if (n["message"]) r.message = n["message"].as<std::string>();
        if (n["wall_seconds"]) r.wall_seconds = n["wall_seconds"].as<double>();
        if (n["threads"]) r.threads = n["threads"].as<std::int32_t>();
        if (n["host"]) r.host = n["host"].as<std::string>();
        if (n["pid"]) r.pid = n["pid"].as<std::int64_t>();
        if (n["rank"]) r.rank = n["rank"].as<std::int32_t>();
        st.records[i] = r;
      } else if (ext == ".running") {
        const YAML::Node n = YAML::LoadFile(it->path().string());
        RunningMark m;
        m.index = i;
        m.host = n["host"].as<std::string>();
        m.pid = n["pid"].as<std::int64_t>();
        m.stale = m.host == host && !process_alive(m.pid);
        st.running[i] = m;
      }
    } catch (const YAML::Exception&) {
      // Records are written by rename, so a damaged one was damaged by hand: treat the run as
      // not recorded, and it is redone unless its run file is there.
    }
  }
  return st;
}

void SweepDir::write_record(const RunRecord& r) const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "index" << YAML::Value << r.index;
  out << YAML::Key << "status" << YAML::Value << r.status;
  if (!r.message.empty())
    out << YAML::Key << "message" << YAML::Value << YAML::DoubleQuoted << r.message;
  out << YAML::Key << "wall_seconds" << YAML::Value << r.wall_seconds;
  out << YAML::Key << "threads" << YAML::Value << r.threads;
  out << YAML::Key << "host" << YAML::Value << YAML::DoubleQuoted << r.host;
  out << YAML::Key << "pid" << YAML::Value << r.pid;
  out << YAML::Key << "rank" << YAML::Value << r.rank;
  out << YAML::EndMap;
  write_atomically(root_ + "/records/" + run_name(r.index) + ".yaml",
                   std::string(out.c_str()) + "\n");
}

void SweepDir::mark_running(std::int64_t i, std::int32_t rank) const {
  YAML::Emitter out;
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "host" << YAML::Value << YAML::DoubleQuoted
      << this_host() << YAML::Key << "pid" << YAML::Value << static_cast<std::int64_t>(::getpid())
      << YAML::Key << "rank" << YAML::Value << rank << YAML::EndMap;
  write_atomically(root_ + "/records/" + run_name(i) + ".running", std::string(out.c_str()) + "\n");
}

void SweepDir::clear_running(std::int64_t i) const {
  std::remove((root_ + "/records/" + run_name(i) + ".running").c_str());
}

void SweepDir::remove_leftovers(std::int64_t i, const SweepState& state) const {
  if (auto it = state.partial_files.find(i); it != state.partial_files.end())
    for (const auto& p : it->second) std::remove(p.c_str());
  clear_running(i);
}

SweepDir::Lock::~Lock() {
  for (int fd : fds_) ::close(fd);
}

namespace {

int lock_file(const std::string& path, int how, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw RunError("cannot open the lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, how | LOCK_NB) != 0) {
    ::close(fd);
    throw RunError(what + "; wait for it to finish or stop it first");
  }
  return fd;
}

}  // namespace

SweepDir::Lock SweepDir::lock_whole() const {
  Lock l;
  l.fds_.push_back(
      lock_file(root_ + "/.lock", LOCK_EX, "another `citynet sweep` is writing " + root_));
  return l;
}

SweepDir::Lock SweepDir::lock_shard(int shard, int shards) const {
  Lock l;
  l.fds_.push_back(
      lock_file(root_ + "/.lock", LOCK_SH, "a whole-sweep `citynet sweep` is writing " + root_));
  make_dir(root_ + "/shards");
  l.fds_.push_back(lock_file(
      root_ + "/shards/.lock-" + std::to_string(shard) + "-of-" + std::to_string(shards), LOCK_EX,
      "shard " + std::to_string(shard) + "/" + std::to_string(shards) + " of " + root_ +
          " is already running"));
  return l;
}

}  // namespace citynet::sweep
