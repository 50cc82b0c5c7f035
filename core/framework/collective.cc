#include "core/framework/collective.h"

namespace rill {

const char* CollectiveKindName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kReduce:
      return "reduce";
    case CollectiveKind::kGather:
      return "gather";
    case CollectiveKind::kBcastSend:
      return "broadcast send";
    case CollectiveKind::kBcastRecv:
      return "broadcast receive";
  }
  return "collective";
}

}  // namespace rill
