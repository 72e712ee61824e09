// The parts the step is made of, each alone: Philox draws, the CSR gather, network generation,
// and HDF5 output.

#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_reduce.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "io/run_file.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "workload.hpp"

namespace {

using citynet::bench::Rule;
namespace rng = citynet::rng;

// The engine's pattern: a fresh stream per (step, city, purpose, solution), one uniform from it.
void BM_PhiloxStreamPerDraw(benchmark::State& state) {
  std::uint32_t city = 0;
  double sum = 0;
  for (auto _ : state) {
    rng::Stream s(0x1234'5678'9abc'def0ull, 7, city++, rng::Purpose::kDecide);
    sum += s.uniform();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PhiloxStreamPerDraw);

// The city model's decide pattern: the first block of each of a city's S solution streams, all at
// once (arg 1: the instruction set, 0 scalar, 1 AVX2). Items are blocks.
void BM_PhiloxFirstBlocks(benchmark::State& state) {
  const auto lanes = static_cast<std::uint32_t>(state.range(0));
  const auto isa = static_cast<rng::BlockIsa>(state.range(1));
  if (!rng::block_isa_supported(isa)) {
    state.SkipWithError("instruction set not on this machine");
    return;
  }
  std::vector<rng::Stream::Philox::ctr_type> out(lanes);
  std::uint32_t city = 0;
  for (auto _ : state) {
    rng::first_blocks(isa, 0x1234'5678'9abc'def0ull, 7, city++, rng::Purpose::kDecide, lanes,
                      out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * lanes);
}
BENCHMARK(BM_PhiloxFirstBlocks)->ArgsProduct({{1, 8, 16, 64}, {0, 1}});

// Many draws from one stream: the raw generator (two 32-bit words per uniform).
void BM_PhiloxUniform(benchmark::State& state) {
  rng::Stream s(0x1234'5678'9abc'def0ull, 7, 42, rng::Purpose::kDecide);
  double sum = 0;
  for (auto _ : state) sum += s.uniform();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PhiloxUniform);

void BM_PhiloxU32(benchmark::State& state) {
  rng::Stream s(0x1234'5678'9abc'def0ull, 7, 42, rng::Purpose::kDecide);
  std::uint32_t x = 0;
  for (auto _ : state) x ^= s.next_u32();
  benchmark::DoNotOptimize(x);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PhiloxU32);

// Sum of neighbour states over every tie: the memory-bound core of every exposure computation.
// Byte states (one solution) and 64-bit words (64 solutions as bits).
template <typename T>
void gather(benchmark::State& state) {
  const auto n = state.range(0);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(state.range(1)));
  const auto& layer = citynet::bench::world(Rule::kFractionalThreshold, n, 1).layer();
  std::vector<T> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<T>((i * 2654435761u) >> 7);
  const std::int64_t* off = layer.offsets.data();
  const std::int32_t* tgt = layer.targets.data();
  for (auto _ : state) {
    auto total = tbb::parallel_reduce(
        tbb::blocked_range<std::int64_t>(0, n, 4096), std::uint64_t{0},
        [&](const tbb::blocked_range<std::int64_t>& r, std::uint64_t acc) {
          for (std::int64_t i = r.begin(); i != r.end(); ++i)
            for (std::int64_t k = off[i]; k < off[i + 1]; ++k) acc += x[tgt[k]];
          return acc;
        },
        std::plus<>());
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * layer.edge_count());
  state.SetBytesProcessed(state.iterations() * layer.edge_count() *
                          static_cast<std::int64_t>(sizeof(std::int32_t) + sizeof(T)));
}
void BM_CsrGatherByte(benchmark::State& state) {
  gather<std::uint8_t>(state);
}
void BM_CsrGatherWord64(benchmark::State& state) {
  gather<std::uint64_t>(state);
}
void gather_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cities", "threads"});
  for (std::int64_t n : {10'000, 100'000, 1'000'000})
    for (std::int64_t t : {1, 2}) b->Args({n, t});
  b->UseRealTime();
}
BENCHMARK(BM_CsrGatherByte)->Apply(gather_sizes);
BENCHMARK(BM_CsrGatherWord64)->Apply(gather_sizes);

// Erdos-Renyi generation including its CSR build; items are directed ties.
void BM_ErdosRenyi(benchmark::State& state) {
  const auto n = static_cast<citynet::CityId>(state.range(0));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(state.range(1)));
  std::int64_t ties = 0;
  for (auto _ : state) {
    auto layer = citynet::net::erdos_renyi(n, citynet::bench::kMeanDegree, 99, 0);
    ties = layer.edge_count();
    benchmark::DoNotOptimize(layer.targets.data());
  }
  state.SetItemsProcessed(state.iterations() * ties);
}
BENCHMARK(BM_ErdosRenyi)
    ->ArgNames({"cities", "threads"})
    ->Args({10'000, 1})
    ->Args({100'000, 1})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// build_csr alone, from the undirected edge list of the same graph; items are directed ties.
void BM_BuildCsr(benchmark::State& state) {
  const auto n = static_cast<citynet::CityId>(state.range(0));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(state.range(1)));
  const auto& layer = citynet::bench::world(Rule::kFractionalThreshold, n, 1).layer();
  std::vector<citynet::net::Edge> edges;
  edges.reserve(static_cast<std::size_t>(layer.edge_count() / 2));
  for (citynet::CityId a = 0; a < n; ++a)
    for (auto k = layer.offsets[a]; k < layer.offsets[a + 1]; ++k)
      if (layer.targets[k] > a) edges.push_back({a, layer.targets[k], layer.weights[k]});
  for (auto _ : state) {
    state.PauseTiming();
    auto copy = edges;
    state.ResumeTiming();
    auto built = citynet::net::build_csr(n, std::move(copy));
    benchmark::DoNotOptimize(built.targets.data());
  }
  state.SetItemsProcessed(state.iterations() * layer.edge_count());
}
BENCHMARK(BM_BuildCsr)
    ->ArgNames({"cities", "threads"})
    ->Args({100'000, 1})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// RunFileWriter: one state (adopters of S solutions) and `events` adoption events per step, at
// the default deflate level. Items are events, bytes the event payload.
void BM_RunFileAppend(benchmark::State& state) {
  const auto events_per_step = state.range(0);
  const auto solutions = static_cast<int>(state.range(1));
  const auto& w = citynet::bench::world(Rule::kFractionalThreshold, 10'000, 1);
  const std::string path = "/tmp/citynet_bench_" + std::to_string(::getpid()) + ".h5";
  citynet::io::RunFileWriter writer(path, w.scenario);
  citynet::io::RunFileWriter::Meta meta;
  meta.seed = w.scenario.seed;
  writer.write_static(meta, w.cities, w.network);
  std::vector<std::int32_t> adopters(static_cast<std::size_t>(solutions), 0);
  std::vector<citynet::model::Event> events(static_cast<std::size_t>(events_per_step));
  citynet::Step step = 0;
  for (auto _ : state) {
    ++step;
    for (std::int64_t e = 0; e < events_per_step; ++e)
      events[e] = {step,
                   static_cast<citynet::CityId>((e * 7919 + step) % 10'000),
                   static_cast<citynet::SolutionId>(e % solutions),
                   citynet::model::EventKind::kAdopt,
                   static_cast<citynet::CityId>(e % 10'000),
                   0};
    for (auto& a : adopters) a += static_cast<std::int32_t>(events_per_step / solutions);
    writer.append_events(events);
    writer.append_state(step, adopters);
  }
  writer.finish(0.0);
  std::remove(path.c_str());
  state.SetItemsProcessed(state.iterations() * events_per_step);
  state.SetBytesProcessed(state.iterations() * events_per_step *
                          static_cast<std::int64_t>(sizeof(citynet::model::Event)));
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RunFileAppend)
    ->ArgNames({"events", "solutions"})
    ->Args({0, 1})
    ->Args({100, 8})
    ->Args({10'000, 8})
    ->Args({100'000, 64})
    ->UseRealTime();

// RunFileWriter::write_static: the cities and the ties (one Erdos-Renyi layer of mean degree 10)
// written at the start of a run, file creation and closing included, at the default settings.
// Bytes are the arrays' size in memory.
void BM_RunFileStatic(benchmark::State& state) {
  const auto n = state.range(0);
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                              static_cast<std::size_t>(state.range(1)));
  const auto& w = citynet::bench::world(Rule::kFractionalThreshold, n, 1);
  const std::string path = "/tmp/citynet_bench_static_" + std::to_string(::getpid()) + ".h5";
  for (auto _ : state) {
    citynet::io::RunFileWriter writer(path, w.scenario);
    citynet::io::RunFileWriter::Meta meta;
    meta.seed = w.scenario.seed;
    writer.write_static(meta, w.cities, w.network);
    writer.finish(0.0);
  }
  std::remove(path.c_str());
  std::int64_t bytes = w.cities.bytes();
  for (const auto& layer : w.network.layers) bytes += layer.bytes();
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_RunFileStatic)
    ->ArgNames({"cities", "threads"})
    ->Args({10'000, 2})
    ->Args({100'000, 1})
    ->Args({100'000, 2})
    ->Args({1'000'000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
