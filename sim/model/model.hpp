#pragma once

#include <array>
#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/timers.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "net/network.hpp"
#include "scenario/city_spec.hpp"
#include "scenario/scenario.hpp"

namespace citynet::io {
class RunFileWriter;
}

namespace citynet::model {

// A variant of a solution: the base design (one per solution, ids 0..S-1) or a re-invention by
// a city, with its parent so that lineage can be followed back.
struct VariantRow {
  std::int32_t id;
  SolutionId solution;
  std::int32_t parent;  // -1 for a base variant
  CityId creator;       // -1 for a base variant
  Step step;
  float completeness;  // share of the design's features in place (partial adoption)
  std::array<float, scenario::kContextDims> design;
};

// A national government's decision.
enum class NationalForm : std::int8_t { kMandate = 0, kSubsidy = 1 };
struct NationalEvent {
  std::int32_t country;  // index into Model::countries()
  SolutionId solution;
  Step step;
  NationalForm form;
};

// What run_scenario drives: the classic engine or the city model. One virtual call per step,
// none per city.
class Model {
 public:
  virtual ~Model() = default;
  // The initial state's events (seeds due at time.start).
  virtual const std::vector<Event>& initialise() = 0;
  // Advances one step; the new state's events in (city, solution) order.
  virtual const std::vector<Event>& step() = 0;
  virtual double time() const = 0;
  virtual const std::vector<std::int32_t>& adopters() const = 0;
  virtual PhaseTimers& timers() = 0;
  virtual std::vector<VariantRow> variants() const = 0;
  // Whether variants() stays as it is from construction on: its table can then be written while
  // the run goes, not after it.
  virtual bool variants_fixed() const { return false; }
  // Bytes of the state the model keeps per city and solution, for memory reports; 0 when the
  // model does not count them.
  virtual std::int64_t state_bytes() const { return 0; }

  // Datasets beyond /series/adopters and /events: declared once, written after every state.
  virtual void declare_output(io::RunFileWriter& writer) { (void)writer; }
  virtual void write_state(io::RunFileWriter& writer) { (void)writer; }
  virtual void write_final(io::RunFileWriter& writer) { (void)writer; }

  // The whole dynamic state, for checkpoints: a model built from the same scenario, cities and
  // network that loads it continues exactly where the saved one was. Random numbers need no
  // state: every draw is keyed by (run key, step, city, purpose).
  virtual void save_state(std::ostream& out) const = 0;
  virtual void load_state(std::istream& in, const std::string& name) = 0;
};

// The model the scenario's rule asks for.
std::unique_ptr<Model> make_model(const scenario::Scenario& scenario, const CityTable& cities,
                                  const net::Network& network, std::uint64_t run_key);

}  // namespace citynet::model
