// The engine's step, rule by rule and phase by phase, and the headline number of issue 2:
// city-steps per second on a 100,000-city Erdos-Renyi fractional-threshold run, mean degree 10.

#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <string>
#include <vector>

#include "model/engine.hpp"
#include "workload.hpp"

namespace {

using citynet::bench::Rule;

// Runs steps of one engine (built outside the timed loop) and reports city-steps/s as items,
// edge-visits/s (each undirected tie counted twice per step) and solution-edge-visits/s, and the
// time per step of each phase the engine times.
void run_engine(benchmark::State& state, Rule rule) {
  const auto n = state.range(0);
  const auto solutions = static_cast<int>(state.range(1));
  const auto threads = static_cast<std::size_t>(state.range(2));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  const auto& w = citynet::bench::world(rule, n, solutions);
  citynet::model::Engine engine(w.scenario, w.cities, w.network, w.run_key);
  engine.initialise();
  // One step outside the clock: the seeded cities' neighbours settle in the first steps.
  engine.step();
  const std::vector<double> before = engine.timers().seconds();

  for (auto _ : state) benchmark::DoNotOptimize(engine.step().size());

  const auto steps = static_cast<double>(state.iterations());
  const auto edges = static_cast<double>(w.directed_edges());
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["edge_visits/s"] = benchmark::Counter(steps * edges, benchmark::Counter::kIsRate);
  state.counters["solution_edge_visits/s"] =
      benchmark::Counter(steps * edges * solutions, benchmark::Counter::kIsRate);
  const auto& names = engine.timers().names();
  const auto& after = engine.timers().seconds();
  for (std::size_t p = 0; p < names.size() && p < before.size(); ++p)
    state.counters[names[p] + "_ms/step"] = 1e3 * (after[p] - before[p]) / steps;
  std::int64_t adopters = 0;
  for (auto a : engine.adopters()) adopters += a;
  state.counters["adopters"] = static_cast<double>(adopters);
}

void BM_EngineStep(benchmark::State& state, Rule rule) {
  run_engine(state, rule);
}

void engine_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cities", "solutions", "threads"});
  for (std::int64_t n : {10'000, 100'000, 1'000'000})
    for (std::int64_t t : {1, 2}) b->Args({n, 1, t});
  b->Args({100'000, 8, 2});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_EngineStep, bass, Rule::kBass)->Apply(engine_sizes);
BENCHMARK_CAPTURE(BM_EngineStep, fractional_threshold, Rule::kFractionalThreshold)
    ->Apply(engine_sizes);
BENCHMARK_CAPTURE(BM_EngineStep, count_threshold, Rule::kCountThreshold)->Apply(engine_sizes);
BENCHMARK_CAPTURE(BM_EngineStep, independent_cascade, Rule::kIndependentCascade)
    ->Apply(engine_sizes);

// The runs `benchmarks/compare` sets against the reference kernel and the peers.
void BM_CompareEngine(benchmark::State& state) {
  run_engine(state, Rule::kFractionalThreshold);
}
BENCHMARK(BM_CompareEngine)
    ->ArgNames({"cities", "solutions", "threads"})
    ->Args({100'000, 1, 1})
    ->Args({100'000, 1, 2})
    ->Args({1'000'000, 1, 1})
    ->Args({1'000'000, 1, 2})
    ->Args({1'000'000, 64, 1})
    ->Args({1'000'000, 64, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Issue 2's number: 100,000 cities, Erdos-Renyi mean degree 10, fractional threshold; read
// items_per_second as city-steps/s.
void BM_Issue2_ER100k_Threshold(benchmark::State& state) {
  run_engine(state, Rule::kFractionalThreshold);
}
BENCHMARK(BM_Issue2_ER100k_Threshold)
    ->ArgNames({"cities", "solutions", "threads"})
    ->Args({100'000, 1, 1})
    ->Args({100'000, 1, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
