#pragma once

#include <cstdint>
#include <vector>

#include "core/ids.hpp"
#include "core/timers.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "model/model.hpp"
#include "model/seeds.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

namespace citynet::model {

// The diffusion engine for the classic decision rules. State is structure of arrays indexed
// [city * solutions + solution] and double buffered: a step reads state k and writes state k+1,
// each city writing only its own row, so threads never change the result.
class Engine final : public Model {
 public:
  // Throws InputError when a seed names a city that is not loaded.
  Engine(const scenario::Scenario& scenario, const CityTable& cities, const net::Network& network,
         std::uint64_t run_key);

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
  bool adopted(CityId c, SolutionId s) const { return cur_[index(c, s)] != 0; }
  Step adopted_step(CityId c, SolutionId s) const { return adopted_step_[index(c, s)]; }
  PhaseTimers& timers() override { return timers_; }
  std::vector<VariantRow> variants() const override { return variants_; }
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
  void draw_thresholds(const scenario::RuleSpec& rule);
  void decide();
  template <scenario::RuleKind R>
  void decide_with();
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

  std::vector<std::uint8_t> cur_, next_;
  std::vector<Step> adopted_step_;
  std::vector<float> threshold_;
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

  PhaseTimers timers_;
  int phase_decide_, phase_seed_, phase_record_;
};

}  // namespace citynet::model
