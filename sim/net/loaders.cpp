#include "net/loaders.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "core/embedded.hpp"
#include "io/csv.hpp"

namespace citynet::net {

namespace {

using scenario::Scenario;

// A club is stored as a clique, k members making k(k-1) directed ties; beyond this size that
// costs gigabytes and the club would need a hyperedge representation instead.
constexpr std::size_t kMaxClubMembers = 10'000;

std::string layer_key(std::size_t index) {
  return "layers[" + std::to_string(index) + "]";
}

io::CsvTable read_layer_file(const Scenario& s, std::size_t index) {
  const auto& spec = s.layers[index];
  const std::string key = layer_key(index) + ".file";
  if (spec.file.empty())
    throw InputError(s.where(key), key, "layer '" + spec.name + "' needs a data file");
  auto source = read_data_file(s.data_dir, spec.file);
  if (!source)
    throw InputError(s.where(key), key,
                     "cannot read the data file '" + spec.file + "' (looked in " +
                         (s.data_dir.empty() ? std::string(".") : s.data_dir) + ")");
  return io::CsvTable::parse(source->text, source->display_name);
}

// Turns the id cells of a layer file into cities, reporting what cannot be resolved.
class CityResolver {
 public:
  CityResolver(const Scenario& s, std::size_t index, const CityIndex& ids, const io::CsvTable& csv,
               io::RowProblems& problems)
      : s_(s), index_(index), ids_(ids), csv_(csv), problems_(problems) {}

  // The city named in (row, col); std::nullopt when the row cannot be used. An empty cell counts
  // as an unknown city: exports write it for a partner that has no id.
  std::optional<CityId> resolve(std::size_t row, std::size_t col, const std::string& column) {
    const std::string& cell = csv_.cell(row, col);
    const bool empty = cell.find_first_not_of(" \t") == std::string::npos;
    std::optional<long long> id;
    if (!empty) {
      id = io::parse_int(cell);
      if (!id) {
        problems_.add(csv_.line_of(row),
                      "column '" + column + "': '" + cell + "' is not a city id (an integer)");
        return std::nullopt;
      }
      if (auto it = ids_.find(*id); it != ids_.end()) return it->second;
    }
    if (s_.layers[index_].skip_unknown_cities) {
      unknown_skipped_ = true;
      return std::nullopt;
    }
    ++unknown_reported_;
    problems_.add(csv_.line_of(row), empty ? "column '" + column + "' is empty: no city is named"
                                           : "city id " + std::to_string(*id) + " in column '" +
                                                 column + "' is not among the loaded cities");
    return std::nullopt;
  }

  // Called once a row is done: a row is skipped once, however many of its cells were unknown.
  void end_row() {
    if (unknown_skipped_) ++skipped_rows_;
    unknown_skipped_ = false;
  }

  std::int64_t skipped_rows() const { return skipped_rows_; }

  // Unknown ids are common after cities were filtered by population; the fix is a scenario key.
  void add_hint() {
    if (unknown_reported_ == 0) return;
    const std::string key = layer_key(index_) + ".skip_unknown_cities";
    problems_.add_note(Diagnostic{
        s_.where(key), key,
        std::to_string(unknown_reported_) +
            " cells name cities that are not loaded; set this to true to drop such rows"});
  }

 private:
  const Scenario& s_;
  std::size_t index_;
  const CityIndex& ids_;
  const io::CsvTable& csv_;
  io::RowProblems& problems_;
  bool unknown_skipped_ = false;
  std::int64_t skipped_rows_ = 0;
  std::int64_t unknown_reported_ = 0;
};

std::size_t need_column(const io::CsvTable& csv, const Scenario& s, const std::string& key,
                        const std::string& name, Diagnostics& diags, std::size_t fallback = 0) {
  return csv.require_column(name, diags, s.where(key), key).value_or(fallback);
}

}  // namespace

CityIndex make_city_index(const model::CityTable& cities) {
  CityIndex index;
  index.reserve(cities.id.size());
  for (CityId c = 0; c < cities.size(); ++c)
    index.emplace(cities.id[static_cast<std::size_t>(c)], c);
  return index;
}

Layer load_edge_layer(const Scenario& s, std::size_t index, const CityIndex& ids, CityId n) {
  const auto& spec = s.layers[index];
  const std::string key = layer_key(index);
  const io::CsvTable csv = read_layer_file(s, index);

  Diagnostics diags;
  const std::size_t src = need_column(csv, s, key + ".source_column", spec.source_column, diags);
  const std::size_t dst = need_column(csv, s, key + ".target_column", spec.target_column, diags);
  std::optional<std::size_t> weight_col;
  if (!spec.weight_column.empty())
    weight_col = csv.require_column(spec.weight_column, diags, s.where(key + ".weight_column"),
                                    key + ".weight_column");
  diags.throw_if_any();

  io::RowProblems problems(csv.file());
  CityResolver resolver(s, index, ids, csv, problems);
  std::vector<Edge> edges;
  edges.reserve(csv.rows());
  std::int64_t self_loops = 0;
  for (std::size_t r = 0; r < csv.rows(); ++r) {
    const auto a = resolver.resolve(r, src, spec.source_column);
    const auto b = resolver.resolve(r, dst, spec.target_column);
    resolver.end_row();
    float w = 1.0f;
    bool weight_ok = true;
    if (weight_col) {
      const std::string& cell = csv.cell(r, *weight_col);
      const auto v = io::parse_double(cell);
      if (!v) {
        problems.add(csv.line_of(r),
                     "column '" + spec.weight_column + "': '" + cell + "' is not a number");
        weight_ok = false;
      } else if (*v < 0.0 || *v > std::numeric_limits<float>::max()) {
        problems.add(csv.line_of(r), "column '" + spec.weight_column + "': '" + cell +
                                         "' is not a tie weight (finite, >= 0)");
        weight_ok = false;
      } else {
        w = static_cast<float>(*v);
      }
    }
    if (!a || !b || !weight_ok) continue;
    // A city partnered with itself is a data-entry slip, not a channel of learning.
    if (*a == *b) {
      ++self_loops;
      continue;
    }
    edges.push_back(Edge{*a, *b, w});
  }
  resolver.add_hint();
  problems.throw_if_any();

  if (self_loops > 0)
    spdlog::info("layer '{}' ({}): dropped {} rows tying a city to itself", spec.name, csv.file(),
                 self_loops);
  if (resolver.skipped_rows() > 0)
    spdlog::info("layer '{}' ({}): skipped {} rows naming cities not loaded", spec.name, csv.file(),
                 resolver.skipped_rows());
  return build_csr(n, std::move(edges));
}

Layer load_membership_layer(const Scenario& s, std::size_t index, const CityIndex& ids, CityId n) {
  const auto& spec = s.layers[index];
  const std::string key = layer_key(index);
  const io::CsvTable csv = read_layer_file(s, index);

  Diagnostics diags;
  const std::size_t col = need_column(csv, s, key + ".city_column", spec.city_column, diags);
  diags.throw_if_any();

  io::RowProblems problems(csv.file());
  CityResolver resolver(s, index, ids, csv, problems);
  std::vector<CityId> members;
  members.reserve(csv.rows());
  for (std::size_t r = 0; r < csv.rows(); ++r) {
    if (const auto c = resolver.resolve(r, col, spec.city_column)) members.push_back(*c);
    resolver.end_row();
  }
  resolver.add_hint();
  problems.throw_if_any();

  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  if (members.size() > kMaxClubMembers)
    throw InputError(s.where(key + ".file"), key + ".file",
                     csv.file() + " lists " + std::to_string(members.size()) +
                         " member cities; a club is stored as a clique and at most " +
                         std::to_string(kMaxClubMembers) + " members are supported");
  if (resolver.skipped_rows() > 0)
    spdlog::info("layer '{}' ({}): skipped {} rows naming cities not loaded", spec.name, csv.file(),
                 resolver.skipped_rows());

  // Every member of the file belongs to one club, tied to every other member.
  std::vector<Edge> edges;
  edges.reserve(members.size() * (members.size() - (members.empty() ? 0 : 1)) / 2);
  for (std::size_t i = 0; i < members.size(); ++i)
    for (std::size_t j = i + 1; j < members.size(); ++j)
      edges.push_back(Edge{members[i], members[j], 1.0f});
  return build_csr(n, std::move(edges));
}

}  // namespace citynet::net
