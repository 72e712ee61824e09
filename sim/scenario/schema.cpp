#include "scenario/schema.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

#include "scenario/schema_tree.hpp"
#include "scenario/value_blob.hpp"

namespace citynet::scenario {
namespace detail {
namespace {

constexpr std::string_view kSchemaFile = "config/defaults.yaml";

[[noreturn]] void schema_defect(const std::string& key, const std::string& what) {
  throw std::logic_error(std::string(kSchemaFile) + ": " + (key.empty() ? "" : key + ": ") + what);
}

std::optional<double> number_attribute(const Value& node, std::string_view attr,
                                       const std::string& key) {
  const Value* v = node.find(attr);
  if (!v) return std::nullopt;
  double x = 0;
  const auto& t = v->text;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), x);
  if (!v->is_scalar() || r.ec != std::errc() || r.ptr != t.data() + t.size())
    schema_defect(key, std::string(attr) + " is not a number");
  return x;
}

std::string text_attribute(const Value& node, std::string_view attr, const std::string& key) {
  const Value* v = node.find(attr);
  if (!v) return {};
  if (!v->is_scalar()) schema_defect(key, std::string(attr) + " must be text");
  return v->text;
}

bool is_parameter(const Value& v) {
  const Value* type = v.is_map() ? v.find("type") : nullptr;
  return type && type->is_scalar();
}

SchemaNode build(const Value& v, const std::string& name, const std::string& key);

void build_children(const Value& group, const std::string& prefix, SchemaNode& into) {
  if (!group.is_map()) schema_defect(prefix, "a group must be a map");
  for (const auto& e : group.entries)
    into.children.push_back(build(e.value, e.key, prefix.empty() ? e.key : prefix + "." + e.key));
}

SchemaNode build(const Value& v, const std::string& name, const std::string& key) {
  SchemaNode n;
  n.name = name;
  n.key = key;
  if (!is_parameter(v)) {
    n.kind = SchemaNode::Kind::kGroup;
    build_children(v, key, n);
    if (n.children.empty()) schema_defect(key, "empty group");
    return n;
  }
  static const std::set<std::string> kAttributes = {"type", "doc",       "default",      "units",
                                                    "min",  "max",       "choices",      "required",
                                                    "item", "min_items", "min_exclusive"};
  for (const auto& e : v.entries)
    if (!kAttributes.count(e.key)) schema_defect(key, "unknown attribute " + e.key);

  n.type = text_attribute(v, "type", key);
  n.doc = text_attribute(v, "doc", key);
  n.units = text_attribute(v, "units", key);
  if (n.doc.empty()) schema_defect(key, "every parameter needs a doc");
  n.min = number_attribute(v, "min", key);
  n.max = number_attribute(v, "max", key);
  n.min_exclusive = text_attribute(v, "min_exclusive", key) == "true";
  n.required = text_attribute(v, "required", key) == "true";

  if (n.type == "list") {
    n.kind = SchemaNode::Kind::kList;
    const Value* item = v.find("item");
    if (!item) schema_defect(key, "a list needs an item");
    build_children(*item, key + "[]", n);
    if (auto m = number_attribute(v, "min_items", key)) n.min_items = static_cast<std::size_t>(*m);
    return n;
  }
  static const std::set<std::string> kTypes = {"int",    "double", "bool",
                                               "string", "choice", "string_list"};
  if (!kTypes.count(n.type)) schema_defect(key, "unknown type " + n.type);
  n.kind = SchemaNode::Kind::kLeaf;
  if (const Value* choices = v.find("choices")) {
    if (!choices->is_list()) schema_defect(key, "choices must be a list");
    for (const auto& c : choices->items) n.choices.push_back(c.text);
  }
  if (n.type == "choice" && n.choices.empty()) schema_defect(key, "a choice needs choices");
  if (const Value* d = v.find("default")) n.default_value = *d;
  if (!n.required && !n.default_value) schema_defect(key, "needs a default or required: true");
  if (n.required && n.default_value) schema_defect(key, "a required parameter has no default");
  return n;
}

SchemaNode load_schema() {
  const Value doc = read_value_blob(
      {reinterpret_cast<const char*>(embedded_data::kSchemaBlob), embedded_data::kSchemaBlobSize},
      std::string(kSchemaFile));
  SchemaNode root;
  root.kind = SchemaNode::Kind::kGroup;
  build_children(doc, "", root);
  return root;
}

void flatten(const SchemaNode& n, std::vector<Parameter>& out) {
  for (const auto& c : n.children) {
    if (c.kind != SchemaNode::Kind::kGroup) {
      Parameter p;
      p.key = c.key;
      p.type = c.type;
      p.default_text = default_text(c);
      p.units = c.units;
      p.min = c.min;
      p.max = c.max;
      p.choices = c.choices;
      p.required = c.required;
      p.doc = c.doc;
      out.push_back(std::move(p));
    }
    flatten(c, out);
  }
}

const SchemaNode* find_node(const SchemaNode& n, const std::string& key) {
  if (n.key == key) return &n;
  for (const auto& c : n.children)
    if (const SchemaNode* f = find_node(c, key)) return f;
  return nullptr;
}

// Splits `text` into lines of at most `width` characters at spaces.
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string allowed_text(const SchemaNode& n) {
  if (!n.choices.empty()) return "one of " + join(n.choices, ", ");
  if (n.kind == SchemaNode::Kind::kList && n.min_items > 0)
    return "at least " + std::to_string(n.min_items) + " item" + (n.min_items > 1 ? "s" : "");
  return range_text(n);
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else if (c == '<')
      out += "&lt;";
    else
      out += c;
  }
  return out;
}

}  // namespace

const SchemaNode& schema_root() {
  static const SchemaNode root = load_schema();
  return root;
}

std::string format_number(double x) {
  char buf[64];
  std::to_chars_result r;
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15)
    r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, 0);
  else
    r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string range_text(const SchemaNode& leaf) {
  const std::string lo = leaf.min ? format_number(*leaf.min) : "";
  const std::string hi = leaf.max ? format_number(*leaf.max) : "";
  if (leaf.min && leaf.max) return (leaf.min_exclusive ? "> " + lo + ", <= " : lo + " .. ") + hi;
  if (leaf.min) return (leaf.min_exclusive ? "> " : ">= ") + lo;
  if (leaf.max) return "<= " + hi;
  return {};
}

std::string default_text(const SchemaNode& n) {
  if (n.kind == SchemaNode::Kind::kList) return "[]";
  if (!n.default_value) return {};
  const Value& d = *n.default_value;
  if (d.is_list()) {
    std::vector<std::string> items;
    for (const auto& i : d.items) items.push_back(i.text);
    std::string out = "[";
    out += join(items, ", ");
    out += ']';
    return out;
  }
  if (n.type == "string" && d.text.empty()) return "\"\"";
  return d.text;
}

}  // namespace detail

const std::vector<Parameter>& parameters() {
  static const std::vector<Parameter> params = [] {
    std::vector<Parameter> out;
    detail::flatten(detail::schema_root(), out);
    return out;
  }();
  return params;
}

std::string parameters_text() {
  std::size_t key_width = 0;
  for (const auto& p : parameters()) key_width = std::max(key_width, p.key.size());
  std::string out =
      "Scenario parameters (config/defaults.yaml). Keys with [] are fields of list items.\n\n";
  for (const auto& p : parameters()) {
    const detail::SchemaNode* n = detail::find_node(detail::schema_root(), p.key);
    std::string line = p.key + std::string(key_width + 2 - p.key.size(), ' ') + p.type;
    if (p.required)
      line += ", required";
    else
      line += " = " + p.default_text;
    if (!p.units.empty()) line += "  [" + p.units + "]";
    if (n) {
      const std::string allowed = detail::allowed_text(*n);
      if (!allowed.empty()) line += "  (" + allowed + ")";
    }
    out += line + '\n';
    for (const auto& l : detail::wrap(p.doc, 92)) out += "    " + l + '\n';
    out += '\n';
  }
  return out;
}

std::string parameters_markdown() {
  std::string out =
      "<!-- Generated by `citynet params --markdown` from config/defaults.yaml; do not edit. -->\n"
      "\n# Scenario parameters\n\n"
      "Every key a scenario file can hold, with its type, default, units and allowed values. Keys\n"
      "with `[]` are fields of the items of a list, e.g. `layers[].kind` is the `kind` of each\n"
      "entry under `layers:`. Keys that a scenario leaves out take the default.\n";
  const auto& root = detail::schema_root();
  auto table_header = [] {
    return "\n| Key | Type | Default | Units | Allowed | Description |\n"
           "|---|---|---|---|---|---|\n";
  };
  auto row = [](const Parameter& p, const detail::SchemaNode& n) {
    const std::string def = p.required ? "*required*" : "`" + p.default_text + "`";
    const std::string allowed = detail::allowed_text(n);
    return "| `" + p.key + "` | " + p.type + " | " + detail::markdown_cell(def) + " | " +
           detail::markdown_cell(p.units) + " | " + detail::markdown_cell(allowed) + " | " +
           detail::markdown_cell(p.doc) + " |\n";
  };
  // Top-level parameters first, then one section per group or list.
  out += std::string("\n## General\n") + table_header();
  for (const auto& p : parameters())
    if (p.key.find_first_of(".[") == std::string::npos) {
      const auto* n = detail::find_node(root, p.key);
      if (n && n->kind == detail::SchemaNode::Kind::kLeaf) out += row(p, *n);
    }
  for (const auto& section : root.children) {
    if (section.kind == detail::SchemaNode::Kind::kLeaf) continue;
    out += "\n## " + section.name + "\n";
    out += table_header();
    for (const auto& p : parameters()) {
      if (p.key != section.name && p.key.rfind(section.name + ".", 0) != 0 &&
          p.key.rfind(section.name + "[]", 0) != 0)
        continue;
      if (const auto* n = detail::find_node(root, p.key)) out += row(p, *n);
    }
  }
  return out;
}

}  // namespace citynet::scenario
