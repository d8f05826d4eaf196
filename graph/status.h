// Status and StatusOr<T>: errors as values outside TBB bodies (STYLE.md rule 6).
//
//   StatusOr<std::unique_ptr<Engine>> engine = Engine::FromFile("p.yaml");
//   if (!engine.ok()) { std::cerr << engine.status().message(); return 2; }
//
// Codes follow Abseil's meaning: kInvalidArgument for bad input a user can fix, kNotFound for a
// missing file or name, kFailedPrecondition for calls made in the wrong state, kResourceExhausted
// when a bounded wait for room ran out (retry later).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace refinery {

enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kResourceExhausted,
  kInternal
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // This status with `context` in front of its message ("context: message"), keeping its code,
  // so a NotFound raised deep down is still NotFound where it is reported. OK stays OK.
  //   return status.WithContext(where.ToString() + ": error: node '" + id + "'");
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds either a value or a non-OK Status.
template <typename T>
class StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace refinery
