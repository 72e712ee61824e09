// The reference kernel, "the machine's limit": the same fractional-threshold step on the same
// graph as BM_CompareEngine, written as plainly as CSR allows.

#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <utility>
#include <vector>

#include "workload.hpp"

namespace {

using citynet::bench::Rule;

void report(benchmark::State& state, std::int64_t n, double edges, int solutions,
            std::int64_t adopted) {
  const auto steps = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["edge_visits/s"] = benchmark::Counter(steps * edges, benchmark::Counter::kIsRate);
  state.counters["solution_edge_visits/s"] =
      benchmark::Counter(steps * edges * solutions, benchmark::Counter::kIsRate);
  state.counters["adopters"] = static_cast<double>(adopted);
}

// Steps the one-solution reference kernel with `step`, its plain or its by-runs step.
template <class Step>
void run_reference(benchmark::State& state, Step step) {
  const auto n = state.range(0);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(state.range(1)));
  const auto& w = citynet::bench::world(Rule::kFractionalThreshold, n, 1);
  const auto kernel = citynet::bench::threshold_kernel(w);
  std::vector<std::uint8_t> cur = citynet::bench::initial_state(w), next(cur.size());
  (kernel.*step)(cur.data(), next.data());
  cur.swap(next);
  std::int64_t adopted = 0;
  for (auto _ : state) {
    adopted = (kernel.*step)(cur.data(), next.data());
    cur.swap(next);
  }
  report(state, n, static_cast<double>(w.directed_edges()), 1, adopted);
}

void one_solution_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cities", "threads"});
  for (const auto& [n, t] :
       {std::pair{10'000, 1}, {100'000, 1}, {100'000, 2}, {1'000'000, 1}, {1'000'000, 2}})
    b->Args({n, t});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

void BM_Reference(benchmark::State& state) {
  run_reference(state, &citynet::bench::ThresholdKernel::step);
}
BENCHMARK(BM_Reference)->Apply(one_solution_sizes);

// The same step, a run of cities' ties gathered in one loop (ThresholdKernel::step_runs).
void BM_ReferenceRuns(benchmark::State& state) {
  run_reference(state, &citynet::bench::ThresholdKernel::step_runs);
}
BENCHMARK(BM_ReferenceRuns)->Apply(one_solution_sizes);

// 64 solutions as one bit each of a word per city, seeded as the engine's 64-solution run.
void BM_Reference64(benchmark::State& state) {
  const auto n = state.range(0);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(state.range(1)));
  const auto& w = citynet::bench::world(Rule::kFractionalThreshold, n, 1);
  const auto kernel = citynet::bench::threshold_kernel(w);
  std::vector<std::uint64_t> cur =
      citynet::bench::initial_state64(citynet::bench::world(Rule::kFractionalThreshold, n, 64));
  std::vector<std::uint64_t> next(cur.size());
  kernel.step64(cur.data(), next.data());
  cur.swap(next);
  std::int64_t adopted = 0;
  for (auto _ : state) {
    adopted = kernel.step64(cur.data(), next.data());
    cur.swap(next);
  }
  report(state, n, static_cast<double>(w.directed_edges()), 64, adopted);
}
BENCHMARK(BM_Reference64)
    ->ArgNames({"cities", "threads"})
    ->Args({100'000, 1})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
