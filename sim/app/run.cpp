#include "app/run.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "app/checkpoint.hpp"
#include "core/error.hpp"
#include "io/run_file.hpp"
#include "model/cities.hpp"
#include "model/model.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"

namespace citynet::app {

RunResult run_scenario(const scenario::Scenario& scenario, const RunOptions& options) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::uint64_t key = rng::run_key(scenario.seed, options.run_index);

  const model::CityTable cities = model::load_cities(scenario, key);
  net::Network network = net::build_network(scenario, cities, key);
  if (options.edit_network) options.edit_network(cities, network);
  const auto model = model::make_model(scenario, cities, network, key);
  model::Model& engine = *model;
  if (options.edit_model) options.edit_model(engine);

  RunResult result;
  result.cities = cities.size();
  for (const auto& l : network.layers) {
    result.layers.push_back(l.name);
    result.layer_ties.push_back(l.edge_count());
    result.network_bytes += l.bytes();
  }
  result.state_bytes = engine.state_bytes();
  result.city_bytes = cities.bytes();
  for (const auto& s : scenario.solutions) result.solutions.push_back(s.name);
  result.steps = scenario.time.steps;

  // Writing is timed apart from the setup, the cities and ties included: at 10^6 cities they
  // cost more than building them.
  const auto t1 = clock::now();
  PhaseTimers& timers = engine.timers();
  const int phase_write = timers.add("write");
  // A write that fails is most often a full disk; the writer removes its partial file.
  auto writing = [&](auto&& write) {
    try {
      write();
    } catch (const RunError& e) {
      throw RunError("cannot write " + options.output + ": " + e.what() +
                     " (is the disk full?); no file was left under that name");
    }
  };
  std::unique_ptr<io::RunFileWriter> writer;
  if (!options.output.empty()) {
    PhaseTimers::Scope t(timers, phase_write);
    writer = std::make_unique<io::RunFileWriter>(options.output, scenario);
    writing([&] {
      writer->write_static(
          {scenario.seed, options.run_index, options.threads, options.volatile_metadata}, cities,
          network);
      engine.declare_output(*writer);
    });
  }
  const auto t_loop = clock::now();

  auto record = [&](const std::vector<model::Event>& events) {
    result.event_count += static_cast<std::int64_t>(events.size());
    if (options.keep_events)
      result.events.insert(result.events.end(), events.begin(), events.end());
    if (options.keep_series) {
      result.time.push_back(engine.time());
      result.adopters.push_back(engine.adopters());
    }
    if (writer) {
      PhaseTimers::Scope t(timers, phase_write);
      writing([&] {
        writer->append_events(events);
        writer->append_state(engine.time(), engine.adopters());
        engine.write_state(*writer);
      });
    }
  };

  // Checkpoints: the journal records the output as it is appended; a resumed run replays it up
  // to the checkpoint into its new file, then loads the model's state and goes on.
  std::unique_ptr<std::ofstream> journal;
  const bool checkpointing = options.checkpoint_every > 0 && writer;
  const std::string journal_file = journal_path(options.checkpoint_path);
  Step first = 0;
  if (options.resume) {
    const Checkpoint& ck = *options.resume;
    if (writer) {
      std::ifstream in(journal_path(options.checkpoint_path), std::ios::binary);
      if (!in)
        throw InputError(Location{options.checkpoint_path, 0, 0}, "",
                         "its journal " + journal_path(options.checkpoint_path) + " is missing");
      writer->replay_journal(in, ck.journal_end, journal_path(options.checkpoint_path));
    }
    std::istringstream state(ck.model_state);
    engine.load_state(state, options.checkpoint_path);
    first = ck.step;
    result.event_count = ck.event_count;
    result.steps_done = ck.step;
    if (checkpointing) {
      std::filesystem::resize_file(journal_file, ck.journal_end);
      journal = std::make_unique<std::ofstream>(journal_file, std::ios::binary | std::ios::app);
    }
  } else if (checkpointing) {
    journal = std::make_unique<std::ofstream>(journal_file, std::ios::binary | std::ios::trunc);
  }
  if (checkpointing) {
    if (!*journal) throw RunError("cannot write the checkpoint journal " + journal_file);
    writer->set_journal(journal.get());
  }
  auto checkpoint = [&](Step done) {
    journal->flush();
    if (!*journal) throw RunError("cannot write the checkpoint journal " + journal_file);
    Checkpoint ck;
    ck.scenario_yaml = scenario.resolved_yaml;
    ck.scenario_name = scenario.source_file;
    ck.run_index = options.run_index;
    ck.volatile_metadata = options.volatile_metadata;
    ck.output = options.output;
    ck.step = done;
    ck.journal_end = static_cast<std::uint64_t>(journal->tellp());
    ck.event_count = result.event_count;
    std::ostringstream state;
    engine.save_state(state);
    ck.model_state = state.str();
    write_checkpoint(options.checkpoint_path, ck);
  };

  if (!options.resume) record(engine.initialise());
  for (Step k = first; k < scenario.time.steps; ++k) {
    if (options.stop && options.stop->load()) {
      result.interrupted = true;
      break;
    }
    record(engine.step());
    ++result.steps_done;
    if (checkpointing && (k + 1) % options.checkpoint_every == 0 && k + 1 < scenario.time.steps)
      checkpoint(k + 1);
    if (options.on_step) options.on_step(k + 1, scenario.time.steps);
  }
  if (!options.keep_series) {
    result.time.push_back(engine.time());
    result.adopters.push_back(engine.adopters());
  }
  if (options.on_finish) options.on_finish(cities, network, engine);
  const auto t2 = clock::now();
  result.setup_seconds = std::chrono::duration<double>(t1 - t0).count();
  result.step_seconds = std::chrono::duration<double>(t2 - t_loop).count();
  result.wall_seconds = std::chrono::duration<double>(t2 - t0).count();
  if (writer && (!result.interrupted || options.keep_interrupted)) {
    {
      // Closing the file (final tables, buffered rows, flush) is writing too; the run's time
      // as reported includes it, the one in the file cannot.
      PhaseTimers::Scope t(timers, phase_write);
      writing([&] {
        engine.write_final(*writer);
        writer->write_variants(engine.variants());
        if (journal) {
          writer->set_journal(nullptr);
          journal.reset();
        }
        writer->finish(result.wall_seconds, !result.interrupted);
      });
    }
    result.wall_seconds = std::chrono::duration<double>(clock::now() - t0).count();
    result.output = writer->path();
    if ((checkpointing || options.resume) && !result.interrupted) {
      std::error_code ec;
      std::filesystem::remove(options.checkpoint_path, ec);
      std::filesystem::remove(journal_file, ec);
    }
  }
  for (std::size_t i = 0; i < timers.names().size(); ++i)
    result.phases.push_back({timers.names()[i], timers.seconds()[i]});
  return result;
}

}  // namespace citynet::app
