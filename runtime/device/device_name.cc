#include "runtime/device/device_name.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rill {
namespace {

absl::Status Bad(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed device name '", name, "': ", why));
}

bool ParseId(absl::string_view s, bool* has, int* out) {
  if (s == "*") {
    *has = false;
    return true;
  }
  *has = true;
  return absl::SimpleAtoi(s, out) && *out >= 0;
}

bool IsJobName(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalpha(s[0])) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<DeviceName> DeviceName::Parse(absl::string_view name) {
  DeviceName out;
  if (name.empty()) return out;
  if (name[0] != '/') return Bad(name, "must start with '/'");
  std::vector<absl::string_view> parts =
      absl::StrSplit(name.substr(1), '/', absl::SkipEmpty());
  for (absl::string_view part : parts) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, ':');
    const absl::string_view key = kv[0];
    if (key == "job" && kv.size() == 2) {
      if (!IsJobName(kv[1])) return Bad(name, "bad job name");
      out.has_job = true;
      out.job = std::string(kv[1]);
    } else if (key == "replica" && kv.size() == 2) {
      if (!ParseId(kv[1], &out.has_replica, &out.replica)) {
        return Bad(name, "bad replica");
      }
    } else if (key == "task" && kv.size() == 2) {
      if (!ParseId(kv[1], &out.has_task, &out.task))
        return Bad(name, "bad task");
    } else if (key == "device" && (kv.size() == 2 || kv.size() == 3)) {
      if (kv[1] != "*") {
        out.has_type = true;
        out.type = absl::AsciiStrToUpper(kv[1]);
      }
      if (kv.size() == 3 && !ParseId(kv[2], &out.has_id, &out.id)) {
        return Bad(name, "bad device id");
      }
    } else if (kv.size() == 2 && (absl::EqualsIgnoreCase(key, "cpu") ||
                                  absl::EqualsIgnoreCase(key, "gpu"))) {
      // The legacy "/cpu:0" form.
      out.has_type = true;
      out.type = absl::AsciiStrToUpper(key);
      if (!ParseId(kv[1], &out.has_id, &out.id))
        return Bad(name, "bad device id");
    } else {
      return Bad(name, absl::StrCat("unknown part '", part, "'"));
    }
  }
  return out;
}

DeviceName DeviceName::Full(absl::string_view job, int replica, int task,
                            absl::string_view type, int id) {
  DeviceName d;
  d.has_job = d.has_replica = d.has_task = d.has_type = d.has_id = true;
  d.job = std::string(job);
  d.replica = replica;
  d.task = task;
  d.type = std::string(type);
  d.id = id;
  return d;
}

std::string DeviceName::ToString() const {
  std::string s;
  if (has_job) absl::StrAppend(&s, "/job:", job);
  if (has_replica) absl::StrAppend(&s, "/replica:", replica);
  if (has_task) absl::StrAppend(&s, "/task:", task);
  if (has_type || has_id) {
    absl::StrAppend(&s, "/device:", has_type ? type : "*");
    if (has_id) absl::StrAppend(&s, ":", id);
  }
  return s;
}

std::string DeviceName::TaskName() const {
  return absl::StrCat("/job:", job, "/replica:", replica, "/task:", task);
}

bool DeviceName::Matches(const DeviceName& r) const {
  if (r.has_job && (!has_job || job != r.job)) return false;
  if (r.has_replica && (!has_replica || replica != r.replica)) return false;
  if (r.has_task && (!has_task || task != r.task)) return false;
  if (r.has_type && (!has_type || !absl::EqualsIgnoreCase(type, r.type))) {
    return false;
  }
  if (r.has_id && (!has_id || id != r.id)) return false;
  return true;
}

absl::Status DeviceName::MergeFrom(const DeviceName& o) {
  auto conflict = [&](absl::string_view field) {
    return absl::InvalidArgumentError(
        absl::StrCat("device names '", ToString(), "' and '", o.ToString(),
                     "' disagree on the ", field));
  };
  if (o.has_job) {
    if (has_job && job != o.job) return conflict("job");
    has_job = true;
    job = o.job;
  }
  if (o.has_replica) {
    if (has_replica && replica != o.replica) return conflict("replica");
    has_replica = true;
    replica = o.replica;
  }
  if (o.has_task) {
    if (has_task && task != o.task) return conflict("task");
    has_task = true;
    task = o.task;
  }
  if (o.has_type) {
    if (has_type && !absl::EqualsIgnoreCase(type, o.type)) {
      return conflict("device type");
    }
    has_type = true;
    type = o.type;
  }
  if (o.has_id) {
    if (has_id && id != o.id) return conflict("device id");
    has_id = true;
    id = o.id;
  }
  return absl::OkStatus();
}

}  // namespace rill
