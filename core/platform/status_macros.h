// The two status macros used across Rill.
//
//   RETURN_IF_ERROR(expr): evaluates expr (an absl::Status) and returns it
//     from the enclosing function when it is not OK.
//   ASSIGN_OR_RETURN(lhs, expr): evaluates expr (an absl::StatusOr<T>); on
//     error returns its status, otherwise moves the value into lhs, which may
//     be a declaration (`ASSIGN_OR_RETURN(auto t, MakeTensor())`).
#ifndef RILL_CORE_PLATFORM_STATUS_MACROS_H_
#define RILL_CORE_PLATFORM_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RILL_STATUS_CONCAT_INNER_(a, b) a##b
#define RILL_STATUS_CONCAT_(a, b) RILL_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status rill_status_ = (expr);        \
    if (!rill_status_.ok()) return rill_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr)                                         \
  RILL_ASSIGN_OR_RETURN_IMPL_(RILL_STATUS_CONCAT_(rill_or_, __LINE__), lhs, \
                              expr)

#define RILL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

#endif  // RILL_CORE_PLATFORM_STATUS_MACROS_H_
