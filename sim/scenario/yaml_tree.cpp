#include "scenario/yaml_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <exception>
#include <unordered_map>

namespace citynet::scenario::detail {

const Value* Value::find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

Value* Value::find(std::string_view key) {
  for (auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "nothing";
    case Value::Kind::kScalar:
      return "'" + v.text + "'";
    case Value::Kind::kMap:
      return "a map";
    case Value::Kind::kList:
      return "a list";
  }
  return "?";
}

namespace {

// yaml-cpp's messages name the grammar; add what a person usually has to change.
std::string explain_syntax_error(const std::string& msg) {
  std::string out = msg.empty() ? "cannot read the YAML" : msg;
  if (msg.find("illegal map value") != std::string::npos ||
      msg.find("end of map not found") != std::string::npos ||
      msg.find("end of sequence not found") != std::string::npos ||
      msg.find("block") != std::string::npos)
    out += " (check the indentation: keys of one map line up, and indent with spaces, not tabs)";
  else if (msg.find("flow") != std::string::npos)
    out += " (a '[' or '{' is not closed by its ']' or '}')";
  else if (msg.find("tab") != std::string::npos)
    out += " (indent with spaces, not tabs)";
  return out;
}

class Converter {
 public:
  Converter(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  Value convert(const YAML::Node& node, int depth, const std::string& path) {
    Value v;
    v.where = location(node.Mark());
    if (aborted_) return v;
    if (++nodes_ > kMaxNodes) {
      aborted_ = true;
      diags_.add(v.where, path.empty() ? "yaml" : path,
                 "the document expands to more than " + std::to_string(kMaxNodes) +
                     " values (aliases nested inside aliases?); a scenario is far smaller");
      return v;
    }
    if (depth > kMaxDepth) {
      aborted_ = true;
      diags_.add(v.where, path.empty() ? "yaml" : path,
                 "nested deeper than " + std::to_string(kMaxDepth) +
                     " levels; a scenario needs only a few");
      return v;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        break;
      case YAML::NodeType::Scalar:
        v.kind = Value::Kind::kScalar;
        v.text = node.Scalar();
        v.quoted = node.Tag() != "?";
        break;
      case YAML::NodeType::Sequence: {
        v.kind = Value::Kind::kList;
        std::size_t i = 0;
        for (const auto& item : node) {
          v.items.push_back(convert(item, depth + 1, path + "[" + std::to_string(i) + "]"));
          ++i;
          if (aborted_) break;
        }
        break;
      }
      case YAML::NodeType::Map: {
        v.kind = Value::Kind::kMap;
        std::unordered_map<std::string, int> first_line;
        for (const auto& kv : node) {
          const Location key_where = location(kv.first.Mark());
          if (!kv.first.IsScalar()) {
            diags_.add(key_where, path.empty() ? "yaml" : path,
                       "a key must be plain text, not " +
                           std::string(kv.first.IsMap() ? "a map" : "a list or nothing"));
            continue;
          }
          const std::string key = kv.first.Scalar();
          const std::string child = path.empty() ? key : path + "." + key;
          if (auto [it, fresh] = first_line.emplace(key, key_where.line); !fresh) {
            diags_.add(
                key_where, child,
                "duplicate key (first given at line " + std::to_string(it->second) + "); keep one");
            continue;
          }
          Value value = convert(kv.second, depth + 1, child);
          // An empty value has no position of its own; its key is where it was (not) written.
          if (value.is_null() || value.where.line == 0) value.where = key_where;
          v.entries.push_back({key, key_where, std::move(value)});
          if (aborted_) break;
        }
        break;
      }
    }
    return v;
  }

  Location location(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }

 private:
  std::string file_;
  Diagnostics& diags_;
  std::size_t nodes_ = 0;
  bool aborted_ = false;
};

}  // namespace

Value parse_yaml(std::string_view text, const std::string& display_name, Diagnostics& diags,
                 bool* empty) {
  if (empty) *empty = false;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    Location where{display_name, 0, 0};
    if (!e.mark.is_null()) where = {display_name, e.mark.line + 1, e.mark.column + 1};
    diags.add(where, "yaml", explain_syntax_error(e.msg));
    return {};
  } catch (const std::exception& e) {
    diags.add({display_name, 0, 0}, "yaml", std::string("cannot read the YAML: ") + e.what());
    return {};
  }
  if (docs.empty() || (docs.size() == 1 && docs[0].IsNull())) {
    if (empty) *empty = true;
    return {};
  }
  Converter converter(display_name, diags);
  if (docs.size() > 1) {
    diags.add(converter.location(docs[1].Mark()), "yaml",
              "the file holds more than one YAML document ('---'); keep one scenario per file");
  }
  try {
    return converter.convert(docs[0], 0, "");
  } catch (const std::exception& e) {
    diags.add({display_name, 0, 0}, "yaml", std::string("cannot read the YAML: ") + e.what());
    return {};
  }
}

}  // namespace citynet::scenario::detail
