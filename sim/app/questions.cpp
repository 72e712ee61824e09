#include "app/questions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "app/run.hpp"
#include "core/error.hpp"
#include "model/city_model.hpp"
#include "net/edit.hpp"
#include "rng/stream.hpp"

namespace citynet::app {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

SolutionId find_solution(const scenario::Scenario& sc) {
  const auto& want = sc.question.solution;
  if (want.empty()) return 0;
  std::vector<std::string> names;
  for (std::size_t s = 0; s < sc.solutions.size(); ++s) {
    if (sc.solutions[s].name == want) return static_cast<SolutionId>(s);
    names.push_back(sc.solutions[s].name);
  }
  std::string msg = "no solution is named '" + want + "'";
  if (auto m = closest_match(want, names); !m.empty()) msg += " (did you mean " + m + "?)";
  throw InputError(sc.where("question.solution"), "question.solution", msg);
}

// Model time at which the adopted share of solution s first reaches `share`, linearly
// interpolated between states; NaN when it never does.
double time_to_share(const RunResult& r, SolutionId s, double share) {
  const double target = share * r.cities;
  for (std::size_t k = 0; k < r.adopters.size(); ++k) {
    const double a = r.adopters[k][s];
    if (a < target) continue;
    if (k == 0) return r.time[0];
    const double b = r.adopters[k - 1][s];
    const double f = a > b ? (target - b) / (a - b) : 1.0;
    return r.time[k - 1] + f * (r.time[k] - r.time[k - 1]);
  }
  return kNaN;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  return n ? s / n : kNaN;
}

int count_of(const std::vector<double>& v) {
  return static_cast<int>(
      std::count_if(v.begin(), v.end(), [](double x) { return !std::isnan(x); }));
}

std::string fmt(double x, int digits = 1) {
  if (std::isnan(x)) return "never";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

RunResult run_once(const scenario::Scenario& sc, int replication, RunOptions opt) {
  opt.run_index = static_cast<std::uint64_t>(replication);
  return run_scenario(sc, opt);
}

bool adoption_kind(model::EventKind k) {
  return k == model::EventKind::kSeed || k == model::EventKind::kAdopt ||
         k == model::EventKind::kMandate;
}

void isolation(const scenario::Scenario& sc, const QuestionOptions& qo) {
  const SolutionId sol = find_solution(sc);
  const auto cities = model::load_cities(sc, rng::run_key(sc.seed, 0));
  std::vector<CityId> found;
  for (CityId c = 0; c < cities.size(); ++c)
    if (cities.name[c] == sc.question.city &&
        (sc.question.country.empty() || cities.country[c] == sc.question.country))
      found.push_back(c);
  if (found.size() != 1) {
    std::string msg = found.empty()
                          ? "no loaded city is named '" + sc.question.city + "'"
                          : "'" + sc.question.city + "' names several cities; add question.country";
    if (found.empty())
      if (auto m = closest_match(sc.question.city, cities.name); !m.empty())
        msg += " (did you mean " + m + "?)";
    throw InputError(sc.where("question.city"), "question.city", msg);
  }
  const CityId x = found.front();
  const int reps = sc.question.replications;
  std::vector<double> t_net, t_iso, n_net, n_iso;
  std::int64_t ties = 0;
  for (int r = 0; r < reps; ++r) {
    for (int isolated = 0; isolated < 2; ++isolated) {
      RunOptions opt;
      opt.keep_events = true;
      opt.keep_series = false;
      opt.threads = qo.threads;
      if (!isolated && r == 0) opt.output = qo.output;
      if (isolated) {
        opt.edit_network = [&](const model::CityTable&, net::Network& net) {
          for (auto& l : net.layers) {
            if (r == 0) ties += l.degree(x);
            net::remove_city_ties(l, x);
          }
        };
        opt.edit_model = [&](model::Model& m) {
          if (auto* cm = dynamic_cast<model::CityModel*>(&m)) cm->isolate(x);
        };
      }
      const auto res = run_once(sc, r, opt);
      double first = kNaN;
      std::vector<int> holds(res.solutions.size(), 0);
      for (const auto& e : res.events) {
        if (e.city != x) continue;
        if (adoption_kind(e.kind)) {
          holds[e.solution] = 1;
          if (e.solution == sol && std::isnan(first)) first = sc.time.start + sc.time.dt * e.step;
        } else if (e.kind == model::EventKind::kDrop) {
          holds[e.solution] = 0;
        }
      }
      const double held = std::count(holds.begin(), holds.end(), 1);
      (isolated ? t_iso : t_net).push_back(first);
      (isolated ? n_iso : n_net).push_back(held);
    }
  }
  const auto& name = sc.solutions[sol].name;
  const std::string who = cities.name[x] + " (" + cities.country[x] + ")";
  std::printf("Question: what does %s lose by staying isolated?\n", who.c_str());
  std::printf("Cut off from its %lld ties, in %d runs of each world:\n",
              static_cast<long long>(ties), reps);
  auto line = [&](const char* label, const std::vector<double>& t) {
    std::printf("  %-15s adopted %s in %d of %d runs", label, name.c_str(), count_of(t), reps);
    if (count_of(t) > 0) std::printf(", on average in %s", fmt(mean_of(t)).c_str());
    std::printf("\n");
  };
  line("with its ties:", t_net);
  line("isolated:", t_iso);
  const double lag = mean_of(t_iso) - mean_of(t_net);
  if (!std::isnan(lag))
    std::printf("Answer: isolated, %s adopts %s %s %s later; ", who.c_str(), name.c_str(),
                fmt(std::abs(lag)).c_str(), lag >= 0 ? (sc.time.unit + "s").c_str() : "(earlier!)");
  else
    std::printf("Answer: isolated, %s adopts %s in %d of %d runs instead of %d; ", who.c_str(),
                name.c_str(), count_of(t_iso), reps, count_of(t_net));
  std::printf("at the end it holds %s of the %zu solutions instead of %s.\n",
              fmt(mean_of(n_iso)).c_str(), sc.solutions.size(), fmt(mean_of(n_net)).c_str());
}

void channels(const scenario::Scenario& sc, const QuestionOptions& qo) {
  const SolutionId sol = find_solution(sc);
  const int reps = sc.question.replications;
  struct Variant {
    const char* name;
    std::vector<double> t50, final_share;
  };
  Variant both{"both channels", {}, {}}, peers{"city networks only", {}, {}},
      national{"national channel only", {}, {}};
  for (int r = 0; r < reps; ++r) {
    for (int v = 0; v < 3; ++v) {
      scenario::Scenario s2 = sc;
      RunOptions opt;
      opt.threads = qo.threads;
      if (v == 0 && r == 0) opt.output = qo.output;
      if (v == 1) s2.model.national.enabled = false;
      if (v == 2) {
        // No peer can be seen: every layer emptied, no conferences, no club recruitment.
        s2.model.ties.conference_rate = 0;
        s2.model.ties.join_rate = 0;
        opt.edit_network = [](const model::CityTable& c, net::Network& net) {
          for (auto& l : net.layers) net::clear_layer(l, c.size());
        };
      }
      const auto res = run_once(s2, r, opt);
      Variant& out = v == 0 ? both : v == 1 ? peers : national;
      out.t50.push_back(time_to_share(res, sol, 0.5));
      out.final_share.push_back(static_cast<double>(res.final_adopters()[sol]) / res.cities);
    }
  }
  const auto& name = sc.solutions[sol].name;
  std::printf(
      "Question: how fast does %s spread through city networks compared with the national "
      "channel?\nTime to 50 %% of cities adopting, %d runs each:\n",
      name.c_str(), reps);
  for (const Variant* v : {&both, &peers, &national}) {
    std::printf("  %-22s reached 50 %% in %d of %d runs", v->name, count_of(v->t50), reps);
    if (count_of(v->t50) > 0) std::printf(", on average in %s", fmt(mean_of(v->t50)).c_str());
    std::printf("; %s %% of cities at the end\n", fmt(100 * mean_of(v->final_share)).c_str());
  }
  const double a = mean_of(peers.t50), b = mean_of(national.t50);
  const std::string pa = std::to_string(count_of(peers.t50)) + " of " + std::to_string(reps);
  const std::string pb = std::to_string(count_of(national.t50)) + " of " + std::to_string(reps);
  std::printf("Answer: ");
  if (!std::isnan(a) && !std::isnan(b))
    std::printf(
        "city networks alone reach 50 %% %s %ss %s than the national channel alone "
        "(reached in %s and %s runs).\n",
        fmt(std::abs(b - a)).c_str(), sc.time.unit.c_str(), a < b ? "sooner" : "later", pa.c_str(),
        pb.c_str());
  else if (!std::isnan(a))
    std::printf(
        "city networks alone reach 50 %% by %s in %s runs; the national channel alone "
        "never does (%s %% at the end).\n",
        fmt(a).c_str(), pa.c_str(), fmt(100 * mean_of(national.final_share)).c_str());
  else if (!std::isnan(b))
    std::printf(
        "the national channel alone reaches 50 %% by %s in %s runs; city networks alone "
        "never do (%s %% at the end).\n",
        fmt(b).c_str(), pb.c_str(), fmt(100 * mean_of(peers.final_share)).c_str());
  else
    std::printf(
        "neither channel alone reaches 50 %%: %s %% with city networks, %s %% with the "
        "national channel, %s %% with both.\n",
        fmt(100 * mean_of(peers.final_share)).c_str(),
        fmt(100 * mean_of(national.final_share)).c_str(),
        fmt(100 * mean_of(both.final_share)).c_str());
}

void sister_ties(const scenario::Scenario& sc, const QuestionOptions& qo) {
  LayerId layer = -1;
  std::vector<std::string> names;
  for (std::size_t l = 0; l < sc.layers.size(); ++l) {
    if (sc.layers[l].name == sc.question.layer) layer = static_cast<LayerId>(l);
    names.push_back(sc.layers[l].name);
  }
  if (layer < 0) {
    std::string msg = "no layer is named '" + sc.question.layer + "'";
    if (auto m = closest_match(sc.question.layer, names); !m.empty())
      msg += " (did you mean " + m + "?)";
    throw InputError(sc.where("question.layer"), "question.layer", msg);
  }
  if (sc.rule.kind != scenario::RuleKind::kCity)
    throw InputError(sc.where("rule.kind"), "rule.kind",
                     "the sister_ties question needs the city rule, whose ties live and trade");
  const int reps = sc.question.replications;
  double n_active = 0, n_dormant = 0, ad_active = 0, ad_dormant = 0, tr_active = 0, tr_dormant = 0;
  for (int r = 0; r < reps; ++r) {
    RunOptions opt;
    opt.threads = qo.threads;
    opt.keep_events = true;
    opt.keep_series = false;
    if (r == 0) opt.output = qo.output;
    std::vector<std::int8_t> active_tie;  // per CSR entry of the layer at the end
    std::vector<std::int64_t> offsets;
    std::vector<CityId> targets;
    opt.on_finish = [&](const model::CityTable&, const net::Network& net, const model::Model& m) {
      const auto* cm = dynamic_cast<const model::CityModel*>(&m);
      const net::Layer* L = &net.layers[layer];
      offsets = L->offsets;
      targets = L->targets;
      active_tie.assign(L->targets.size(), 0);
      for (CityId c = 0; c + 1 < static_cast<CityId>(L->offsets.size()); ++c)
        for (std::int64_t k = L->offsets[c]; k < L->offsets[c + 1]; ++k) {
          // A tie unused for about a year has lost half its weight.
          const bool live = cm->tie_weight(layer, k) >= 0.5f;
          active_tie[k] = live;
          if (L->targets[k] < c) continue;  // count each undirected tie once
          (live ? n_active : n_dormant) += 1;
          (live ? tr_active : tr_dormant) += cm->trade(layer, k);
        }
    };
    const auto res = run_once(sc, r, opt);
    for (const auto& e : res.events) {
      if (e.kind != model::EventKind::kAdopt || e.layer != layer || e.source < 0) continue;
      const auto b = targets.begin() + offsets[e.city];
      const auto en = targets.begin() + offsets[e.city + 1];
      const auto it = std::lower_bound(b, en, e.source);
      if (it == en || *it != e.source) continue;
      (active_tie[it - targets.begin()] ? ad_active : ad_dormant) += 1;
    }
  }
  const double na = n_active / reps, nd = n_dormant / reps;
  std::printf("Question: do unused sister-city ties decay, and what do active ones create?\n");
  std::printf(
      "At the end of %d runs, on average %s of the %s ties of layer '%s' are active "
      "(weight >= 0.5) and %s dormant.\n",
      reps, fmt(na, 0).c_str(), fmt(na + nd, 0).c_str(), sc.question.layer.c_str(),
      fmt(nd, 0).c_str());
  const double ta = n_active > 0 ? tr_active / n_active : kNaN;
  const double td = n_dormant > 0 ? tr_dormant / n_dormant : kNaN;
  const double aa = n_active > 0 ? ad_active / n_active : kNaN;
  const double ad = n_dormant > 0 ? ad_dormant / n_dormant : kNaN;
  std::printf("  active ties:  %s trade units and %s adoptions carried per tie\n",
              fmt(ta, 2).c_str(), fmt(aa, 3).c_str());
  std::printf("  dormant ties: %s trade units and %s adoptions carried per tie\n",
              fmt(td, 2).c_str(), fmt(ad, 3).c_str());
  std::printf(
      "Answer: %s %% of sister ties fell dormant; an active tie holds %s times the trade "
      "of a dormant one and carried %s times as many adoptions.\n",
      fmt(100 * nd / std::max(1.0, na + nd), 0).c_str(), fmt(td > 0 ? ta / td : kNaN).c_str(),
      fmt(ad > 0 ? aa / ad : kNaN).c_str());
}

void south_north(const scenario::Scenario& sc, const QuestionOptions& qo) {
  const int reps = sc.question.replications;
  double n_to_n = 0, s_to_n = 0, n_to_s = 0, s_to_s = 0, dev_adopters = 0, all_adopters = 0;
  for (int r = 0; r < reps; ++r) {
    RunOptions opt;
    opt.threads = qo.threads;
    opt.keep_events = true;
    opt.keep_series = false;
    if (r == 0) opt.output = qo.output;
    std::vector<std::uint8_t> developed;
    opt.on_finish = [&](const model::CityTable& cities, const net::Network&,
                        const model::Model& m) {
      if (const auto* cm = dynamic_cast<const model::CityModel*>(&m))
        developed = cm->attributes().developed;
      else
        developed = model::derive_attributes(sc, cities, rng::run_key(sc.seed, 0)).developed;
    };
    const auto res = run_once(sc, r, opt);
    for (const auto& e : res.events) {
      if (!adoption_kind(e.kind)) continue;
      all_adopters += 1;
      dev_adopters += developed[e.city];
      if (e.source < 0) continue;
      const bool to_north = developed[e.city], from_north = developed[e.source];
      (to_north ? (from_north ? n_to_n : s_to_n) : (from_north ? n_to_s : s_to_s)) += 1;
    }
  }
  const double north_share = all_adopters > 0 ? dev_adopters / all_adopters : kNaN;
  const double into_north = n_to_n + s_to_n, into_south = n_to_s + s_to_s;
  const double s_share = into_north > 0 ? s_to_n / into_north : kNaN;
  const double n_share = into_south > 0 ? n_to_s / into_south : kNaN;
  std::printf(
      "Question: does knowledge flow from the Global South to the North as readily as the "
      "other way?\n");
  std::printf(
      "Over %d runs, %s adoptions came through a peer. High-income (M49 developed) cities "
      "made %s %% of all adoptions.\n",
      reps, fmt((into_north + into_south) / reps, 0).c_str(), fmt(100 * north_share).c_str());
  std::printf("  into high-income cities:  %s %% from lower-income peers (parity: %s %%)\n",
              fmt(100 * s_share).c_str(), fmt(100 * (1 - north_share)).c_str());
  std::printf("  into lower-income cities: %s %% from high-income peers (parity: %s %%)\n",
              fmt(100 * n_share).c_str(), fmt(100 * north_share).c_str());
  const double south_north_ratio = s_share / (1 - north_share);
  const double north_south_ratio = n_share / north_share;
  std::printf(
      "Answer: South-to-North flows run at %s of parity and North-to-South at %s: "
      "knowledge %s.\n",
      fmt(south_north_ratio, 2).c_str(), fmt(north_south_ratio, 2).c_str(),
      south_north_ratio < north_south_ratio ? "flows more readily from North to South"
                                            : "flows South to North at least as readily");
}

}  // namespace

void answer_question(const scenario::Scenario& sc, const QuestionOptions& qo) {
  switch (sc.question.kind) {
    case scenario::QuestionKind::kIsolation:
      isolation(sc, qo);
      break;
    case scenario::QuestionKind::kChannels:
      channels(sc, qo);
      break;
    case scenario::QuestionKind::kSisterTies:
      sister_ties(sc, qo);
      break;
    case scenario::QuestionKind::kSouthNorth:
      south_north(sc, qo);
      break;
    case scenario::QuestionKind::kNone:
      break;
  }
}

}  // namespace citynet::app
