#include "tools/service/stream_call.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "graph/io/json_io.h"
#include "tools/service/call_request.h"

namespace refinery::service {

namespace {

// One stream's results between the graph threads that produce them and the handler thread that
// writes them. `in_flight` counts requests submitted and not yet written back: the reader waits
// while it is at the cap, so the results held here never exceed it.
//
// Each side has its own condition variable and is woken only when it is waiting: a stream moves
// a result in a few microseconds, and waking a thread that has nothing to do costs as much
// (profiled: futex wake-ups were the largest cost of a stream of tiny requests).
//
// A batched stream's writer lingers: with results ready but more on their way, it waits up to
// `linger` for a fuller message (kFullBatch results), unless every request in flight has its
// result already. Results arriving one by one would otherwise each wake the writer and leave in
// a message of their own. A lone request is never held back (all its stream's results are in).
struct StreamState {
  static constexpr size_t kFullBatch = 32;
  std::mutex mu;
  std::condition_variable results_cv;  // the writer waits here for results
  std::condition_variable room_cv;     // the reader waits here for room under the cap
  bool writer_waiting = false;
  bool writer_lingering = false;
  bool reader_waiting = false;
  std::chrono::microseconds linger{0};
  std::deque<proto::Result> ready;
  std::map<uint64_t, proto::Result> held;  // ordered streams: results waiting for earlier ones
  uint64_t next_out = 0;
  bool ordered = false;
  int64_t cap = 1;
  int64_t in_flight = 0;
  bool reader_done = false;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

  void Deliver(uint64_t seq, proto::Result result) {
    std::lock_guard lock(mu);
    if (!ordered) {
      ready.push_back(std::move(result));
    } else {
      held.emplace(seq, std::move(result));
      for (auto it = held.begin(); it != held.end() && it->first == next_out;
           it = held.erase(it), ++next_out) {
        ready.push_back(std::move(it->second));
      }
    }
    if (writer_waiting && !ready.empty() && (!writer_lingering || Full())) results_cv.notify_one();
  }

  // Whether a lingering writer should write now: a full message, or nothing more to wait for.
  bool Full() const {
    return ready.size() >= kFullBatch || int64_t(ready.size()) >= in_flight || reader_done ||
           cancelled->load();
  }

  // Waits for room for one more request and takes it; false when the call was cancelled.
  bool TakeRoom() {
    std::unique_lock lock(mu);
    reader_waiting = true;
    room_cv.wait(lock, [&] { return in_flight < cap || cancelled->load(); });
    reader_waiting = false;
    if (cancelled->load()) return false;
    ++in_flight;
    return true;
  }

  // The writer wrote (or dropped) `n` results: their room goes back to the reader.
  void Release(size_t n) {
    std::lock_guard lock(mu);
    in_flight -= int64_t(n);
    if (reader_waiting) room_cv.notify_one();
  }

  // The reader stops: no more requests (the client finished, or the call ended).
  void ReaderDone() {
    std::lock_guard lock(mu);
    reader_done = true;
    results_cv.notify_one();
  }

  // Wakes both sides so they see `cancelled`.
  void Cancel() {
    cancelled->store(true);
    std::lock_guard lock(mu);
    room_cv.notify_all();
    results_cv.notify_all();
  }
};

// Framing: the requests a message carries, and results moved into one message.
template <class F>
void ForEachRequest(const v1::RunRequest& message, F&& f) {
  f(message);
}
template <class F>
void ForEachRequest(const v1::RunBatch& message, F&& f) {
  for (const v1::RunRequest& r : message.requests()) f(r);
}

size_t Pack(std::deque<proto::Result>* ready, proto::Result* out) {
  *out = std::move(ready->front());
  ready->pop_front();
  return 1;
}
size_t Pack(std::deque<proto::Result>* ready, v1::ResultBatch* out) {
  out->Clear();
  size_t bytes = 0, n = 0;
  while (!ready->empty()) {
    const size_t size = ready->front().ByteSizeLong();
    if (n > 0 && bytes + size > kResultBatchBytes) break;
    *out->add_results() = std::move(ready->front());
    ready->pop_front();
    bytes += size;
    ++n;
  }
  return n;
}

}  // namespace

template <class In, class Out>
grpc::Status ServeStream(grpc::ServerContext* context, grpc::ServerReaderWriter<Out, In>* stream,
                         const StreamServices& services) {
  auto state = std::make_shared<StreamState>();
  state->cap = std::max(1, services.options->stream_in_flight);
  if constexpr (std::is_same_v<Out, v1::ResultBatch>) state->linger = kResultLinger;
  const std::optional<std::string> ordered = Metadata(*context, "refinery-ordered");
  state->ordered = ordered && (*ordered == "true" || *ordered == "1");
  const std::optional<Clock::time_point> deadline = CallDeadline(*context);
  // Engines this stream submitted to stay alive until its last result (a reload may retire
  // them meanwhile). Held here, never by a callback: see pipeline_set.h.
  std::vector<std::shared_ptr<Engine>> engines;

  // Submits one request (or answers it with an error result); its room is taken.
  uint64_t seq = 0;
  auto submit = [&](const v1::RunRequest& message) {
    const uint64_t my_seq = seq++;
    const int64_t position = int64_t(my_seq) + 1;
    std::shared_ptr<const PipelineSet> set = services.pipelines->current();
    StatusOr<const ServedPipeline*> pipeline = set->Find(PipelineName(message, *context));
    StatusOr<Request> request = pipeline.ok() ? BuildRequest(message, position, *context,
                                                             *services.options, state->cancelled)
                                              : StatusOr<Request>(pipeline.status());
    if (!request.ok()) {
      state->Deliver(my_seq, ErrorResult(AnswerId(message, position), request.status().message()));
      return;
    }
    const std::shared_ptr<Engine>& engine = (*pipeline)->engine;
    if (engines.empty() || engines.back() != engine) engines.push_back(engine);
    const std::string id = request->id;
    Status s = engine->SubmitUntil(
        std::move(request).value(),
        [state, my_seq](Result&& r) { state->Deliver(my_seq, ResultToProto(r)); },
        deadline.value_or(Clock::time_point::max()));
    if (!s.ok()) state->Deliver(my_seq, ErrorResult(id, s.message()));
  };

  std::thread reader([&, state] {
    In message;
    // Room is taken before each Read, so a stream at its cap stops reading (the back-pressure),
    // and before each request of a batch after the first: the cap holds inside a batch too, and
    // what waits meanwhile is this one message, bounded by --max-message-bytes.
    bool have_room = state->TakeRoom();
    while (have_room) {
      if (!stream->Read(&message)) {
        // A cancelled call (client gone, deadline, server drain) stops its requests at once.
        if (context->IsCancelled()) state->Cancel();
        break;
      }
      services.metrics->Received(services.method);
      ForEachRequest(message, [&](const v1::RunRequest& r) {
        if (!have_room) have_room = state->TakeRoom();
        if (!have_room) return;  // cancelled: the rest of the message is dropped
        submit(r);
        have_room = false;
      });
      if (!have_room && !state->cancelled->load()) have_room = state->TakeRoom();
    }
    if (have_room) state->Release(1);  // the room taken for a message that never came
    state->ReaderDone();
  });

  bool client_gone = false;
  Out out;
  for (;;) {
    std::unique_lock lock(state->mu);
    state->writer_waiting = true;
    state->results_cv.wait(lock, [&] {
      return !state->ready.empty() || (state->reader_done && state->in_flight == 0);
    });
    if (!state->ready.empty() && state->linger.count() > 0 && !state->Full()) {
      state->writer_lingering = true;
      state->results_cv.wait_for(lock, state->linger, [&] { return state->Full(); });
      state->writer_lingering = false;
    }
    state->writer_waiting = false;
    if (state->ready.empty()) break;  // reader done and every result written
    const size_t packed = Pack(&state->ready, &out);
    // No WriteOptions::set_buffer_hint here even when more results wait: a synchronous Write
    // with the hint does not complete until the transport writes for another reason, so this
    // thread could not write the next result to flush it (a stream whose client had finished
    // sending stalled 60 s).
    lock.unlock();
    if (!client_gone) {
      if (stream->Write(out)) {
        services.metrics->Sent(services.method);
      } else {
        // The client went away: its requests stop, the rest of their results are dropped.
        client_gone = true;
        state->Cancel();
        context->TryCancel();
      }
    }
    state->Release(packed);
  }
  reader.join();
  if (client_gone || context->IsCancelled()) {
    state->Cancel();
    return {grpc::StatusCode::CANCELLED, "the stream was cancelled"};
  }
  return grpc::Status::OK;
}

template grpc::Status ServeStream(grpc::ServerContext*,
                                  grpc::ServerReaderWriter<proto::Result, v1::RunRequest>*,
                                  const StreamServices&);
template grpc::Status ServeStream(grpc::ServerContext*,
                                  grpc::ServerReaderWriter<v1::ResultBatch, v1::RunBatch>*,
                                  const StreamServices&);

}  // namespace refinery::service
