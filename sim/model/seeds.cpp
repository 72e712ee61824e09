#include "model/seeds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_set>

#include "core/error.hpp"
#include "rng/stream.hpp"

namespace citynet::model {

Step step_of_time(double at, double start, double dt) {
  const double k = std::ceil((at - start) / dt - 1e-9);
  if (k <= 0) return 0;
  if (k > 2.0e9) return std::numeric_limits<Step>::max();
  return static_cast<Step>(k);
}

std::vector<SeedEvent> resolve_seeds(const scenario::Scenario& scenario, const CityTable& cities,
                                     std::uint64_t run_key) {
  const CityId n_ = cities.size();
  const auto s_ = static_cast<SolutionId>(scenario.solutions.size());
  const double start_ = scenario.time.start, dt_ = scenario.time.dt;
  std::vector<SeedEvent> seeds_;
  Diagnostics diags;
  for (SolutionId s = 0; s < s_; ++s) {
    const auto& sol = scenario.solutions[s];
    const std::string prefix = "solutions[" + std::to_string(s) + "]";
    for (std::size_t k = 0; k < sol.seeds.size(); ++k) {
      const auto& seed = sol.seeds[k];
      const std::string key = prefix + ".seeds[" + std::to_string(k) + "]";
      std::vector<CityId> found;
      for (CityId c = 0; c < n_; ++c) {
        if (seed.id >= 0) {
          if (cities.id[c] == seed.id) found.push_back(c);
        } else if (cities.name[c] == seed.city &&
                   (seed.country.empty() || cities.country[c] == seed.country)) {
          found.push_back(c);
        }
      }
      if (found.empty()) {
        std::string msg;
        if (seed.id >= 0) {
          msg = "no loaded city has id " + std::to_string(seed.id);
        } else {
          msg = "no loaded city is named '" + seed.city + "'" +
                (seed.country.empty() ? "" : " in country " + seed.country);
          std::vector<std::string> names;
          for (CityId c = 0; c < n_; ++c)
            if (seed.country.empty() || cities.country[c] == seed.country)
              names.push_back(cities.name[c]);
          if (auto m = closest_match(seed.city, names); !m.empty())
            msg += " (did you mean " + m + "?)";
        }
        diags.add(seed.where, key, msg);
        continue;
      }
      if (found.size() > 1) {
        std::string msg =
            "'" + seed.city + "' names " + std::to_string(found.size()) + " loaded cities (";
        for (std::size_t i = 0; i < found.size() && i < 5; ++i)
          msg += (i ? ", " : "") + cities.country[found[i]] + " id " +
                 std::to_string(cities.id[found[i]]);
        msg += found.size() > 5 ? ", ...)" : ")";
        msg += "; add `country:` or use `id:`";
        diags.add(seed.where, key, msg);
        continue;
      }
      seeds_.push_back({step_of_time(seed.at, start_, dt_), found.front(), s});
    }
    if (sol.random_seeds > 0) {
      if (sol.random_seeds > n_) {
        diags.add(scenario.where(prefix + ".random_seeds"), prefix + ".random_seeds",
                  std::to_string(sol.random_seeds) + " random seeds but only " +
                      std::to_string(n_) + " cities are loaded");
        continue;
      }
      // Floyd's sampling without replacement: k draws for k seeds, whatever the city count.
      rng::Stream rng(run_key, 0, 0, rng::Purpose::kSeeds, static_cast<std::uint32_t>(s));
      std::unordered_set<CityId> chosen;
      for (std::int64_t j = n_ - sol.random_seeds; j < n_; ++j) {
        const auto t = static_cast<CityId>(rng.below(static_cast<std::uint64_t>(j) + 1));
        chosen.insert(chosen.count(t) ? static_cast<CityId>(j) : t);
      }
      std::vector<CityId> sorted(chosen.begin(), chosen.end());
      std::sort(sorted.begin(), sorted.end());
      const Step at = step_of_time(sol.random_seeds_at, start_, dt_);
      for (CityId c : sorted) seeds_.push_back({at, c, s});
    }
  }
  diags.throw_if_any();
  std::sort(seeds_.begin(), seeds_.end(), [](const SeedEvent& a, const SeedEvent& b) {
    if (a.step != b.step) return a.step < b.step;
    if (a.city != b.city) return a.city < b.city;
    return a.solution < b.solution;
  });
  return seeds_;
}

}  // namespace citynet::model
