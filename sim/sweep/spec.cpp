#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rng/stream.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"
#include "scenario/schema_tree.hpp"
#include "scenario/yaml_tree.hpp"
#include "sweep/design.hpp"
#include "sweep/sweep.hpp"

namespace citynet::sweep {
namespace {

namespace fs = std::filesystem;
using scenario::detail::describe;
using scenario::detail::format_number;
using scenario::detail::Value;

constexpr std::int64_t kMaxRuns = 10'000'000;
constexpr std::size_t kMaxPointProblems = 10;
// The YAML reader refuses more anyway; refusing it here avoids reading it.
constexpr std::uintmax_t kMaxSweepBytes = scenario::detail::kMaxTextBytes;

const std::vector<std::string> kTopKeys = {"name",         "description", "scenario", "seed",
                                           "replications", "set",         "design"};
const std::vector<std::string> kDesignKeys = {"kind", "parameters", "samples", "points"};
const std::vector<std::string> kDesignKinds = {"grid", "points", "lhs", "sobol", "saltelli"};

std::optional<double> read_number(const Value& v) {
  if (!v.is_scalar() || v.quoted) return std::nullopt;
  std::string_view t = v.text;
  if (t.size() > 1 && t[0] == '+') t.remove_prefix(1);
  double x = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), x);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(x))
    return std::nullopt;
  return x;
}

std::optional<std::int64_t> read_whole(const Value& v) {
  const auto x = read_number(v);
  if (!x || *x != std::floor(*x) || std::fabs(*x) > 9e15) return std::nullopt;
  return static_cast<std::int64_t>(*x);
}

// "layers[2].influence" -> "layers[].influence"; "" when the key is not well formed.
std::string schema_key_of(const std::string& key) {
  std::string out;
  std::size_t i = 0;
  while (i < key.size()) {
    const char c = key[i];
    if (c == '[') {
      const auto close = key.find(']', i);
      if (close == std::string::npos || close == i + 1) return {};
      for (std::size_t k = i + 1; k < close; ++k)
        if (key[k] < '0' || key[k] > '9') return {};
      out += "[]";
      i = close + 1;
      continue;
    }
    out += c;
    ++i;
  }
  if (out.empty() || out.front() == '.' || out.back() == '.' || out.find("..") != std::string::npos)
    return {};
  return out;
}

const scenario::Parameter* find_parameter(const std::string& schema_key) {
  for (const auto& p : scenario::parameters())
    if (p.key == schema_key) return &p;
  return nullptr;
}

std::vector<std::string> sweepable_keys() {
  std::vector<std::string> keys;
  for (const auto& p : scenario::parameters())
    if (p.type != "list" && p.type != "string_list") keys.push_back(p.key);
  return keys;
}

std::string range_text(const scenario::Parameter& p) {
  if (p.min && p.max) return format_number(*p.min) + " .. " + format_number(*p.max);
  if (p.min) return ">= " + format_number(*p.min);
  if (p.max) return "<= " + format_number(*p.max);
  return {};
}

class Reader {
 public:
  Reader(Diagnostics& diags, std::string file) : diags_(diags), file_(std::move(file)) {}

  void problem(const Location& where, const std::string& key, const std::string& message) {
    diags_.add(where, key, message);
  }

  void unknown_keys(const Value& map, const std::vector<std::string>& allowed,
                    const std::string& path) {
    for (const auto& e : map.entries) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      const std::string key = path.empty() ? e.key : path + "." + e.key;
      std::string msg = "unknown key";
      if (auto m = closest_match(e.key, allowed); !m.empty())
        msg += " (did you mean " + (path.empty() ? m : path + "." + m) + "?)";
      else
        msg += "; the keys " + (path.empty() ? std::string("at the top") : "of " + path) + " are " +
               join(allowed);
      problem(e.key_where, key, msg);
    }
  }

  static std::string join(const std::vector<std::string>& xs) {
    std::string out;
    for (std::size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + xs[i];
    return out;
  }

  // Checks that `key` names a parameter that can be varied; fills `out`.
  bool varied_key(const std::string& key, const Location& where, VariedParameter& out) {
    const std::string sk = schema_key_of(key);
    if (sk.empty()) {
      problem(where, key, "cannot read the key; write it like rule.bass.p or layers[0].influence");
      return false;
    }
    const scenario::Parameter* p = find_parameter(sk);
    if (!p) {
      std::string msg = "unknown parameter";
      if (auto m = closest_match(sk, sweepable_keys()); !m.empty())
        msg += " (did you mean " + m + "?)";
      else
        msg += "; `citynet params` lists every parameter";
      problem(where, key, msg);
      return false;
    }
    if (sk == "seed") {
      problem(where, key,
              "the sweep sets every run's seed (from its own `seed:` and the run index); use "
              "`replications:` for more runs of the same point");
      return false;
    }
    if (sk == "output.file") {
      problem(where, key, "the sweep names the run files (DIR/runs/run-NNNNNN.h5)");
      return false;
    }
    if (p->type == "list" || p->type == "string_list") {
      problem(where, key,
              "is a " + p->type +
                  "; a sweep varies single values (int, double, bool, choice, "
                  "string)");
      return false;
    }
    out.key = key;
    out.schema_key = sk;
    out.type = p->type;
    out.where = where;
    return true;
  }

  // Checks one value of a varied parameter; returns the text of its override, or nullopt.
  std::optional<std::string> value(const VariedParameter& vp, const Value& v) {
    const scenario::Parameter* p = find_parameter(vp.schema_key);
    if (!v.is_scalar()) {
      problem(v.where, vp.key, "expected a single value, got " + describe(v));
      return std::nullopt;
    }
    if (vp.type == "int" || vp.type == "double") {
      const auto x = read_number(v);
      if (!x) {
        problem(v.where, vp.key,
                std::string("expected ") + (vp.type == "int" ? "a whole number" : "a number") +
                    ", got '" + v.text + "'");
        return std::nullopt;
      }
      if (vp.type == "int" && *x != std::floor(*x)) {
        problem(v.where, vp.key, "expected a whole number, got '" + v.text + "'");
        return std::nullopt;
      }
      if (!in_range(*p, *x, vp.key, v.where, v.text)) return std::nullopt;
      return format_number(*x);
    }
    if (vp.type == "bool") {
      static const std::vector<std::string> kTrue = {"true", "True", "TRUE", "yes", "on"};
      static const std::vector<std::string> kFalse = {"false", "False", "FALSE", "no", "off"};
      if (std::find(kTrue.begin(), kTrue.end(), v.text) != kTrue.end()) return "true";
      if (std::find(kFalse.begin(), kFalse.end(), v.text) != kFalse.end()) return "false";
      problem(v.where, vp.key, "expected true or false, got '" + v.text + "'");
      return std::nullopt;
    }
    if (vp.type == "choice") {
      if (std::find(p->choices.begin(), p->choices.end(), v.text) == p->choices.end()) {
        std::string msg = "'" + v.text + "' is not one of " + join(p->choices);
        if (auto m = closest_match(v.text, p->choices); !m.empty())
          msg += " (did you mean " + m + "?)";
        problem(v.where, vp.key, msg);
        return std::nullopt;
      }
      return v.text;
    }
    // A string override is parsed as YAML: quote it so that it stays text.
    YAML::Emitter e;
    e << YAML::DoubleQuoted << v.text;
    return std::string(e.c_str());
  }

  bool in_range(const scenario::Parameter& p, double x, const std::string& key,
                const Location& where, const std::string& text) {
    if ((p.min && x < *p.min) || (p.max && x > *p.max)) {
      problem(where, key, text + " is outside the allowed range " + range_text(p));
      return false;
    }
    return true;
  }

  Diagnostics& diags_;
  std::string file_;
};

struct Bounds {
  double min = 0, max = 1;
  bool log = false;
};

// The value at `u` in [0, 1) of a continuous design. Integers are spread evenly over
// min..max (each whole number gets an equal share of [0, 1)); on a log scale they are rounded.
double scale_value(const VariedParameter& vp, const Bounds& b, double u) {
  if (b.log) {
    const double x = std::exp(std::log(b.min) + u * (std::log(b.max) - std::log(b.min)));
    if (vp.type == "int") return std::clamp(std::round(x), b.min, b.max);
    return std::clamp(x, b.min, b.max);
  }
  if (vp.type == "int") return std::min(std::floor(b.min + u * (b.max - b.min + 1.0)), b.max);
  return b.min + u * (b.max - b.min);
}

// 12 significant digits: sampled values read well in files and tables (1e-04, not
// 9.999999999999991e-05), far finer than any model responds to.
double readable(double x, const Bounds& b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", x);
  return std::clamp(std::strtod(buf, nullptr), b.min, b.max);
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec))
    throw InputError({path, 0, 0}, "", "is a directory, not a sweep file");
  if (!fs::exists(p, ec)) throw InputError({path, 0, 0}, "", "sweep file not found");
  if (fs::file_size(p, ec) > kMaxSweepBytes)
    throw InputError({path, 0, 0}, "",
                     "the file is larger than " + std::to_string(kMaxSweepBytes >> 20) +
                         " MB; a sweep is a short text file (use a design rather than listing "
                         "millions of points)");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw InputError({path, 0, 0}, "", "cannot read the sweep file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The base scenario's resolved YAML without `data_dir`, the one line that depends on where the
// checkout lives: the same sweep run from two machines has the same fingerprint.
std::string portable_scenario_yaml(const std::string& resolved) {
  std::istringstream in(resolved);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("data_dir:", 0) != 0) out += line + "\n";
  return out;
}

}  // namespace

std::string_view design_name(DesignKind kind) {
  switch (kind) {
    case DesignKind::kNone:
      return "none";
    case DesignKind::kPoints:
      return "points";
    case DesignKind::kGrid:
      return "grid";
    case DesignKind::kLatinHypercube:
      return "lhs";
    case DesignKind::kSobol:
      return "sobol";
    case DesignKind::kSaltelli:
      return "saltelli";
  }
  return "none";
}

std::uint64_t run_key_of(std::uint64_t sweep_seed, std::int64_t run_index) {
  return rng::run_key(sweep_seed, static_cast<std::uint64_t>(run_index));
}

std::string fingerprint_of(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> Sweep::overrides(std::int64_t run) const {
  std::vector<std::string> out = fixed;
  const auto& point = points.at(static_cast<std::size_t>(point_of(run)));
  for (std::size_t k = 0; k < parameters.size(); ++k)
    out.push_back(parameters[k].key + "=" + point[k]);
  out.push_back("seed=" + std::to_string(seed));
  return out;
}

std::string Sweep::describe_point(std::int64_t point) const {
  if (parameters.empty()) return "the base scenario";
  std::string out;
  const auto& values = points.at(static_cast<std::size_t>(point));
  for (std::size_t k = 0; k < parameters.size(); ++k)
    out += (k ? ", " : "") + parameters[k].key + "=" + values[k];
  return out;
}

Sweep load_sweep_text(std::string_view text, const std::string& display_name,
                      const std::string& base_dir) {
  Diagnostics diags;
  bool empty = false;
  Value doc = scenario::detail::parse_yaml(text, display_name, diags, &empty);
  diags.throw_if_any();
  if (empty || !doc.is_map()) {
    diags.add(empty ? Location{display_name, 1, 1} : doc.where, "sweep",
              "a sweep file is a map with at least `scenario:` and `design:` (see "
              "scenarios/sweeps/ and docs/sweeps.md)");
    diags.throw_if_any();
  }
  Reader rd(diags, display_name);
  rd.unknown_keys(doc, kTopKeys, "");

  Sweep sw;
  sw.source_file = display_name;
  sw.name = fs::path(display_name).stem().string();
  if (const Value* v = doc.find("name")) {
    if (v->is_scalar() && !v->text.empty())
      sw.name = v->text;
    else
      rd.problem(v->where, "name", "expected a short name, got " + describe(*v));
  }
  const Value* scen = doc.find("scenario");
  if (!scen) {
    rd.problem({display_name, doc.where.line, doc.where.column}, "scenario",
               "missing: name the base scenario file, e.g. scenario: ../world.yaml (relative to "
               "this sweep file)");
  } else if (!scen->is_scalar() || scen->text.empty()) {
    rd.problem(scen->where, "scenario", "expected a file name, got " + describe(*scen));
    scen = nullptr;
  } else {
    sw.scenario_path = scen->text;
    fs::path p(scen->text);
    if (p.is_relative()) p = fs::path(base_dir) / p;
    sw.scenario_file = p.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(sw.scenario_file, ec)) {
      rd.problem(scen->where, "scenario",
                 "base scenario " + sw.scenario_file +
                     " not found (the path is relative to the "
                     "sweep file)");
      scen = nullptr;
    }
  }
  if (const Value* v = doc.find("seed")) {
    const auto x = read_whole(*v);
    if (!x || *x < 0)
      rd.problem(v->where, "seed", "expected a whole number >= 0, got '" + v->text + "'");
    else
      sw.seed = static_cast<std::uint64_t>(*x);
  }
  if (const Value* v = doc.find("replications")) {
    const auto x = read_whole(*v);
    if (!x || *x < 1 || *x > 1'000'000)
      rd.problem(v->where, "replications",
                 "expected a whole number from 1 to 1000000, got " +
                     (v->is_scalar() ? "'" + v->text + "'" : describe(*v)));
    else
      sw.replications = *x;
  }
  std::vector<Location> fixed_where;
  if (const Value* v = doc.find("set")) {
    if (!v->is_map()) {
      rd.problem(v->where, "set",
                 "expected a map of KEY: VALUE applied to every run, got " + describe(*v));
    } else {
      for (const auto& e : v->entries) {
        VariedParameter vp;
        if (!rd.varied_key(e.key, e.key_where, vp)) continue;
        if (auto t = rd.value(vp, e.value)) {
          sw.fixed.push_back(e.key + "=" + *t);
          fixed_where.push_back(e.key_where);
        }
      }
    }
  }

  // The design: the parameters varied, and the points.
  const Value* design = doc.find("design");
  Location points_where = design ? design->where : doc.where;
  std::map<std::string, std::string> design_spec;  // canonical spec text, for resolved_yaml
  if (!design) {
    sw.kind = DesignKind::kNone;
    sw.points.push_back({});
  } else if (!design->is_map()) {
    rd.problem(
        design->where, "design",
        "expected a map with kind: grid, points, lhs, sobol or saltelli, got " + describe(*design));
  } else {
    rd.unknown_keys(*design, kDesignKeys, "design");
    const Value* kind = design->find("kind");
    std::string kind_text;
    if (!kind) {
      rd.problem(design->where, "design.kind",
                 "missing: one of grid, points, lhs, sobol, saltelli");
    } else if (!kind->is_scalar() || std::find(kDesignKinds.begin(), kDesignKinds.end(),
                                               kind->text) == kDesignKinds.end()) {
      std::string msg =
          "'" + kind->text + "' is not a design; use grid, points, lhs, sobol or saltelli";
      if (auto m = closest_match(kind->text, kDesignKinds); !m.empty())
        msg += " (did you mean " + m + "?)";
      rd.problem(kind->where, "design.kind", msg);
    } else {
      kind_text = kind->text;
    }
    const Value* params = design->find("parameters");
    const Value* samples = design->find("samples");
    const Value* pts = design->find("points");

    if (kind_text == "grid") {
      sw.kind = DesignKind::kGrid;
      if (samples)
        rd.problem(samples->where, "design.samples",
                   "a grid takes every combination; "
                   "samples: is for lhs, sobol and saltelli");
      if (pts) rd.problem(pts->where, "design.points", "points: is for kind: points");
      std::vector<std::vector<std::string>> lists;
      if (!params || !params->is_map() || params->entries.empty()) {
        rd.problem(params ? params->where : design->where, "design.parameters",
                   "a grid needs parameters: a map of KEY: [values] or KEY: {from, to, step}");
      } else {
        points_where = params->where;
        for (const auto& e : params->entries) {
          VariedParameter vp;
          if (!rd.varied_key(e.key, e.key_where, vp)) continue;
          const std::string path = "design.parameters." + e.key;
          std::vector<std::string> values;
          bool ok = true;
          if (e.value.is_list()) {
            if (e.value.items.empty()) {
              rd.problem(e.value.where, e.key, "the list of values is empty");
              ok = false;
            }
            for (const auto& item : e.value.items) {
              if (auto t = rd.value(vp, item))
                values.push_back(*t);
              else
                ok = false;
            }
          } else if (e.value.is_map()) {
            rd.unknown_keys(e.value, {"from", "to", "step"}, path);
            if (vp.type != "int" && vp.type != "double") {
              rd.problem(e.value.where, e.key,
                         "a range needs a numeric parameter; " + e.key + " is a " + vp.type +
                             ": list its values instead");
              continue;
            }
            const Value* from = e.value.find("from");
            const Value* to = e.value.find("to");
            const Value* step = e.value.find("step");
            auto need = [&](const Value* v, const char* what) -> std::optional<double> {
              if (!v) {
                rd.problem(e.value.where, path + "." + what,
                           "missing (a range is {from, to, step})");
                return std::nullopt;
              }
              auto x = read_number(*v);
              if (!x)
                rd.problem(v->where, path + "." + what, "expected a number, got " + describe(*v));
              return x;
            };
            const auto f = need(from, "from"), t = need(to, "to"), s = need(step, "step");
            if (!f || !t || !s) continue;
            if (*s <= 0 || *t < *f) {
              rd.problem(step->where, path + ".step",
                         "needs step > 0 and to >= from (from " + format_number(*f) + " to " +
                             format_number(*t) + " by " + format_number(*s) + ")");
              continue;
            }
            const double n = std::floor((*t - *f) / *s * (1 + 1e-12) + 1e-9) + 1;
            if (n > 1e6) {
              rd.problem(step->where, path + ".step", "gives more than a million values");
              continue;
            }
            for (std::int64_t k = 0; k < static_cast<std::int64_t>(n); ++k) {
              // 12 significant digits: 0.1 + 2 * 0.1 is written 0.3, as a person means it.
              char buf[32];
              std::snprintf(buf, sizeof buf, "%.12g", *f + static_cast<double>(k) * *s);
              Value item;
              item.kind = Value::Kind::kScalar;
              item.text = buf;
              item.where = e.value.where;
              if (auto v = rd.value(vp, item))
                values.push_back(*v);
              else
                ok = false;
            }
          } else {
            if (auto t = rd.value(vp, e.value))
              values.push_back(*t);
            else
              ok = false;
          }
          if (ok) {
            sw.parameters.push_back(vp);
            lists.push_back(values);
          }
        }
      }
      std::vector<std::size_t> sizes;
      double total = 1;
      for (const auto& l : lists) {
        sizes.push_back(l.size());
        total *= static_cast<double>(l.size());
      }
      if (total * static_cast<double>(sw.replications) > static_cast<double>(kMaxRuns)) {
        rd.problem(points_where, "design", "the grid has more than 10 million runs");
      } else if (diags.empty()) {
        for (const auto& combo : factorial(sizes)) {
          std::vector<std::string> point;
          for (std::size_t k = 0; k < combo.size(); ++k) point.push_back(lists[k][combo[k]]);
          sw.points.push_back(std::move(point));
        }
      }
    } else if (kind_text == "lhs" || kind_text == "sobol" || kind_text == "saltelli") {
      sw.kind = kind_text == "lhs"     ? DesignKind::kLatinHypercube
                : kind_text == "sobol" ? DesignKind::kSobol
                                       : DesignKind::kSaltelli;
      if (pts)
        rd.problem(pts->where, "design.points",
                   "points: is for kind: points; " + kind_text + " takes samples: N");
      std::int64_t n = 0;
      if (!samples) {
        rd.problem(design->where, "design.samples",
                   "missing: the number of points to sample, e.g. samples: 100");
      } else if (auto x = read_whole(*samples); !x || *x < 1 || *x > kMaxRuns) {
        rd.problem(samples->where, "design.samples",
                   "expected a whole number from 1 to 10000000, got " + describe(*samples));
      } else {
        n = *x;
      }
      std::vector<Bounds> bounds;
      if (!params || !params->is_map() || params->entries.empty()) {
        rd.problem(params ? params->where : design->where, "design.parameters",
                   "needs parameters: a map of KEY: {min: A, max: B} (scale: log optional)");
      } else {
        points_where = params->where;
        for (const auto& e : params->entries) {
          VariedParameter vp;
          if (!rd.varied_key(e.key, e.key_where, vp)) continue;
          const std::string path = "design.parameters." + e.key;
          if (vp.type != "int" && vp.type != "double") {
            rd.problem(e.key_where, e.key,
                       "is a " + vp.type + "; " + kind_text +
                           " samples numbers (int or double); use a grid for it");
            continue;
          }
          if (!e.value.is_map()) {
            rd.problem(e.value.where, e.key,
                       "expected bounds {min: A, max: B}, got " + describe(e.value));
            continue;
          }
          rd.unknown_keys(e.value, {"min", "max", "scale"}, path);
          const Value* lo = e.value.find("min");
          const Value* hi = e.value.find("max");
          const Value* sc = e.value.find("scale");
          Bounds b;
          bool ok = true;
          auto bound = [&](const Value* v, const char* what, double& into) {
            if (!v) {
              rd.problem(e.value.where, path + "." + what, "missing");
              ok = false;
              return;
            }
            if (!rd.value(vp, *v)) {
              ok = false;
              return;
            }
            into = *read_number(*v);
          };
          bound(lo, "min", b.min);
          bound(hi, "max", b.max);
          if (sc) {
            if (sc->is_scalar() && (sc->text == "log" || sc->text == "linear")) {
              b.log = sc->text == "log";
            } else {
              rd.problem(sc->where, path + ".scale",
                         "expected linear or log, got " + describe(*sc));
              ok = false;
            }
          }
          if (ok && !(b.min < b.max)) {
            rd.problem(hi->where, path, "needs min < max");
            ok = false;
          }
          if (ok && b.log && b.min <= 0) {
            rd.problem(lo->where, path, "a log scale needs min > 0");
            ok = false;
          }
          if (ok) {
            sw.parameters.push_back(vp);
            bounds.push_back(b);
          }
        }
      }
      const std::int64_t per_sample =
          sw.kind == DesignKind::kSaltelli ? static_cast<std::int64_t>(bounds.size()) + 2 : 1;
      if (n * per_sample * sw.replications > kMaxRuns) {
        rd.problem(samples->where, "design.samples", "more than 10 million runs in all");
      } else if (diags.empty() && sw.kind == DesignKind::kSaltelli) {
        // A and B are the two halves of a 2k-dimensional Sobol sequence. Its first points have
        // every coordinate equal (0, then 1/2), so A_j = B_j there: the sequence is entered
        // after a power of two at least N (as SALib does), which keeps its balance.
        const std::size_t k = bounds.size();
        std::size_t skip = 1;
        while (skip < static_cast<std::size_t>(n)) skip *= 2;
        const auto all = sobol_sequence(skip + static_cast<std::size_t>(n), 2 * k);
        for (std::size_t j = skip; j < all.size(); ++j) {
          const auto& row = all[j];
          for (std::size_t block = 0; block < k + 2; ++block) {
            std::vector<std::string> point;
            for (std::size_t d = 0; d < k; ++d) {
              const bool from_b = block == 1 || (block >= 2 && block - 2 == d);
              const double u = row[from_b ? k + d : d];
              point.push_back(
                  format_number(readable(scale_value(sw.parameters[d], bounds[d], u), bounds[d])));
            }
            sw.points.push_back(std::move(point));
          }
        }
      } else if (diags.empty()) {
        const auto unit =
            sw.kind == DesignKind::kSobol
                ? sobol_sequence(static_cast<std::size_t>(n), bounds.size())
                : latin_hypercube(static_cast<std::size_t>(n), bounds.size(), sw.seed);
        for (const auto& row : unit) {
          std::vector<std::string> point;
          for (std::size_t k = 0; k < bounds.size(); ++k)
            point.push_back(format_number(
                readable(scale_value(sw.parameters[k], bounds[k], row[k]), bounds[k])));
          sw.points.push_back(std::move(point));
        }
      }
    } else if (kind_text.empty() && params && params->is_map()) {
      // The design kind is wrong, but its keys can still be checked now rather than next time.
      for (const auto& e : params->entries) {
        VariedParameter vp;
        rd.varied_key(e.key, e.key_where, vp);
      }
    } else if (kind_text == "points") {
      sw.kind = DesignKind::kPoints;
      if (samples)
        rd.problem(samples->where, "design.samples", "samples: is for lhs, sobol and saltelli");
      if (params)
        rd.problem(params->where, "design.parameters",
                   "kind: points lists whole points under points:, each a map KEY: VALUE");
      if (!pts || !pts->is_list() || pts->items.empty()) {
        rd.problem(pts ? pts->where : design->where, "design.points",
                   "needs points: a list of maps KEY: VALUE, one per point");
      } else {
        points_where = pts->where;
        // The first point names the parameters; every other point gives the same keys.
        const Value& first = pts->items.front();
        if (first.is_map()) {
          for (const auto& e : first.entries) {
            VariedParameter vp;
            if (rd.varied_key(e.key, e.key_where, vp)) sw.parameters.push_back(vp);
          }
        }
        for (std::size_t i = 0; i < pts->items.size(); ++i) {
          const Value& p = pts->items[i];
          const std::string path = "design.points[" + std::to_string(i) + "]";
          if (!p.is_map()) {
            rd.problem(p.where, path, "expected a map KEY: VALUE, got " + describe(p));
            continue;
          }
          std::vector<std::string> point;
          bool ok = true;
          for (const auto& vp : sw.parameters) {
            const Value* v = p.find(vp.key);
            if (!v) {
              rd.problem(p.where, path,
                         "misses " + vp.key + " (every point gives the keys of the first)");
              ok = false;
              continue;
            }
            if (auto t = rd.value(vp, *v))
              point.push_back(*t);
            else
              ok = false;
          }
          for (const auto& e : p.entries) {
            const bool known =
                std::any_of(sw.parameters.begin(), sw.parameters.end(),
                            [&](const VariedParameter& vp) { return vp.key == e.key; });
            if (!known && i > 0) {
              rd.problem(e.key_where, e.key,
                         "is not in the first point; every point gives the "
                         "same keys");
              ok = false;
            }
          }
          if (ok) sw.points.push_back(std::move(point));
        }
        if (static_cast<std::int64_t>(pts->items.size()) * sw.replications > kMaxRuns)
          rd.problem(pts->where, "design.points", "more than 10 million runs in all");
      }
    }
  }
  // A key varied twice, or both fixed and varied, would silently take the last value.
  {
    std::set<std::string> seen;
    for (const auto& vp : sw.parameters)
      if (!seen.insert(vp.key).second) rd.problem(vp.where, vp.key, "is varied twice");
    for (std::size_t k = 0; k < sw.fixed.size(); ++k) {
      const std::string key = sw.fixed[k].substr(0, sw.fixed[k].find('='));
      if (seen.count(key))
        rd.problem(fixed_where[k], key, "is both set for every run and varied by the design");
    }
  }
  diags.throw_if_any();

  // The base scenario on its own, then with the fixed overrides, then with every point: all the
  // checks the loader makes, before any run starts.
  scenario::Scenario base = scenario::load_scenario_file(sw.scenario_file);
  try {
    base = scenario::load_scenario_file(sw.scenario_file, sw.fixed);
  } catch (const InputError& e) {
    for (const auto& d : e.diagnostics())
      diags.add(doc.find("set") ? doc.find("set")->where : doc.where, d.key,
                "with set: " + d.message);
    diags.throw_if_any();
  }
  for (const auto& s : base.solutions) sw.solutions.push_back(s.name);
  for (const auto& l : base.layers) sw.layers.push_back(l.name);
  std::size_t failing = 0;
  if (!sw.parameters.empty()) {
    for (std::int64_t p = 0; p < sw.point_count(); ++p) {
      try {
        (void)scenario::load_scenario_file(sw.scenario_file, sw.overrides(p * sw.replications));
      } catch (const InputError& e) {
        if (++failing > kMaxPointProblems) continue;
        std::string msg = "point " + std::to_string(p) + " (" + sw.describe_point(p) + "): ";
        for (std::size_t k = 0; k < e.diagnostics().size(); ++k)
          msg += (k ? "; " : "") +
                 (e.diagnostics()[k].key.empty() ? std::string() : e.diagnostics()[k].key + ": ") +
                 e.diagnostics()[k].message;
        diags.add(points_where, "design", msg);
      }
    }
  }
  if (failing > kMaxPointProblems)
    diags.add(points_where, "design",
              "... and " + std::to_string(failing - kMaxPointProblems) +
                  " more points the base scenario rejects");
  diags.throw_if_any();

  // The resolved sweep: what it is, with every point spelt out.
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << sw.name;
  out << YAML::Key << "scenario" << YAML::Value << YAML::DoubleQuoted << sw.scenario_path;
  out << YAML::Key << "seed" << YAML::Value << sw.seed;
  out << YAML::Key << "replications" << YAML::Value << sw.replications;
  out << YAML::Key << "set" << YAML::Value << YAML::Flow << sw.fixed;
  out << YAML::Key << "design" << YAML::Value << std::string(design_name(sw.kind));
  if (design) {
    std::ostringstream ss;
    // The design as written (normalised by yaml-cpp), for the record.
    ss << YAML::Load(std::string(text))["design"];
    out << YAML::Key << "design_spec" << YAML::Value << YAML::Literal << ss.str();
  }
  out << YAML::Key << "parameters" << YAML::Value << YAML::BeginSeq;
  for (const auto& vp : sw.parameters)
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "key" << YAML::Value << vp.key << YAML::Key
        << "type" << YAML::Value << vp.type << YAML::EndMap;
  out << YAML::EndSeq;
  out << YAML::Key << "runs" << YAML::Value << sw.runs();
  out << YAML::Key << "points" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : sw.points) out << YAML::Flow << p;
  out << YAML::EndSeq;
  out << YAML::EndMap;
  sw.resolved_yaml =
      "# Resolved sweep: every point listed; run i is replication i % replications "
      "of point i / replications.\n" +
      std::string(out.c_str()) + "\n";
  sw.scenario_yaml = portable_scenario_yaml(base.resolved_yaml);
  sw.fingerprint = fingerprint_of(sw.resolved_yaml + "\n---\n" + sw.scenario_yaml);
  return sw;
}

Sweep load_sweep_file(const std::string& path) {
  const std::string text = read_text_file(path);
  std::error_code ec;
  const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return load_sweep_text(text, path, dir.string());
}

}  // namespace citynet::sweep
