#include "distributed/cluster.h"

#include <cctype>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// A small JSON reader for configuration: objects, arrays, strings, numbers,
// true/false/null. Nesting is bounded.
struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  // An array's elements, or an object's values (keys[i] names items[i]);
  // two vectors, since a pair holding a Json inside Json is not portable.
  std::vector<Json> items;
  std::vector<std::string> keys;

  const Json* Find(const std::string& key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}

  absl::StatusOr<Json> Document() {
    ASSIGN_OR_RETURN(Json v, Value(0));
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing text");
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON at offset ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::StatusOr<std::string> String() {
    if (!Consume('"')) return Error("expected a string");
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        const char e = text_[pos_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case '"':
          case '\\':
          case '/':
            c = e;
            break;
          default:
            return Error("unsupported escape");
        }
      }
      out.push_back(c);
    }
    if (!Consume('"')) return Error("unterminated string");
    return out;
  }
  absl::StatusOr<Json> Value(int depth) {
    if (depth > 32) return Error("nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end");
    Json v;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = Json::kObject;
      if (Consume('}')) return v;
      do {
        ASSIGN_OR_RETURN(std::string key, String());
        if (!Consume(':')) return Error("expected ':'");
        ASSIGN_OR_RETURN(Json item, Value(depth + 1));
        v.keys.push_back(std::move(key));
        v.items.push_back(std::move(item));
      } while (Consume(','));
      if (!Consume('}')) return Error("expected '}'");
    } else if (c == '[') {
      ++pos_;
      v.kind = Json::kArray;
      if (Consume(']')) return v;
      do {
        ASSIGN_OR_RETURN(Json item, Value(depth + 1));
        v.items.push_back(std::move(item));
      } while (Consume(','));
      if (!Consume(']')) return Error("expected ']'");
    } else if (c == '"') {
      v.kind = Json::kString;
      ASSIGN_OR_RETURN(v.text, String());
    } else if (text_.substr(pos_, 4) == "true" ||
               text_.substr(pos_, 5) == "false") {
      v.kind = Json::kBool;
      v.boolean = text_[pos_] == 't';
      pos_ += v.boolean ? 4 : 5;
    } else if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
    } else {
      const size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
              text_[pos_] == '-' || text_[pos_] == '+' || text_[pos_] == '.' ||
              text_[pos_] == 'e' || text_[pos_] == 'E')) {
        ++pos_;
      }
      if (!absl::SimpleAtod(text_.substr(start, pos_ - start), &v.number)) {
        pos_ = start;
        return Error("expected a value");
      }
      v.kind = Json::kNumber;
    }
    return v;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

absl::Status CheckAddress(const std::string& job, int task,
                          const std::string& address) {
  absl::StatusOr<int> port = PortOf(address);
  if (!port.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task ", task, " of job '", job, "': ", port.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ClusterSpec> FromJsonValue(const Json& root) {
  if (root.kind != Json::kObject || root.keys.empty()) {
    return absl::InvalidArgumentError(
        "the cluster must be a JSON object of jobs, e.g. "
        "{\"worker\": [\"localhost:2222\"]}");
  }
  ::tensorflow::ClusterDef def;
  for (size_t m = 0; m < root.keys.size(); ++m) {
    const std::string& job = root.keys[m];
    const Json& tasks = root.items[m];
    ::tensorflow::JobDef* j = def.add_job();
    j->set_name(job);
    if (tasks.kind == Json::kArray) {
      for (size_t i = 0; i < tasks.items.size(); ++i) {
        if (tasks.items[i].kind != Json::kString) {
          return absl::InvalidArgumentError(absl::StrCat(
              "task ", i, " of job '", job, "' is not a \"host:port\" string"));
        }
        (*j->mutable_tasks())[static_cast<int>(i)] = tasks.items[i].text;
      }
    } else if (tasks.kind == Json::kObject) {
      for (size_t t_at = 0; t_at < tasks.keys.size(); ++t_at) {
        const std::string& index = tasks.keys[t_at];
        const Json& address = tasks.items[t_at];
        int t = -1;
        if (!absl::SimpleAtoi(index, &t) || t < 0 ||
            address.kind != Json::kString) {
          return absl::InvalidArgumentError(absl::StrCat(
              "job '", job, "': tasks must map indices to \"host:port\""));
        }
        (*j->mutable_tasks())[t] = address.text;
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "job '", job, "' must be a list of \"host:port\" addresses"));
    }
  }
  return ClusterSpec::FromProto(def);
}

}  // namespace

std::string TaskName(const std::string& job, int task) {
  return absl::StrCat("/job:", job, "/replica:0/task:", task);
}

absl::StatusOr<int> PortOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "' is not host:port"));
  }
  return port;
}

absl::StatusOr<std::string> HostOf(const std::string& address) {
  RETURN_IF_ERROR(PortOf(address).status());
  return address.substr(0, address.rfind(':'));
}

absl::StatusOr<ClusterSpec> ClusterSpec::FromProto(
    const ::tensorflow::ClusterDef& def) {
  ClusterSpec spec;
  spec.def_ = def;
  absl::flat_hash_set<std::string> addresses;
  for (const auto& job : def.job()) {
    if (job.name().empty() || job.tasks().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job '", job.name(), "' has no name or no tasks"));
    }
    if (spec.tasks_.contains(job.name())) {
      return absl::InvalidArgumentError(
          absl::StrCat("job '", job.name(), "' is listed twice"));
    }
    for (const auto& [task, address] : job.tasks()) {
      RETURN_IF_ERROR(CheckAddress(job.name(), task, address));
      if (!addresses.insert(address).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("address ", address, " is given to two tasks"));
      }
      spec.tasks_[job.name()][task] = address;
    }
  }
  if (spec.tasks_.empty()) {
    return absl::InvalidArgumentError("the cluster has no jobs");
  }
  return spec;
}

absl::StatusOr<ClusterSpec> ClusterSpec::FromJson(absl::string_view json) {
  ASSIGN_OR_RETURN(Json root, JsonReader(json).Document());
  return FromJsonValue(root);
}

absl::StatusOr<std::string> ClusterSpec::Address(const std::string& job,
                                                 int task) const {
  auto j = tasks_.find(job);
  if (j != tasks_.end()) {
    auto t = j->second.find(task);
    if (t != j->second.end()) return t->second;
  }
  return absl::NotFoundError(
      absl::StrCat("the cluster has no task ", TaskName(job, task)));
}

std::vector<std::string> ClusterSpec::TaskNames() const {
  std::vector<std::string> names;
  for (const auto& [job, tasks] : tasks_) {
    for (const auto& [task, address] : tasks) {
      names.push_back(TaskName(job, task));
    }
  }
  return names;
}

absl::StatusOr<TaskConfig> ParseTfConfig(absl::string_view tf_config) {
  absl::StatusOr<Json> root = JsonReader(tf_config).Document();
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TF_CONFIG: ", root.status().message()));
  }
  const Json* cluster = root->Find("cluster");
  const Json* task = root->Find("task");
  if (cluster == nullptr || task == nullptr) {
    return absl::InvalidArgumentError(
        "TF_CONFIG needs \"cluster\" and \"task\"");
  }
  const Json* type = task->Find("type");
  const Json* index = task->Find("index");
  if (type == nullptr || type->kind != Json::kString || index == nullptr ||
      index->kind != Json::kNumber || index->number < 0 ||
      index->number != static_cast<int>(index->number)) {
    return absl::InvalidArgumentError(
        "TF_CONFIG's task needs a string \"type\" and an integer \"index\"");
  }
  absl::StatusOr<ClusterSpec> spec = FromJsonValue(*cluster);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TF_CONFIG: ", spec.status().message()));
  }
  TaskConfig config{*std::move(spec), type->text,
                    static_cast<int>(index->number)};
  RETURN_IF_ERROR(config.cluster.Address(config.job, config.task).status());
  return config;
}

}  // namespace rill
