#include "scenario/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "core/embedded.hpp"
#include "scenario/schema_tree.hpp"
#include "scenario/yaml_tree.hpp"

namespace citynet::scenario {
namespace {

namespace fs = std::filesystem;
using detail::SchemaNode;
using detail::Value;

constexpr std::string_view kDefaultScenario = "scenarios/world.yaml";
constexpr std::string_view kOverrideFile = "--set";
// Whole-document problems have no key of their own; this names them in messages.
constexpr std::string_view kDocumentKey = "scenario";

std::string child_path(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

std::string item_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scalars

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool looks_non_finite(const std::string& text) {
  std::string t = lower(text);
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.erase(0, 1);
  return t == ".nan" || t == ".inf" || t == "nan" || t == "inf" || t == "infinity";
}

std::string non_finite_message(const std::string& text) {
  return "'" + text + "' is not a finite number; give an ordinary number";
}

// Reads a whole decimal number; std::nullopt when `text` is not one. Sets `too_large` for numbers
// beyond the range of a double.
std::optional<double> read_double(const std::string& text, bool* too_large) {
  *too_large = false;
  std::string_view t = text;
  if (t.size() > 1 && t[0] == '+' && t[1] != '-') t.remove_prefix(1);
  double x = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), x);
  if (r.ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  if (r.ec == std::errc::result_out_of_range) {
    *too_large = true;
    return std::nullopt;
  }
  if (r.ec != std::errc()) return std::nullopt;
  return x;
}

// The range check shared by ints and doubles; "" when `x` is allowed.
std::string range_problem(const SchemaNode& s, double x, const std::string& text) {
  if (s.min && (s.min_exclusive ? x <= *s.min : x < *s.min))
    return s.min_exclusive ? text + " must be greater than " + detail::format_number(*s.min)
                           : text + " is below the minimum " + detail::format_number(*s.min);
  if (s.max && x > *s.max) return text + " is above the maximum " + detail::format_number(*s.max);
  return {};
}

// A validated value of the schema, defaults filled in. Leaves hold one of the typed fields;
// groups and list items hold one field per schema child, in schema order.
struct Resolved {
  const SchemaNode* schema = nullptr;
  Location where;
  bool written = false;
  bool ok = true;  // a leaf whose value passed its checks (only then do cross-checks use it)
  std::int64_t i = 0;
  double d = 0.0;
  bool b = false;
  std::string s;
  std::vector<std::string> strings;
  std::vector<Location> string_where;
  std::vector<Resolved> fields;
  std::vector<Resolved> items;

  const Resolved& operator[](std::string_view name) const {
    for (const auto& f : fields)
      if (f.schema->name == name) return f;
    throw std::logic_error("scenario schema has no field " + std::string(name));
  }
  Resolved& operator[](std::string_view name) {
    return const_cast<Resolved&>(std::as_const(*this)[name]);
  }
};

// Fills the typed value of leaf `r` from `v`; returns what is wrong, or "".
std::string read_leaf(const SchemaNode& s, const Value& v, Resolved& r) {
  const std::string& t = v.text;
  if (v.is_null()) {
    const std::string def = detail::default_text(s);
    return "no value given; write one" +
           (def.empty() ? std::string() : ", or leave the key out to use the default " + def);
  }
  if (s.type == "string_list") {
    if (!v.is_list()) return "expected a list of names like [a, b], got " + describe(v);
    for (const auto& item : v.items) {
      if (!item.is_scalar())
        return "expected a list of names like [a, b], but an item is " + describe(item);
      r.strings.push_back(item.text);
      r.string_where.push_back(item.where);
    }
    return {};
  }
  if (!v.is_scalar()) {
    static const std::map<std::string, std::string> kWhat = {
        {"int", "a whole number"},
        {"double", "a number"},
        {"bool", "true or false"},
        {"string", "text"},
        {"choice", "one of " + join(s.choices, ", ")}};
    return "expected " + kWhat.at(s.type) + ", got " + describe(v);
  }
  if (s.type == "string") {
    r.s = t;
    return {};
  }
  if (s.type == "choice") {
    if (std::find(s.choices.begin(), s.choices.end(), t) != s.choices.end()) {
      r.s = t;
      return {};
    }
    std::string msg = "'" + t + "' is not one of " + join(s.choices, ", ");
    const std::string guess = closest_match(lower(t), s.choices);
    if (!guess.empty()) msg += " (did you mean " + guess + "?)";
    return msg;
  }
  if (s.type == "bool") {
    static const std::vector<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes",
                                                   "YES",  "on",   "On",   "ON"};
    static const std::vector<std::string> kFalse = {"false", "False", "FALSE", "no", "No",
                                                    "NO",    "off",   "Off",   "OFF"};
    if (std::find(kTrue.begin(), kTrue.end(), t) != kTrue.end()) {
      r.b = true;
      return {};
    }
    if (std::find(kFalse.begin(), kFalse.end(), t) != kFalse.end()) {
      r.b = false;
      return {};
    }
    return "expected true or false, got '" + t + "'";
  }
  if (looks_non_finite(t)) return non_finite_message(t);
  bool too_large = false;
  if (s.type == "int") {
    std::string_view digits = t;
    if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-') digits.remove_prefix(1);
    std::int64_t x = 0;
    const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), x);
    if (res.ec == std::errc() && res.ptr == digits.data() + digits.size() && !digits.empty()) {
      if (auto p = range_problem(s, static_cast<double>(x), t); !p.empty()) return p;
      r.i = x;
      return {};
    }
    // Not a plain integer: 1e3 and 1000.0 are fine, 1e12 must fail the range check, not wrap.
    const auto d = read_double(t, &too_large);
    if (too_large) return "'" + t + "' is too large a number";
    if (!d) return "expected a whole number, got '" + t + "'";
    if (!std::isfinite(*d)) return non_finite_message(t);
    if (*d != std::floor(*d)) return "expected a whole number, got '" + t + "'";
    if (auto p = range_problem(s, *d, t); !p.empty()) return p;
    if (std::fabs(*d) >= 9.2e18) return "'" + t + "' is too large a number";
    r.i = static_cast<std::int64_t>(*d);
    return {};
  }
  // double
  const auto d = read_double(t, &too_large);
  if (too_large) return "'" + t + "' is beyond the range of numbers citynet can hold";
  if (!d) return "expected a number, got '" + t + "'";
  if (!std::isfinite(*d)) return non_finite_message(t);
  if (auto p = range_problem(s, *d, t); !p.empty()) return p;
  r.d = *d;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Validation against the schema

class Validator {
 public:
  explicit Validator(Diagnostics& diags) : diags_(diags) {}

  Resolved group(const SchemaNode& s, const Value* v, const std::string& path,
                 const Location& parent_where, bool report_missing) {
    Resolved r;
    r.schema = &s;
    r.where = v ? v->where : parent_where;
    r.written = v != nullptr;
    if (v && !v->is_map() && !v->is_null()) {
      diags_.add(v->where, path.empty() ? std::string(kDocumentKey) : path,
                 "expected a map of keys (" + example_keys(s) + "), got " + describe(*v));
      v = nullptr;
      report_missing = false;
    }
    if (v) {
      for (const auto& e : v->entries)
        if (!s.child(e.key))
          diags_.add(e.key_where, child_path(path, e.key), unknown_key_message(s, path, e.key));
    }
    for (const auto& c : s.children) {
      const Value* cv = v ? v->find(c.name) : nullptr;
      r.fields.push_back(node(c, cv, child_path(path, c.name), r.where, report_missing));
    }
    return r;
  }

  Resolved node(const SchemaNode& s, const Value* v, const std::string& path,
                const Location& parent_where, bool report_missing) {
    switch (s.kind) {
      case SchemaNode::Kind::kGroup:
        return group(s, v, path, parent_where, report_missing);
      case SchemaNode::Kind::kList:
        return list(s, v, path, parent_where);
      case SchemaNode::Kind::kLeaf:
        return leaf(s, v, path, parent_where, report_missing);
    }
    return {};
  }

  static std::string unknown_key_message(const SchemaNode& s, const std::string& path,
                                         const std::string& key) {
    const std::string guess = closest_match(key, s.child_names());
    if (!guess.empty()) return "unknown key (did you mean " + child_path(path, guess) + "?)";
    // A real key put at the wrong level, such as `steps:` at the top instead of under `time:`.
    if (const SchemaNode* elsewhere = find_by_name(detail::schema_root(), key))
      return "unknown key here (did you mean " + elsewhere->key + "?)";
    return "unknown key; the keys " + (path.empty() ? std::string("at the top") : "of " + path) +
           " are " + join(s.child_names(), ", ");
  }

 private:
  static const SchemaNode* find_by_name(const SchemaNode& n, const std::string& name) {
    for (const auto& c : n.children) {
      if (c.name == name && c.key.find("[]") == std::string::npos) return &c;
      if (c.kind == SchemaNode::Kind::kGroup)
        if (const SchemaNode* f = find_by_name(c, name)) return f;
    }
    return nullptr;
  }

  static std::string example_keys(const SchemaNode& s) {
    auto names = s.child_names();
    if (names.size() > 4) {
      names.resize(4);
      names.push_back("...");
    }
    return join(names, ", ");
  }

  Resolved list(const SchemaNode& s, const Value* v, const std::string& path,
                const Location& parent_where) {
    Resolved r;
    r.schema = &s;
    r.where = v ? v->where : parent_where;
    r.written = v != nullptr;
    if (v && !v->is_list() && !v->is_null()) {
      diags_.add(v->where, path,
                 "expected a list (one entry per line starting with '- '), got " + describe(*v));
      return r;
    }
    if (v && v->is_list()) {
      for (std::size_t i = 0; i < v->items.size(); ++i) {
        const Value& item = v->items[i];
        const std::string ip = item_path(path, i);
        if (!item.is_map()) {
          diags_.add(item.where, ip,
                     "expected a map of keys (" + example_keys(s) + ") for each entry, got " +
                         describe(item));
          r.items.push_back(group_of(s, nullptr, ip, item.where, false));
          r.items.back().ok = false;
          continue;
        }
        r.items.push_back(group_of(s, &item, ip, item.where, true));
      }
    }
    if (r.items.size() < s.min_items)
      diags_.add(r.where, path,
                 "no " + s.name + " given; list at least " + std::to_string(s.min_items) +
                     " (each entry starts with '- ')");
    return r;
  }

  // A list item: a group whose members are the list's item fields.
  Resolved group_of(const SchemaNode& list, const Value* v, const std::string& path,
                    const Location& where, bool report_missing) {
    Resolved r = group(list, v, path, where, report_missing);
    r.schema = &list;
    return r;
  }

  Resolved leaf(const SchemaNode& s, const Value* v, const std::string& path,
                const Location& parent_where, bool report_missing) {
    Resolved r;
    r.schema = &s;
    r.written = v != nullptr;
    r.where = v ? v->where : parent_where;
    if (!v) {
      if (s.required) {
        r.ok = false;
        if (report_missing)
          diags_.add(parent_where, path,
                     "missing required key '" + s.name + "' (" +
                         (s.choices.empty() ? s.doc : "one of " + join(s.choices, ", ")) + ")");
        return r;
      }
      const std::string err = read_leaf(s, *s.default_value, r);
      if (!err.empty()) throw std::logic_error("default of " + s.key + ": " + err);
      return r;
    }
    if (const std::string err = read_leaf(s, *v, r); !err.empty()) {
      r.ok = false;
      diags_.add(v->where, path, err);
    }
    return r;
  }

  Diagnostics& diags_;
};

// ---------------------------------------------------------------------------------------------
// Overrides: KEY=VALUE on top of the file

struct Segment {
  std::string name;
  std::optional<std::size_t> index;
};

std::optional<std::vector<Segment>> split_key(const std::string& key) {
  std::vector<Segment> segs;
  std::size_t pos = 0;
  while (pos <= key.size()) {
    std::size_t end = key.find('.', pos);
    if (end == std::string::npos) end = key.size();
    std::string part = key.substr(pos, end - pos);
    Segment seg;
    if (const auto open = part.find('['); open != std::string::npos) {
      if (part.back() != ']') return std::nullopt;
      const std::string digits = part.substr(open + 1, part.size() - open - 2);
      std::size_t idx = 0;
      const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
      if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size())
        return std::nullopt;
      seg.index = idx;
      part.resize(open);
    }
    if (part.empty()) return std::nullopt;
    seg.name = part;
    segs.push_back(std::move(seg));
    pos = end + 1;
  }
  return segs;
}

void relocate(Value& v, const Location& where) {
  v.where = where;
  for (auto& e : v.entries) {
    e.key_where = where;
    relocate(e.value, where);
  }
  for (auto& i : v.items) relocate(i, where);
}

void apply_override(Value& root, const std::string& text, Diagnostics& diags) {
  const Location here{std::string(kOverrideFile), 0, 0};
  const auto eq = text.find('=');
  auto trim = [](const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  if (eq == std::string::npos) {
    diags.add(here, trim(text),
              "expected KEY=VALUE, e.g. rule.bass.p=0.05 or layers[0].influence=0.5");
    return;
  }
  const std::string key = trim(text.substr(0, eq));
  const std::string value_text = trim(text.substr(eq + 1));
  const auto segs = split_key(key);
  if (!segs) {
    diags.add(here, key, "cannot read the key; write it like rule.bass.p or layers[0].influence");
    return;
  }

  Value value;
  if (value_text.empty()) {
    value.kind = Value::Kind::kScalar;
    value.quoted = true;
  } else {
    Diagnostics parse_diags;
    value = detail::parse_yaml(value_text, std::string(kOverrideFile), parse_diags);
    if (!parse_diags.empty()) {
      diags.add(here, key,
                "cannot read the value '" + value_text + "': " + parse_diags.items()[0].message);
      return;
    }
  }
  relocate(value, here);

  if (!root.is_map()) {
    root = Value{};
    root.kind = Value::Kind::kMap;
  }
  const SchemaNode* group = &detail::schema_root();
  Value* cur = &root;
  std::string path;
  for (std::size_t k = 0; k < segs->size(); ++k) {
    const Segment& seg = (*segs)[k];
    const bool last = k + 1 == segs->size();
    const SchemaNode* s = group->child(seg.name);
    if (!s) {
      diags.add(here, key, Validator::unknown_key_message(*group, path, seg.name));
      return;
    }
    path = child_path(path, seg.name);
    if (!cur->is_map()) {
      *cur = Value{};
      cur->kind = Value::Kind::kMap;
      cur->where = here;
    }
    Value* slot = cur->find(seg.name);
    if (seg.index) {
      if (s->kind != SchemaNode::Kind::kList) {
        diags.add(here, key,
                  path + " is not a list; leave out [" + std::to_string(*seg.index) + "]");
        return;
      }
      const std::size_t n = slot && slot->is_list() ? slot->items.size() : 0;
      if (*seg.index >= n) {
        diags.add(here, key,
                  item_path(path, *seg.index) + " does not exist: the scenario has " +
                      std::to_string(n) + " " + path +
                      (n ? " (" + item_path(path, 0) + " to " + item_path(path, n - 1) + ")" : ""));
        return;
      }
      slot = &slot->items[*seg.index];
      path = item_path(path, *seg.index);
      if (last) {
        *slot = std::move(value);
        return;
      }
      group = s;
      cur = slot;
      continue;
    }
    if (!slot) {
      cur->entries.push_back({seg.name, here, Value{}});
      slot = &cur->entries.back().value;
      slot->where = here;
    }
    if (last) {
      *slot = std::move(value);
      return;
    }
    if (s->kind == SchemaNode::Kind::kList) {
      diags.add(here, key,
                path + " is a list; name one entry, e.g. " + path + "[0]." + (*segs)[k + 1].name);
      return;
    }
    if (s->kind == SchemaNode::Kind::kLeaf) {
      diags.add(here, key, path + " is a single value with no keys inside; set " + path + "=...");
      return;
    }
    group = s;
    cur = slot;
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-checks that need several values at once

std::string resolve_data_dir(const std::string& written, const std::string& base_dir) {
  if (written == kBuiltInDataDir) return written;
  if (written.empty() && base_dir == kBuiltInDataDir) return base_dir;
  std::error_code ec;
  fs::path base =
      base_dir.empty() || base_dir == kBuiltInDataDir ? fs::current_path(ec) : fs::path(base_dir);
  fs::path p = written.empty() ? base : fs::path(written);
  if (p.is_relative()) p = base / p;
  std::string out = fs::absolute(p, ec).lexically_normal().string();
  if (ec) out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Where a data file named in the scenario is looked for, as messages show it.
std::string data_file_display(const std::string& data_dir, const std::string& file) {
  if (data_dir == kBuiltInDataDir) return std::string(kBuiltInDataDir) + "/scenarios/" + file;
  fs::path p(file);
  if (p.is_relative()) p = fs::path(data_dir) / p;
  return p.lexically_normal().string();
}

bool data_file_exists(const std::string& data_dir, const std::string& file) {
  if (data_dir == kBuiltInDataDir) return read_data_file(data_dir, file).has_value();
  // On disk only the existence is checked: data files can be large and are read once, later.
  std::error_code ec;
  const fs::path p = data_file_display(data_dir, file);
  if (!fs::is_regular_file(p, ec)) return false;
  std::ifstream in(p, std::ios::binary);
  return static_cast<bool>(in);
}

void check_file(const Resolved& file, const std::string& key, const std::string& data_dir,
                Diagnostics& diags) {
  if (!file.ok || file.s.empty() || data_file_exists(data_dir, file.s)) return;
  diags.add(file.where, key,
            "file not found: " + data_file_display(data_dir, file.s) +
                " (relative paths are taken from data_dir)");
}

void cross_check(const Resolved& root, const std::string& data_dir, Diagnostics& diags) {
  const Resolved& cities = root["cities"];
  if (cities["source"].ok && cities["source"].s == "csv") {
    const Resolved& file = cities["file"];
    if (file.ok && file.s.empty()) {
      const Location& where = file.written ? file.where : cities["source"].where;
      diags.add(where, "cities.file",
                "cities.source is csv but no cities.file is given; name the CSV of cities, or use "
                "source: synthetic");
    }
    check_file(file, "cities.file", data_dir, diags);
  }
  check_file(cities["groups_file"], "cities.groups_file", data_dir, diags);

  const Resolved& question = root["question"];
  if (question["kind"].ok && question["kind"].s == "isolation" && question["city"].ok &&
      question["city"].s.empty())
    diags.add(question["kind"].where, "question.city",
              "the isolation question needs the city to cut off; set question.city");

  std::map<std::string, std::size_t> layer_index;
  const auto& layers = root["layers"].items;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Resolved& layer = layers[i];
    const std::string path = item_path("layers", i);
    const Resolved& name = layer["name"];
    if (name.ok) {
      if (auto [it, fresh] = layer_index.emplace(name.s, i); !fresh)
        diags.add(name.where, path + ".name",
                  "duplicate layer name '" + name.s + "' (also " + item_path("layers", it->second) +
                      "); give each layer its own name");
    }
    const Resolved& kind = layer["kind"];
    if (kind.ok && (kind.s == "edges" || kind.s == "membership")) {
      const Resolved& file = layer["file"];
      if (file.ok && file.s.empty())
        diags.add(
            file.written ? file.where : layer.where, path + ".file",
            "layers of kind " + kind.s + " read their ties from a CSV file; set " + path + ".file");
      check_file(file, path + ".file", data_dir, diags);
    }
  }

  const Resolved& rule_layers = root["rule"]["layers"];
  if (rule_layers.ok) {
    std::vector<std::string> names;
    for (const auto& [n, i] : layer_index) names.push_back(n);
    for (std::size_t j = 0; j < rule_layers.strings.size(); ++j) {
      const std::string& n = rule_layers.strings[j];
      if (layer_index.count(n)) continue;
      std::string msg = "no layer is named '" + n + "'";
      const std::string guess = closest_match(n, names);
      if (!guess.empty())
        msg += " (did you mean " + guess + "?)";
      else
        msg += names.empty() ? "; the scenario has no layers"
                             : "; the layers are " + join(names, ", ");
      diags.add(rule_layers.string_where[j], item_path("rule.layers", j), msg);
    }
  }

  const Resolved& threshold = root["rule"]["threshold"];
  const Resolved& tmin = threshold["min"];
  const Resolved& tmax = threshold["max"];
  if (tmin.ok && tmax.ok && tmin.d > tmax.d)
    diags.add(tmin.written ? tmin.where : tmax.where,
              tmin.written ? "rule.threshold.min" : "rule.threshold.max",
              "rule.threshold.min " + detail::format_number(tmin.d) +
                  " is above rule.threshold.max " + detail::format_number(tmax.d));

  std::map<std::string, std::size_t> solution_index;
  const auto& solutions = root["solutions"].items;
  for (std::size_t i = 0; i < solutions.size(); ++i) {
    const Resolved& sol = solutions[i];
    const std::string path = item_path("solutions", i);
    const Resolved& name = sol["name"];
    if (name.ok) {
      if (auto [it, fresh] = solution_index.emplace(name.s, i); !fresh)
        diags.add(name.where, path + ".name",
                  "duplicate solution name '" + name.s + "' (also " +
                      item_path("solutions", it->second) + "); give each solution its own name");
    }
    const auto& seeds = sol["seeds"].items;
    for (std::size_t j = 0; j < seeds.size(); ++j) {
      const Resolved& seed = seeds[j];
      if (!seed.ok || !seed["city"].ok || !seed["id"].ok) continue;
      if (seed["city"].s.empty() && seed["id"].i < 0)
        diags.add(seed.where, item_path(path + ".seeds", j),
                  "a seed needs the city: give city: NAME (with country: CODE if the name is "
                  "ambiguous) or id: CITY_ID");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output: the Scenario struct, the resolved YAML and the written locations

template <class E>
E choice(const Resolved& r, std::initializer_list<std::pair<std::string_view, E>> table) {
  for (const auto& [name, e] : table)
    if (r.s == name) return e;
  throw std::logic_error("choice " + r.s + " of " + r.schema->key + " has no meaning");
}

Scenario fill(const Resolved& root) {
  Scenario sc;
  sc.name = root["name"].s;
  sc.description = root["description"].s;
  sc.seed = static_cast<std::uint64_t>(root["seed"].i);
  sc.data_dir = root["data_dir"].s;

  const Resolved& time = root["time"];
  sc.time.steps = static_cast<std::int32_t>(time["steps"].i);
  sc.time.dt = time["dt"].d;
  sc.time.unit = time["unit"].s;
  sc.time.start = time["start"].d;

  const Resolved& c = root["cities"];
  sc.cities.source = choice<CitySource>(
      c["source"], {{"synthetic", CitySource::kSynthetic}, {"csv", CitySource::kCsv}});
  sc.cities.count = c["count"].i;
  sc.cities.countries = static_cast<std::int32_t>(c["countries"].i);
  sc.cities.file = c["file"].s;
  sc.cities.id_column = c["id_column"].s;
  sc.cities.name_column = c["name_column"].s;
  sc.cities.country_column = c["country_column"].s;
  sc.cities.latitude_column = c["latitude_column"].s;
  sc.cities.longitude_column = c["longitude_column"].s;
  sc.cities.population_column = c["population_column"].s;
  sc.cities.min_population = c["min_population"].d;
  sc.cities.max_cities = c["max_cities"].i;
  sc.model.country_groups_file = c["groups_file"].s;

  for (const Resolved& l : root["layers"].items) {
    LayerSpec spec;
    spec.name = l["name"].s;
    spec.kind = choice<LayerKind>(l["kind"], {{"complete", LayerKind::kComplete},
                                              {"erdos_renyi", LayerKind::kErdosRenyi},
                                              {"watts_strogatz", LayerKind::kWattsStrogatz},
                                              {"barabasi_albert", LayerKind::kBarabasiAlbert},
                                              {"ring_lattice", LayerKind::kRingLattice},
                                              {"geographic", LayerKind::kGeographic},
                                              {"edges", LayerKind::kEdges},
                                              {"membership", LayerKind::kMembership},
                                              {"informal", LayerKind::kInformal}});
    spec.influence = l["influence"].d;
    spec.mean_degree = l["mean_degree"].d;
    spec.rewire = l["rewire"].d;
    spec.attach = static_cast<std::int32_t>(l["attach"].i);
    spec.radius_km = l["radius_km"].d;
    spec.decay_km = l["decay_km"].d;
    spec.file = l["file"].s;
    spec.source_column = l["source_column"].s;
    spec.target_column = l["target_column"].s;
    spec.weight_column = l["weight_column"].s;
    spec.city_column = l["city_column"].s;
    spec.skip_unknown_cities = l["skip_unknown_cities"].b;
    spec.dynamic = l["dynamic"].b;
    spec.trade = l["trade"].b;
    sc.layers.push_back(std::move(spec));
  }

  for (const Resolved& s : root["solutions"].items) {
    SolutionSpec spec;
    spec.name = s["name"].s;
    for (const Resolved& seed : s["seeds"].items) {
      SeedSpec ss;
      ss.city = seed["city"].s;
      ss.country = seed["country"].s;
      ss.id = seed["id"].i;
      ss.at = seed["at"].d;
      ss.where = seed.where;
      spec.seeds.push_back(std::move(ss));
    }
    spec.random_seeds = s["random_seeds"].i;
    spec.random_seeds_at = s["random_seeds_at"].d;
    spec.model.payoff = s["payoff"].d;
    spec.model.cost = s["cost"].d;
    spec.model.lag = s["lag"].d;
    spec.model.observability = s["observability"].d;
    spec.model.complexity = s["complexity"].d;
    spec.model.ideal = {s["ideal_size"].d, s["ideal_climate"].d, s["ideal_income"].d};
    spec.model.context_tolerance = s["context_tolerance"].d;
    sc.solutions.push_back(std::move(spec));
  }

  const Resolved& rule = root["rule"];
  sc.rule.kind =
      choice<RuleKind>(rule["kind"], {{"bass", RuleKind::kBass},
                                      {"fractional_threshold", RuleKind::kFractionalThreshold},
                                      {"count_threshold", RuleKind::kCountThreshold},
                                      {"independent_cascade", RuleKind::kIndependentCascade},
                                      {"city", RuleKind::kCity}});
  sc.rule.layers = rule["layers"].strings;
  sc.rule.p = rule["bass"]["p"].d;
  sc.rule.q = rule["bass"]["q"].d;
  const Resolved& th = rule["threshold"];
  sc.rule.threshold_distribution = choice<ThresholdDistribution>(
      th["distribution"], {{"fixed", ThresholdDistribution::kFixed},
                           {"uniform", ThresholdDistribution::kUniform},
                           {"normal", ThresholdDistribution::kNormal}});
  sc.rule.threshold_mean = th["mean"].d;
  sc.rule.threshold_sd = th["sd"].d;
  sc.rule.threshold_min = th["min"].d;
  sc.rule.threshold_max = th["max"].d;
  sc.rule.count_k = static_cast<std::int32_t>(rule["count"]["k"].i);
  sc.rule.transmission = rule["cascade"]["transmission"].d;

  const Resolved& city = root["city"];
  auto& cr = sc.model.rule;
  cr.innovation = city["innovation"].d;
  cr.imitation = city["imitation"].d;
  cr.exposure = choice<ExposureForm>(city["exposure"],
                                     {{"linear", ExposureForm::kLinear},
                                      {"fractional_threshold", ExposureForm::kFractionalThreshold},
                                      {"count_threshold", ExposureForm::kCountThreshold},
                                      {"conformist", ExposureForm::kConformist}});
  cr.exposure_threshold = city["exposure_threshold"].d;
  cr.exposure_count = static_cast<std::int32_t>(city["exposure_count"].i);
  cr.conformity = city["conformity"].d;
  cr.weight_learning = city["weight_learning"].d;
  cr.weight_cost = city["weight_cost"].d;
  cr.weight_competition = city["weight_competition"].d;
  cr.weight_prestige = city["weight_prestige"].d;
  cr.weight_incentive = city["weight_incentive"].d;
  cr.utility_bias = city["utility_bias"].d;
  cr.prestige_fade = city["prestige_fade"].d;
  cr.prior_mean = city["prior_mean"].d;
  cr.prior_precision = city["prior_precision"].d;
  cr.outcome_noise = city["outcome_noise"].d;
  cr.context_bandwidth = city["context_bandwidth"].d;
  cr.adapt_probability = city["adapt_probability"].d;
  cr.adapt_rate = city["adapt_rate"].d;
  cr.readapt_rate = city["readapt_rate"].d;
  cr.drop_base = city["drop_base"].d;
  cr.drop_poor = city["drop_poor"].d;
  cr.shock_rate = city["shock_rate"].d;
  cr.drop_peer = city["drop_peer"].d;

  const Resolved& ties = root["ties"];
  auto& ts = sc.model.ties;
  ts.activity = ties["activity"].d;
  ts.reinforce = ties["reinforce"].d;
  ts.decay = ties["decay"].d;
  ts.conference_rate = ties["conference_rate"].d;
  ts.homophily = ties["homophily"].d;
  ts.informal_slots = static_cast<std::int32_t>(ties["informal_slots"].i);
  ts.join_rate = ties["join_rate"].d;
  ts.leave_rate = ties["leave_rate"].d;

  const Resolved& nat = root["national"];
  auto& ns = sc.model.national;
  ns.enabled = nat["enabled"].b;
  ns.pressure_threshold = nat["pressure_threshold"].d;
  ns.legislative_lag = nat["legislative_lag"].d;
  ns.compliance_lag = nat["compliance_lag"].d;
  ns.form = choice<NationalForm>(
      nat["form"], {{"mandate", NationalForm::kMandate}, {"subsidy", NationalForm::kSubsidy}});
  ns.subsidy = nat["subsidy"].d;
  ns.pressure_valve = nat["pressure_valve"].b;
  ns.valve_level = nat["valve_level"].d;

  const Resolved& eco = root["economy"];
  auto& es = sc.model.economy;
  es.trade_growth = eco["trade_growth"].d;
  es.trade_decay = eco["trade_decay"].d;
  es.trade_seed = eco["trade_seed"].d;
  es.gdp_benefit = eco["gdp_benefit"].d;
  es.jobs_per_trade = eco["jobs_per_trade"].d;

  const Resolved& q = root["question"];
  sc.question.kind = choice<QuestionKind>(q["kind"], {{"none", QuestionKind::kNone},
                                                      {"isolation", QuestionKind::kIsolation},
                                                      {"channels", QuestionKind::kChannels},
                                                      {"sister_ties", QuestionKind::kSisterTies},
                                                      {"south_north", QuestionKind::kSouthNorth}});
  sc.question.city = q["city"].s;
  sc.question.country = q["country"].s;
  sc.question.solution = q["solution"].s;
  sc.question.layer = q["layer"].s;
  sc.question.replications = static_cast<std::int32_t>(q["replications"].i);

  const Resolved& out = root["output"];
  sc.output.file = out["file"].s;
  sc.output.compression = static_cast<std::int32_t>(out["compression"].i);
  sc.output.events = out["events"].b;
  sc.output.network = out["network"].b;
  sc.model.snapshot_every = static_cast<std::int32_t>(out["snapshot_every"].i);
  return sc;
}

// Items of a few plain values (seeds) read best one per line.
bool flow_items(const SchemaNode& list) {
  return list.children.size() <= 4 &&
         std::all_of(list.children.begin(), list.children.end(), [](const SchemaNode& c) {
           return c.kind == SchemaNode::Kind::kLeaf && c.type != "string_list";
         });
}

// The resolved scenario as YAML, in the text yaml-cpp's emitter gave it (block style, indent 2;
// strings double-quoted; a list of few plain fields one item per line in flow style), which run
// files keep and sweeps fingerprint. yaml-cpp tested every key and value against its scalar rules
// on the way: 34 M instructions, 40 % of `citynet validate`, for 64 solutions. Text that is
// plainly safe is written here; anything else still goes through yaml-cpp, one scalar at a time.
class ResolvedWriter {
 public:
  std::string text(const Resolved& root) {
    out_ = "# Resolved scenario: every parameter, defaults merged and overrides applied.\n";
    fields(root, 0, false);
    return std::move(out_);
  }

 private:
  // A plain scalar yaml-cpp writes as it is, in block and flow context alike.
  static bool plain(std::string_view s) {
    if (s.empty() || s == "null" || s == "Null" || s == "NULL") return false;
    auto word = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.';
    };
    if (!word(s[0]) && !((s[0] == '-' || s[0] == '+') && s.size() > 1 && word(s[1]))) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return word(c) || c == '-' || c == '+'; });
  }
  // yaml-cpp's text for one scalar; in flow context from inside a flow sequence.
  static std::string by_yaml_cpp(const std::string& s, bool quoted, bool flow) {
    YAML::Emitter e;
    if (flow) e << YAML::Flow << YAML::BeginSeq;
    if (quoted) e << YAML::DoubleQuoted;
    e << s;
    if (flow) e << YAML::EndSeq;
    std::string t = e.c_str();
    return flow ? t.substr(1, t.size() - 2) : t;
  }
  void scalar(const std::string& s, bool flow) {
    if (plain(s))
      out_ += s;
    else
      out_ += by_yaml_cpp(s, false, flow);
  }
  void quoted(const std::string& s, bool flow) {
    const bool simple = std::all_of(
        s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (simple)
      out_.append(1, '"').append(s).append(1, '"');
    else
      out_ += by_yaml_cpp(s, true, flow);
  }
  void leaf(const Resolved& r, bool flow) {
    const SchemaNode& s = *r.schema;
    if (s.type == "int") {
      scalar(std::to_string(r.i), flow);
    } else if (s.type == "double") {
      scalar(detail::format_number(r.d), flow);
    } else if (s.type == "bool") {
      out_ += r.b ? "true" : "false";
    } else if (s.type == "choice") {
      scalar(r.s, flow);
    } else if (s.type == "string") {
      quoted(r.s, flow);
    } else if (s.type == "string_list") {
      out_ += '[';
      for (std::size_t i = 0; i < r.strings.size(); ++i) {
        if (i) out_ += ", ";
        quoted(r.strings[i], true);
      }
      out_ += ']';
    }
  }
  // The fields of a group, one per line at `indent`; the first on the current line when it
  // follows a list item's dash.
  void fields(const Resolved& r, int indent, bool after_dash) {
    bool first = true;
    for (const auto& f : r.fields) {
      if (!(first && after_dash)) out_.append(static_cast<std::size_t>(indent), ' ');
      first = false;
      scalar(f.schema->name, false);
      out_ += ':';
      value(f, indent);
    }
  }
  void value(const Resolved& r, int indent) {
    const SchemaNode& s = *r.schema;
    switch (s.kind) {
      case SchemaNode::Kind::kGroup:
        out_ += '\n';
        fields(r, indent + 2, false);
        return;
      case SchemaNode::Kind::kList:
        if (r.items.empty()) {
          out_ += " []\n";
          return;
        }
        out_ += '\n';
        for (const bool flow = flow_items(s); const auto& item : r.items) {
          out_.append(static_cast<std::size_t>(indent + 2), ' ').append("- ");
          if (flow) {
            out_ += '{';
            for (std::size_t i = 0; i < item.fields.size(); ++i) {
              if (i) out_ += ", ";
              scalar(item.fields[i].schema->name, true);
              out_ += ": ";
              leaf(item.fields[i], true);
            }
            out_ += "}\n";
          } else {
            fields(item, indent + 4, true);
          }
        }
        return;
      case SchemaNode::Kind::kLeaf:
        out_ += ' ';
        leaf(r, false);
        out_ += '\n';
        return;
    }
  }

  std::string out_;
};

std::string emit_yaml(const Resolved& root) {
  return ResolvedWriter().text(root);
}

void collect_locations(const Value& v, const std::string& path,
                       std::map<std::string, Location>& out) {
  if (v.is_map()) {
    for (const auto& e : v.entries) {
      const std::string p = child_path(path, e.key);
      out[p] = e.value.where;
      collect_locations(e.value, p, out);
    }
  } else if (v.is_list()) {
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      const std::string p = item_path(path, i);
      out[p] = v.items[i].where;
      collect_locations(v.items[i], p, out);
    }
  }
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec))
    throw InputError({path, 0, 0}, "", "is a directory, not a scenario file");
  if (!fs::exists(p, ec)) throw InputError({path, 0, 0}, "", "scenario file not found");
  // Refused before it is read: the parser would refuse it anyway (detail::kMaxTextBytes).
  if (const auto size = fs::file_size(p, ec); !ec && size > detail::kMaxTextBytes)
    throw InputError({path, 0, 0}, "",
                     "the file holds " + std::to_string(size) + " bytes, more than the " +
                         std::to_string(detail::kMaxTextBytes >> 20) +
                         " MB a scenario may have; a scenario is a short text file");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw InputError({path, 0, 0}, "", "cannot read the scenario file");
  // A pipe or a device (/dev/zero) has no size: read one byte beyond the limit at most, which
  // the parser then refuses. In pieces: a buffer of the limit's size cost every command a
  // megabyte of zeroed pages for a file of a few kB, a third of `citynet validate`'s page faults.
  std::string text;
  std::array<char, 16384> piece;
  while (text.size() <= detail::kMaxTextBytes) {
    const std::size_t want = std::min(piece.size(), detail::kMaxTextBytes + 1 - text.size());
    in.read(piece.data(), static_cast<std::streamsize>(want));
    text.append(piece.data(), static_cast<std::size_t>(in.gcount()));
    if (!in) break;
  }
  if (in.bad()) throw InputError({path, 0, 0}, "", "cannot read the scenario file");
  return text;
}

}  // namespace

Location Scenario::where(const std::string& key) const {
  std::string k = key;
  while (!k.empty()) {
    if (auto it = locations.find(k); it != locations.end()) return it->second;
    const auto cut = k.find_last_of(".[");
    if (cut == std::string::npos) break;
    k.erase(cut);
  }
  return Location{source_file, 0, 0};
}

// Overlays `top` on `base`: maps merge key by key, anything else (lists, scalars) replaces.
void merge_into(Value& base, Value&& top) {
  if (!base.is_map() || !top.is_map()) {
    base = std::move(top);
    return;
  }
  for (auto& e : top.entries) {
    if (Value* existing = base.find(e.key)) {
      merge_into(*existing, std::move(e.value));
    } else {
      base.entries.push_back(std::move(e));
    }
  }
}

constexpr int kMaxExtendsDepth = 8;

// Replaces doc by the scenario it `extends` (a path relative to `base_dir`) with doc laid over
// it, following chains. Returns the directory of the last scenario extended: relative data paths
// are taken from there unless data_dir says otherwise.
std::string expand_extends(Value& doc, const std::string& base_dir, Diagnostics& diags, int depth) {
  auto it = std::find_if(doc.entries.begin(), doc.entries.end(),
                         [](const detail::Entry& e) { return e.key == "extends"; });
  if (it == doc.entries.end()) return base_dir;
  const Value ext = it->value;
  doc.entries.erase(it);
  if (!ext.is_scalar() || ext.text.empty()) {
    if (!ext.is_scalar())
      diags.add(ext.where, "extends", "expected the path of a scenario file, got " + describe(ext));
    return base_dir;
  }
  if (depth >= kMaxExtendsDepth) {
    diags.add(ext.where, "extends",
              "more than " + std::to_string(kMaxExtendsDepth) +
                  " scenarios extend each other; is the chain circular?");
    return base_dir;
  }
  fs::path path(ext.text);
  if (path.is_relative() && base_dir != kBuiltInDataDir) path = fs::path(base_dir) / path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    diags.add(ext.where, "extends", "scenario file not found: " + path.lexically_normal().string());
    return base_dir;
  }
  std::string text;
  try {
    text = read_text_file(path.string());
  } catch (const InputError& e) {
    for (const auto& d : e.diagnostics()) diags.add(d);
    return base_dir;
  }
  const std::string shown = path.lexically_normal().string();
  bool empty = false;
  Value base = detail::parse_yaml(text, shown, diags, &empty);
  if (!diags.empty()) return base_dir;
  if (empty || !base.is_map()) {
    diags.add(ext.where, "extends", shown + " is not a scenario (its top level is not a map)");
    return base_dir;
  }
  const std::string dir = fs::absolute(path, ec).parent_path().string();
  std::string data_from = expand_extends(base, dir, diags, depth + 1);
  merge_into(base, std::move(doc));
  doc = std::move(base);
  return data_from;
}

Scenario load_scenario_text(std::string_view text, const std::string& display_name,
                            const std::string& base_dir,
                            const std::vector<std::string>& overrides) {
  const SchemaNode& schema = detail::schema_root();
  Diagnostics diags;
  bool empty = false;
  Value doc = detail::parse_yaml(text, display_name, diags, &empty);
  if (!diags.empty()) diags.throw_if_any();  // nothing else can be trusted after a syntax error
  if (empty) {
    diags.add({display_name, 1, 1}, std::string(kDocumentKey),
              "the scenario file is empty; it needs at least layers and solutions (see "
              "scenarios/world.yaml or `citynet params`)");
    diags.throw_if_any();
  }
  if (!doc.is_map()) {
    diags.add(doc.where, std::string(kDocumentKey),
              "the top level of a scenario must be a map of keys (name:, time:, cities:, "
              "layers:, solutions: ...), got " +
                  describe(doc));
    diags.throw_if_any();
  }
  const std::string data_base = expand_extends(doc, base_dir, diags, 0);
  if (!diags.empty()) diags.throw_if_any();
  for (const auto& o : overrides) apply_override(doc, o, diags);

  Validator validator(diags);
  Resolved root = validator.group(schema, &doc, "", doc.where, true);
  const std::string data_dir = resolve_data_dir(root["data_dir"].s, data_base);
  cross_check(root, data_dir, diags);
  diags.throw_if_any();

  root["data_dir"].s = data_dir;
  Scenario sc = fill(root);
  sc.source_file = display_name;
  sc.resolved_yaml = emit_yaml(root);
  collect_locations(doc, "", sc.locations);
  return sc;
}

Scenario load_scenario_file(const std::string& path, const std::vector<std::string>& overrides) {
  const std::string text = read_text_file(path);
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return load_scenario_text(text, path, dir.string(), overrides);
}

Scenario load_default_scenario(const std::vector<std::string>& overrides) {
  const auto text = embedded_file(kDefaultScenario);
  if (!text) throw std::logic_error("the default scenario is not embedded in the binary");
  return load_scenario_text(*text,
                            std::string(kBuiltInDataDir) + "/" + std::string(kDefaultScenario),
                            std::string(kBuiltInDataDir), overrides);
}

}  // namespace citynet::scenario
