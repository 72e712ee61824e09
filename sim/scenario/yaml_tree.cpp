#include "scenario/yaml_tree.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "io/text.hpp"

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

// Sees the events of one document without building nodes: whether it is a bare null and where
// it starts.
class DocumentScanner : public YAML::EventHandler {
 public:
  void reset() {
    events_ = 0;
    only_null_ = true;
    start_.reset();
  }
  bool only_null() const { return only_null_ && events_ == 1; }
  const std::optional<YAML::Mark>& start() const { return start_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { seen(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { seen(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    seen(mark, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    seen(mark, false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    seen(mark, false);
  }
  void OnMapEnd() override {}

 private:
  void seen(const YAML::Mark& mark, bool null) {
    if (!start_) start_ = mark;
    ++events_;
    only_null_ = only_null_ && null;
  }

  std::size_t events_ = 0;
  bool only_null_ = true;
  std::optional<YAML::Mark> start_;
};

// Counts the documents of `text`, up to three, and returns the start of the second, if any.
// yaml-cpp 0.7 meets a ',', ']' or '}' outside a flow collection at the top level by reporting an
// empty document without consuming the token, forever: YAML::LoadAll then allocates nodes until
// memory runs out. Two empty documents in a row at the same place are that loop, reported here
// as the syntax error it is.
struct DocumentCount {
  std::size_t documents = 0;
  std::optional<YAML::Mark> second;
  std::optional<YAML::Mark> stuck_at;
};

DocumentCount count_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScanner scan;
  DocumentCount count;
  std::optional<YAML::Mark> last_null;
  while (count.documents < 3) {
    scan.reset();
    if (!parser.HandleNextDocument(scan)) break;
    ++count.documents;
    if (count.documents == 2) count.second = scan.start();
    if (!scan.only_null()) {
      last_null.reset();
      continue;
    }
    const YAML::Mark& at = *scan.start();
    if (last_null && last_null->pos == at.pos) {
      count.stuck_at = at;
      break;
    }
    last_null = at;
  }
  return count;
}

}  // namespace

namespace {

Value parse(std::string_view text, const std::string& display_name, Diagnostics& diags, bool* empty,
            bool guard) {
  if (empty) *empty = false;
  if (text.size() > kMaxTextBytes) {
    diags.add({display_name, 0, 0}, "yaml",
              "the file holds " + std::to_string(text.size()) + " bytes, more than the " +
                  std::to_string(kMaxTextBytes >> 20) +
                  " MB a scenario may have; a scenario is a short text file");
    return {};
  }
  if (const auto bad = io::check_utf8_text(text)) {
    diags.add({display_name, bad->line, bad->column}, "yaml", bad->message);
    return {};
  }
  const std::string owned(text);
  DocumentCount count;
  YAML::Node doc;
  try {
    if (guard)
      count = count_documents(owned);
    else
      count.documents = 1;
    if (count.stuck_at) {
      const YAML::Mark& m = *count.stuck_at;
      const char c = m.pos >= 0 && static_cast<std::size_t>(m.pos) < owned.size()
                         ? owned[static_cast<std::size_t>(m.pos)]
                         : '?';
      diags.add({display_name, m.line + 1, m.column + 1}, "yaml",
                std::string("unexpected '") + c +
                    "' here: ',', ']' and '}' belong inside a [list] or {map} written on one line");
      return {};
    }
    if (count.documents > 0) doc = YAML::Load(owned);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp says only "bad file" when its own nesting guard trips.
    Location where{display_name, 0, 0};
    if (!e.mark.is_null()) where = {display_name, e.mark.line + 1, e.mark.column + 1};
    diags.add(where, "yaml",
              "nested " + std::to_string(e.depth()) +
                  " levels deep or more; a scenario needs only a few (an unclosed '[' or '{'?)");
    return {};
  } catch (const YAML::Exception& e) {
    Location where{display_name, 0, 0};
    if (!e.mark.is_null()) where = {display_name, e.mark.line + 1, e.mark.column + 1};
    diags.add(where, "yaml", explain_syntax_error(e.msg));
    return {};
  } catch (const std::exception& e) {
    diags.add({display_name, 0, 0}, "yaml", std::string("cannot read the YAML: ") + e.what());
    return {};
  }
  if (count.documents == 0 || (count.documents == 1 && doc.IsNull())) {
    if (empty) *empty = true;
    return {};
  }
  Converter converter(display_name, diags);
  if (count.documents > 1) {
    diags.add(count.second ? converter.location(*count.second) : Location{display_name, 0, 0},
              "yaml",
              "the file holds more than one YAML document ('---'); keep one scenario per file");
  }
  try {
    return converter.convert(doc, 0, "");
  } catch (const std::exception& e) {
    diags.add({display_name, 0, 0}, "yaml", std::string("cannot read the YAML: ") + e.what());
    return {};
  }
}

}  // namespace

Value parse_yaml(std::string_view text, const std::string& display_name, Diagnostics& diags,
                 bool* empty) {
  return parse(text, display_name, diags, empty, true);
}

Value parse_builtin_yaml(std::string_view text, const std::string& display_name,
                         Diagnostics& diags) {
  return parse(text, display_name, diags, nullptr, false);
}

}  // namespace citynet::scenario::detail
