#include "app/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "io/binary.hpp"

namespace citynet::app {

namespace {
constexpr const char* kMagic = "citynet-checkpoint";
constexpr std::uint32_t kVersion = 1;
}  // namespace

void sync_to_disk(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RunError("cannot sync " + what + " " + path + ": " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0)
    throw RunError("cannot sync " + what + " " + path + ": " + std::strerror(error) +
                   " (disk full or failing?)");
}

std::string journal_path(const std::string& checkpoint_path) {
  return checkpoint_path + ".journal";
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  // The output the checkpoint counts on first, so that no checkpoint outlives it.
  sync_to_disk(journal_path(path), "the checkpoint journal");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw RunError("cannot write the checkpoint " + tmp);
    io::BinaryOut b(out);
    b.put(std::string(kMagic));
    b.put(kVersion);
    b.put(c.scenario_yaml);
    b.put(c.scenario_name);
    b.put(c.run_index);
    b.put(static_cast<std::uint8_t>(c.volatile_metadata));
    b.put(c.output);
    b.put(c.step);
    b.put(c.journal_end);
    b.put(c.event_count);
    b.put(c.model_state);
    out.flush();
    if (!out) throw RunError("cannot write the checkpoint " + tmp + " (disk full?)");
  }
  sync_to_disk(tmp, "the checkpoint");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw RunError("cannot move the checkpoint to " + path + ": " + ec.message());
  // The rename is durable once the directory is.
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  sync_to_disk(dir.empty() ? "." : dir.string(), "the checkpoint's directory");
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(Location{path, 0, 0}, "", "no such checkpoint");
  io::BinaryIn b(in, path);
  std::string magic;
  std::uint32_t version = 0;
  std::uint8_t volatile_metadata = 1;
  try {
    b.get(magic);
  } catch (const InputError&) {
    magic.clear();
  }
  if (magic != kMagic) throw InputError(Location{path, 0, 0}, "", "not a citynet checkpoint");
  b.get(version);
  if (version > kVersion)
    throw InputError(Location{path, 0, 0}, "",
                     "checkpoint version " + std::to_string(version) +
                         " is newer than this citynet reads; use a newer citynet");
  Checkpoint c;
  b.get(c.scenario_yaml);
  b.get(c.scenario_name);
  b.get(c.run_index);
  b.get(volatile_metadata);
  c.volatile_metadata = volatile_metadata != 0;
  b.get(c.output);
  b.get(c.step);
  b.get(c.journal_end);
  b.get(c.event_count);
  b.get(c.model_state);
  return c;
}

}  // namespace citynet::app
