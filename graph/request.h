// Request and Result: what goes into an Engine and what comes out, one Result per Request.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/item.h"

namespace refinery {

// A text field that carries several texts (e.g. "references" from a JSON list) joins them with
// this separator (ASCII record separator, U+001E); nodes that accept several split on it.
inline constexpr char kMultiTextSeparator = '\x1e';

struct Request {
  std::string id;        // echoed in the Result
  std::string type;      // workload type, for per-type accounting
  int32_t priority = 0;  // higher is more urgent
  // Milliseconds after submission by which the result is due (0: none). A request still waiting
  // in a node's queue then gets an error result at that moment; one about to start a node fails
  // there. A node already running is not interrupted.
  double deadline_ms = 0;
  FieldMap fields;  // usually text: text, reference, ...
  // Set for a request that is already known bad (e.g. an unparsable input line): it takes its
  // place in the stream and comes out as an error result with this message, in order.
  std::string input_error;
  // Optional: the submitter sets it to true to abandon the request (a client that went away).
  // The request then fails as kCancelled before its next node runs (one waiting in a node's queue
  // fails when its batch is taken, without running); its Result still arrives (exactly one per
  // request), for the submitter to drop.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

// Why a request failed, for callers that map failures to their own codes (a gRPC status).
enum class FailureKind {
  kNone,       // succeeded
  kError,      // a node, the loop or the input failed it: error_node and error_message say how
  kDeadline,   // its deadline_ms passed (in a queue, or before a node started)
  kCancelled,  // Request::cancelled was set
};

struct Result {
  std::string id;
  std::string type;
  int32_t priority = 0;
  uint64_t seq = 0;  // submission order, from 0
  bool ok = true;
  FailureKind failure = FailureKind::kNone;
  std::string error_node;  // when !ok: the node that failed ("" for engine errors)
  std::string error_message;
  FieldMap fields;  // every field the pipeline left on the item
  int iterations = 1;
  double latency_ms = 0;          // submission to result
  std::vector<NodeTiming> trace;  // per node, in execution order
  std::vector<double> pass_ms;    // refinement loop: wall time of each pass (empty without a loop)
};

// Pull-mode input: fills the next request and returns true, or returns false at the end.
// Called from one engine thread at a time, only when the engine has room for another item.
using RequestSource = std::function<bool(Request*)>;

}  // namespace refinery
