#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace citynet::model {

// Allocates large arrays on transparent huge pages where the kernel grants them on request, so
// that arrays read at random (a peer's line per tie) do not miss the TLB on nearly every read.
// Small arrays come from operator new as usual.
void* allocate_huge(std::size_t bytes, std::size_t align);
void free_huge(void* p, std::size_t bytes, std::size_t align);
template <class T>
struct HugeAllocator {
  using value_type = T;
  HugeAllocator() = default;
  template <class U>
  HugeAllocator(const HugeAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_huge(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_huge(p, n * sizeof(T), alignof(T)); }
  template <class U>
  bool operator==(const HugeAllocator<U>&) const noexcept {
    return true;
  }
};

// City attributes the city model derives from the loaded cities: context vector, capacity,
// openness, income group, country and continent. Deterministic in the run key.
struct CityAttributes {
  std::vector<std::array<float, scenario::kContextDims>> context;
  std::vector<float> capacity;          // (0, 1): administrative professionalism and budget
  std::vector<float> openness;          // (0, 1): appetite for international engagement
  std::vector<std::uint8_t> developed;  // 1: high-income (UN M49 developed regions)
  std::vector<std::int32_t> country;    // index into countries
  std::vector<std::int32_t> continent;  // index into continents
  std::vector<std::string> countries;   // codes
  std::vector<std::string> continents;
};

CityAttributes derive_attributes(const scenario::Scenario& s, const CityTable& cities,
                                 std::uint64_t run_key);

// The city diplomacy model (rule.kind: city). Phases of a step, each a parallel loop over cities
// that writes only its own city's slots: ties, outcomes, observe, learn, decide, national,
// economy, record. Status, variant and implementation dates are double buffered. Observe, learn
// and decide read nothing another city writes in them, so they run as one pass per city (timed
// as observe_decide) and what a city gathers stays in per-thread scratch.
class CityModel final : public Model {
 public:
  enum Status : std::uint8_t { kUnaware = 0, kAware = 1, kAdopted = 2, kDropped = 3 };

  CityModel(const scenario::Scenario& scenario, const CityTable& cities,
            const net::Network& network, std::uint64_t run_key);

  const std::vector<Event>& initialise() override;
  const std::vector<Event>& step() override;
  double time() const override { return start_ + dt_ * step_; }
  const std::vector<std::int32_t>& adopters() const override { return adopters_; }
  PhaseTimers& timers() override { return timers_; }
  std::vector<VariantRow> variants() const override { return variants_; }
  void declare_output(io::RunFileWriter& writer) override;
  void write_state(io::RunFileWriter& writer) override;
  void write_final(io::RunFileWriter& writer) override;
  void save_state(std::ostream& out) const override;
  void load_state(std::istream& in, const std::string& name) override;
  std::int64_t state_bytes() const override;

  // Cuts city c off for what-if experiments: it joins no network and makes or receives no
  // informal contacts (its existing ties are removed from the network beforehand).
  void isolate(CityId c) { isolated_[c] = 1; }

  // Read access for tests and analysis in process.
  Step current_step() const { return step_; }
  Status status(CityId c, SolutionId s) const { return static_cast<Status>(status_[idx(c, s)]); }
  double belief_mean(CityId c, SolutionId s) const { return belief_[idx(c, s)].mean; }
  double belief_precision(CityId c, SolutionId s) const { return belief_[idx(c, s)].prec; }
  std::int32_t variant(CityId c, SolutionId s) const { return variant_[idx(c, s)]; }
  // Weight of the directed CSR entry k of layer l (both directions of a tie stay equal).
  float tie_weight(LayerId l, std::int64_t k) const { return ties_[l].weight[k]; }
  double trade(LayerId l, std::int64_t k) const { return ties_[l].trade[k]; }
  double gdp_index(CityId c) const { return gdp_[c]; }
  bool club_member(LayerId l, CityId c) const { return ties_[l].member[c] != 0; }
  const std::vector<NationalEvent>& national_events() const { return national_events_; }
  const CityAttributes& attributes() const { return attr_; }
  std::int64_t active_ties(LayerId l) const;
  double total_trade() const;
  // Expected payoff of variant v for city c: payoff x fit x completeness.
  double expected_payoff(CityId c, SolutionId s, std::int32_t v) const;

 private:
  struct LayerState {
    const net::Layer* layer = nullptr;
    LayerId id = 0;
    double influence = 1.0;
    bool exposure = true;  // carries exposure for the decision (rule.layers)
    bool dynamic = false;  // weights live: reinforced when used, decaying otherwise
    bool trade_layer = false;
    bool club = false;      // membership layer: a hyperedge among members
    bool informal = false;  // per-city contact slots, made at conferences
    bool geographic = false;
    // Static and before any dynamic or informal layer: its prestige weights are in prestige_w0_.
    bool prefix = false;
    std::vector<float> weight;         // [entry] (slots for informal)
    std::vector<std::uint8_t> active;  // [entry] used in this step
    // [entry] the same tie seen from its other end; 32 bits halve the largest per-tie array, and
    // layers with more directed entries than that are rejected when the model is built.
    std::vector<std::uint32_t> mirror;
    std::vector<float> use_probability;  // [entry] static layers: chance of use in a step
    std::vector<std::uint8_t> engaged;   // [entry] its target holds or held some solution
    std::vector<double> trade;           // [entry] trade stock (trade layers)
    std::vector<double> trade_city;      // [city] sum of its entries' trade, kept by phase_economy
    std::vector<std::int32_t> slot_target;          // informal: [city * slots + k], -1 empty
    std::vector<std::uint8_t> member, member_next;  // club: [city]
    std::vector<CityId> members;                    // club: the members, in city order
    std::vector<std::int32_t> club_adopters;        // club: [solution] adopted members
    std::int32_t club_size = 0;
  };
  struct PendingAdoption;  // decide-phase output merged in record
  struct Scratch;          // what observe gathers for one city, per solution

  std::size_t idx(CityId c, SolutionId s) const {
    return static_cast<std::size_t>(c) * static_cast<std::size_t>(s_) + static_cast<std::size_t>(s);
  }
  void phase_ties(Step new_step);
  void phase_outcomes(Step new_step);
  void phase_cities(Step new_step);
  void observe(CityId c, Step new_step, Scratch& sc);
  void learn(CityId c, const Scratch& sc);
  void decide(CityId c, Step new_step, Scratch& sc, std::vector<PendingAdoption>& out);
  void resolve_variants(std::span<PendingAdoption> adoptions) const;
  void merge_adoptions(std::vector<PendingAdoption>& all, Step new_step);
  void phase_national(Step new_step);
  void phase_economy();
  void phase_record(Step new_step);
  void apply_seeds(Step step);
  void update_bits(CityId c);
  bool holds_any(CityId c) const;
  void derive_bits();
  void derive_trade();  // trade_city from trade, after a checkpoint is loaded
  void prefetch(CityId c) const;
  void prefetch_record(CityId c) const;
  double fit(CityId c, std::int32_t v) const;

  const scenario::Scenario& scenario_;
  const scenario::CityModelSpec& spec_;
  const CityTable& cities_;
  std::uint64_t key_;
  CityId n_;
  SolutionId s_;
  double dt_, start_;
  Step compliance_steps_ = 0;  // national.compliance_lag, in steps
  Step step_ = 0;
  CityAttributes attr_;
  std::vector<float> log_pop_;  // log10 population, for prestige and homophily
  std::vector<std::uint8_t> isolated_;

  // City x solution, [city * S + solution].
  std::vector<std::uint8_t> status_, status_next_;
  std::vector<std::int32_t> variant_, variant_next_;
  std::vector<Step> active_from_, active_from_next_;  // first state that pays; -1 not adopted
  std::vector<Step> adopt_step_;                      // last adoption, for prestige fading
  std::vector<std::uint8_t> mandated_;
  // Mean and precision side by side: learn reads and writes both, and a sparse row then costs
  // one line per solution instead of two.
  struct Belief {
    double mean;
    double prec;
  };
  std::vector<Belief> belief_;
  std::vector<float> outcome_;  // realised this step, NaN when not paying
  std::vector<float> threshold_;

  // What observe reads of a peer, laid out so that a tie costs one cache line: most cities hold
  // nothing and most holders a few solutions. Bit s (s < 64) of held: status_ is adopted or
  // dropped; of adopted: adopted. For each of the first kInline adopted solutions, in solution
  // order, the outcome (NaN when not paying) and the prestige it lends. The rare others, and
  // solutions from 64 on (bits in held_hi_, adopted_bits_), are read from outcome_ and
  // lent_prestige instead of a per-slot copy that would sit almost entirely unused.
  struct Lend {
    float outcome;
    float prestige;
  };
  static constexpr std::size_t kInline =
      (64 - sizeof(float) * scenario::kContextDims - 2 * sizeof(std::uint64_t)) / sizeof(Lend);
  struct alignas(64) PeerLine {
    std::array<float, scenario::kContextDims> context;
    std::uint64_t held = 0, adopted = 0;
    std::array<Lend, kInline> lend;
  };
  static_assert(sizeof(PeerLine) == 64);
  // The inline entry of solution s of city c, or null when it has none.
  Lend* inline_lend(CityId c, std::size_t s) {
    if (s >= 64) return nullptr;
    const std::uint64_t below = peer_[c].adopted & ((std::uint64_t{1} << s) - 1);
    const auto k = static_cast<std::size_t>(std::popcount(below));
    return k < kInline ? &peer_[c].lend[k] : nullptr;
  }
  // Prestige city c lends for slot i at new_step: its size, fading with the time since it
  // adopted (fade in steps). One definition so that inline and recomputed values agree bitwise.
  float lent_prestige(CityId c, std::size_t i, Step new_step, double fade) const {
    return static_cast<float>((log_pop_[c] - 4.0) *
                              std::exp(-static_cast<double>(new_step - adopt_step_[i]) / fade));
  }
  std::size_t words_ = 1;
  std::vector<PeerLine, HugeAllocator<PeerLine>> peer_;
  std::vector<std::uint64_t> held_hi_;  // [city * (words_ - 1) + s / 64 - 1], s >= 64
  // Sum over the ties of the prefix layers of weight x (log10 population - 4), added in the order
  // observe adds the others: the same every step.
  std::vector<double> prestige_w0_;
  std::size_t max_degree_ = 0;  // over the layers with engaged flags
  // [city * words_ + s / 64] bit s: status_ adopted. Word 0 repeats peer_[c].adopted so that the
  // scans over every city (outcomes, national) read 8 bytes a city instead of a peer line.
  std::vector<std::uint64_t> adopted_bits_;
  std::vector<std::uint8_t> paying_;  // [city] some outcome_ of its row is not NaN
  // Per block of kSumBlock cities and solution: cities whose outcome is not NaN, and the sum of
  // those outcomes in city order, from the outcomes phase for record's mean payoff.
  std::vector<std::int32_t> block_paying_;
  std::vector<double> block_payoff_;
  std::vector<std::uint8_t> dirty_;  // [city] its next row may differ from its state

  std::vector<double> gdp_;
  std::vector<LayerState> ties_;
  std::int32_t slots_ = 0;

  // Countries x solutions.
  std::vector<std::vector<CityId>> country_cities_;
  std::vector<double> country_pop_;
  std::vector<std::uint8_t> national_state_;  // 0 none, 1 legislating, 2 in force
  std::vector<Step> national_since_;
  std::vector<NationalEvent> national_events_;

  std::vector<VariantRow> variants_;
  std::vector<std::int32_t> adopters_;
  std::vector<std::int32_t> aware_;
  std::vector<Event> events_;
  struct Seed {
    Step step;
    CityId city;
    SolutionId solution;
  };
  std::vector<Seed> seeds_;
  std::size_t next_seed_ = 0;

  PhaseTimers timers_;
  std::array<int, 7> phase_{};

  // Output handles.
  int out_aware_ = -1, out_payoff_ = -1, out_active_ = -1, out_trade_ = -1, out_jobs_ = -1,
      out_gdp_ = -1, out_members_ = -1, out_national_ = -1, out_drop_ = -1;
  std::vector<int> out_snap_;
  std::vector<double> mean_payoff_;
};

}  // namespace citynet::model
