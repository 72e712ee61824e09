// citynet_bench_export: writes the graph and the initial state of the comparison run so that
// implementations outside this binary (scipy, graph-tool) step exactly the same run.
//
//   citynet_bench_export --cities N --out DIR [--steps K]
//
// DIR receives offsets.npy (int64, n + 1), targets.npy (int32, directed ties), state0.npy (uint8,
// solution 0 at the start), state0_64.npy (uint64, bit s = solution s of the 64-solution run) and
// meta.json: sizes, threshold, and the adopters after each of K steps (the engine's, and the
// reference kernel's for 1 and 64 solutions), against which the others check that they ran the
// same rule from the same start.

#include <tbb/global_control.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "citynet/version.hpp"
#include "model/engine.hpp"
#include "workload.hpp"

namespace {

using citynet::bench::Rule;

// NumPy's .npy format, version 1.0: magic, header length, a Python dict literal padded so that
// the data starts on a 64-byte boundary, then the raw little-endian array.
template <typename T>
void write_npy(const std::filesystem::path& path, const char* dtype, const std::vector<T>& v) {
  std::string header = std::string("{'descr': '") + dtype +
                       "', 'fortran_order': False, 'shape': (" + std::to_string(v.size()) + ",), }";
  const std::size_t prefix = 10;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string json_list(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

int run(int argc, char** argv) {
  std::int64_t n = 100'000;
  int steps = 10;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--cities")
      n = std::stoll(value());
    else if (a == "--out")
      out = value();
    else if (a == "--steps")
      steps = std::stoi(value());
    else
      throw std::invalid_argument("unknown option " + a +
                                  " (usage: citynet_bench_export --cities N --out DIR "
                                  "[--steps K])");
  }
  if (out.empty()) throw std::invalid_argument("--out DIR is required");
  std::filesystem::create_directories(out);
  const std::filesystem::path dir(out);

  const auto& w = citynet::bench::world(Rule::kFractionalThreshold, n, 1);
  const auto& layer = w.layer();
  write_npy(dir / "offsets.npy", "<i8", layer.offsets);
  write_npy(dir / "targets.npy", "<i4", layer.targets);
  const auto state0 = citynet::bench::initial_state(w);
  write_npy(dir / "state0.npy", "|u1", state0);
  write_npy(
      dir / "state0_64.npy", "<u8",
      citynet::bench::initial_state64(citynet::bench::world(Rule::kFractionalThreshold, n, 64)));

  // The engine's trajectory, and the reference kernel's on the same start, for the checks.
  std::vector<std::int64_t> engine_adopters, kernel_adopters, runs_adopters;
  {
    citynet::model::Engine engine(w.scenario, w.cities, w.network, w.run_key);
    engine.initialise();
    engine_adopters.push_back(engine.adopters()[0]);
    for (int k = 0; k < steps; ++k) {
      engine.step();
      engine_adopters.push_back(engine.adopters()[0]);
    }
  }
  {
    const auto kernel = citynet::bench::threshold_kernel(w);
    using Step =
        std::int64_t (citynet::bench::ThresholdKernel::*)(const std::uint8_t*, std::uint8_t*) const;
    auto trajectory = [&](Step step, std::vector<std::int64_t>& adopters) {
      std::vector<std::uint8_t> cur = state0, next(cur.size());
      std::int64_t a = 0;
      for (auto x : cur) a += x;
      adopters.push_back(a);
      for (int k = 0; k < steps; ++k) {
        adopters.push_back((kernel.*step)(cur.data(), next.data()));
        cur.swap(next);
      }
    };
    trajectory(&citynet::bench::ThresholdKernel::step, kernel_adopters);
    trajectory(&citynet::bench::ThresholdKernel::step_runs, runs_adopters);
  }

  std::vector<std::int64_t> kernel64_adopters;
  {
    const auto kernel = citynet::bench::threshold_kernel(w);
    std::vector<std::uint64_t> cur =
        citynet::bench::initial_state64(citynet::bench::world(Rule::kFractionalThreshold, n, 64));
    std::vector<std::uint64_t> next(cur.size());
    std::int64_t a = 0;
    for (auto x : cur) a += std::popcount(x);
    kernel64_adopters.push_back(a);
    for (int k = 0; k < steps; ++k) {
      kernel64_adopters.push_back(kernel.step64(cur.data(), next.data()));
      cur.swap(next);
    }
  }

  std::ofstream meta(dir / "meta.json");
  meta << "{\n"
       << "  \"cities\": " << n << ",\n"
       << "  \"directed_ties\": " << layer.edge_count() << ",\n"
       << "  \"mean_degree\": " << citynet::bench::kMeanDegree << ",\n"
       << "  \"seed\": " << citynet::bench::kSeed << ",\n"
       << "  \"threshold\": " << static_cast<double>(static_cast<float>(citynet::bench::kThreshold))
       << ",\n"
       << "  \"threshold_float32\": true,\n"
       << "  \"citynet_version\": \"" << citynet::kVersion << "\",\n"
       << "  \"git_commit\": \"" << citynet::kGitCommit << "\",\n"
       << "  \"engine_adopters\": " << json_list(engine_adopters) << ",\n"
       << "  \"reference_adopters\": " << json_list(kernel_adopters) << ",\n"
       << "  \"reference_runs_adopters\": " << json_list(runs_adopters) << ",\n"
       << "  \"reference64_adopters\": " << json_list(kernel64_adopters) << "\n"
       << "}\n";
  if (!meta) throw std::runtime_error("cannot write meta.json in " + out);
  std::printf(
      "%s: %lld cities, %lld directed ties; engine adopters %s, reference %s, reference by runs "
      "%s\n",
      out.c_str(), static_cast<long long>(n), static_cast<long long>(layer.edge_count()),
      json_list(engine_adopters).c_str(), json_list(kernel_adopters).c_str(),
      json_list(runs_adopters).c_str());
  return engine_adopters == kernel_adopters && runs_adopters == kernel_adopters ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "citynet_bench_export: %s\n", e.what());
    return 2;
  }
}
