#pragma once

#include <cstdint>
#include <vector>

#include "core/ids.hpp"
#include "core/timers.hpp"
#include "core/uninit.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "model/model.hpp"
#include "model/seeds.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

namespace citynet::model {

// The diffusion engine for the classic decision rules. The adoption state is one bit per city and
// solution, a row of whole bytes per city, double buffered: a step reads state k and writes state
// k+1, each city writing only its own row, so threads never change the result. Per-slot data
// (adoption step, threshold unless fixed) is structure of arrays indexed
// [city * solutions + solution].
class Engine final : public Model {
 public:
  // kAuto runs the threshold rules on unweighted ties with the bit-sliced kernel, which gives
  // exactly the general kernel's result; kGeneral always runs the general kernel (for tests and
  // benchmarks that compare the two).
  enum class Kernel { kAuto, kGeneral };

  // Throws InputError when a seed names a city that is not loaded.
  Engine(const scenario::Scenario& scenario, const CityTable& cities, const net::Network& network,
         std::uint64_t run_key, Kernel kernel = Kernel::kAuto);

  // Applies the seeds due in the initial state (at <= time.start); returns their events.
  const std::vector<Event>& initialise() override;
  // Advances one step; returns the events of the new state, ordered by (city, solution).
  const std::vector<Event>& step() override;

  Step current_step() const { return step_; }
  double time() const override { return start_ + dt_ * step_; }
  CityId cities() const { return n_; }
  SolutionId solutions() const { return s_; }
  // Cities with each solution adopted in the current state.
  const std::vector<std::int32_t>& adopters() const override { return adopters_; }
  bool adopted(CityId c, SolutionId s) const { return bit(row(cur_, c), s); }
  Step adopted_step(CityId c, SolutionId s) const { return adopted_step_[index(c, s)]; }
  PhaseTimers& timers() override { return timers_; }
  // True when steps run on the bit-sliced threshold kernel.
  bool bitsliced() const { return bitsliced_; }
  // Adoption bits (two states), adoption steps, thresholds and the bit-sliced kernel's counts
  // needed.
  std::int64_t state_bytes() const override;
  std::vector<VariantRow> variants() const override { return variants_; }
  // One base variant per solution: the classic rules do not adapt what they adopt.
  bool variants_fixed() const override { return true; }
  void save_state(std::ostream& out) const override;
  void load_state(std::istream& in, const std::string& name) override;

 private:
  struct ExposureLayer {
    const net::Layer* layer;
    LayerId id;
    double influence;
  };

  std::size_t index(CityId c, SolutionId s) const {
    return static_cast<std::size_t>(c) * static_cast<std::size_t>(s_) + static_cast<std::size_t>(s);
  }
  // Bit rows: solution s of city c is bit s % 8 of byte s / 8 of the city's row.
  using Bits = UninitVector<std::uint64_t>;
  const unsigned char* row(const Bits& v, CityId c) const {
    return reinterpret_cast<const unsigned char*>(v.data()) +
           static_cast<std::size_t>(c) * row_bytes_;
  }
  unsigned char* row(Bits& v, CityId c) const {
    return reinterpret_cast<unsigned char*>(v.data()) + static_cast<std::size_t>(c) * row_bytes_;
  }
  static bool bit(const unsigned char* r, SolutionId s) { return (r[s >> 3] >> (s & 7)) & 1; }
  static void set_bit(unsigned char* r, SolutionId s) {
    r[s >> 3] = static_cast<unsigned char>(r[s >> 3] | (1u << (s & 7)));
  }

  void draw_thresholds(const scenario::RuleSpec& rule);
  // One stored value when the threshold is fixed, else one per city and solution.
  float threshold(CityId c, SolutionId s) const {
    return threshold_[threshold_.size() == 1 ? 0 : index(c, s)];
  }
  void prepare_bitsliced();
  double share_of(std::int64_t count, std::int64_t degree) const;
  std::int64_t needed(CityId c, SolutionId s, std::int64_t degree) const;
  void decide();
  template <scenario::RuleKind R>
  void decide_with();
  void decide_bitsliced_any();
  template <bool kOneLayer>
  void decide_bitsliced_rows();
  template <class Word, bool kOneLayer>
  void decide_bitsliced();
  template <bool kOneLayer>
  void decide_one_solution();
  void credit_last_adopter(Event& ev) const;
  void apply_seeds(Step step);
  void record();

  const net::Network& network_;
  scenario::RuleSpec rule_;
  std::uint64_t run_key_;
  CityId n_;
  SolutionId s_;
  double dt_;
  double start_;
  Step step_ = 0;

  std::size_t row_bytes_;
  Bits cur_, next_;
  UninitVector<Step> adopted_step_;
  UninitVector<float> threshold_;
  std::vector<std::int32_t> adopters_;
  // Adopters of each solution in order of adoption; the last step's newcomers are the tail from
  // new_begin_[s], which the independent cascade gives their one chance.
  std::vector<std::vector<CityId>> adopter_list_;
  std::vector<std::size_t> new_begin_;
  std::vector<SeedEvent> seeds_;
  std::size_t next_seed_ = 0;
  std::vector<ExposureLayer> exposure_;
  std::vector<Event> events_;
  std::vector<VariantRow> variants_;

  // The bit-sliced kernel: the count of adopted neighbours each city needs for each solution, by
  // degree when that decides it, else per city as `planes_` bit planes of the city's row width
  // (one int per city with one solution).
  struct Csr {
    const std::int64_t* offsets;
    const CityId* targets;
  };
  bool bitsliced_ = false;
  std::vector<Csr> csr_;  // the exposure layers
  int planes_ = 0;
  Bits need_planes_;
  std::vector<std::int32_t> need_;            // [city], one solution
  std::vector<std::int32_t> need_by_degree_;  // [degree], when the threshold is the same for all

  PhaseTimers timers_;
  int phase_decide_, phase_seed_, phase_record_;
};

}  // namespace citynet::model
