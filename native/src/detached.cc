// Work the kernel makes wait: closing the last fd of a tap, or sending an rtnetlink request that
// deletes a link, returns only after the kernel's RCU wait (rcu_barrier in netdev_run_todo,
// tens of ms) although the link is gone from its netns within a few ms (docs/design.md). These hand such a
// call to a short-lived thread of its own, so neither the JS thread nor libuv's pool sits in it;
// TypeScript decides when (and watches RTM_DELLINK to know the link is gone).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <memory>
#include <thread>
#include <vector>

#include "common.h"

namespace {

// Threads started here and not finished yet (each holds fds until it ends).
std::atomic<int> gInFlight{0};
// Failures inside the threads, which have no caller to throw to: read with detachedFailures().
std::atomic<int> gIsolateFailures{0};
std::atomic<int> gSendFailures{0};
std::atomic<int> gLastErrno{0};

void RecordFailure(std::atomic<int>& counter, int err) {
  gLastErrno = err;
  counter++;
}

const char* kSendUsage = "sendDetached(socket: number, data: Buffer)";
const char* kCloseUsage = "closeDetached(fds: number[])";

// Tells the calling thread when the detached one has its own fd table.
struct Handoff {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  bool isolated = false;
  bool released = false;  // the caller has closed its own copies
};

// Gives this thread a private fd table holding only `keep` (unshare CLONE_FILES copies the
// process's table; close_range drops the rest of the copy). Returns whether it worked.
// A close_range failure leaves the private table holding copies of other fds until the thread
// ends (it is still private, so the caller may close its own): counted, not fatal.
bool Isolate(std::vector<int> keep) {
  if (unshare(CLONE_FILES) != 0) {
    RecordFailure(gIsolateFailures, errno);
    return false;
  }
  std::sort(keep.begin(), keep.end());
  unsigned int from = 0;
  for (int fd : keep) {
    if (static_cast<unsigned int>(fd) > from &&
        syscall(SYS_close_range, from, fd - 1, 0) != 0) {
      RecordFailure(gIsolateFailures, errno);
    }
    from = static_cast<unsigned int>(fd) + 1;
  }
  if (syscall(SYS_close_range, from, ~0U, 0) != 0) RecordFailure(gIsolateFailures, errno);
  return true;
}

// Runs `work` on a thread of its own that keeps private copies of `fds`. Once the copies exist
// the caller's are closed here, so the process's fd table is clean when this returns and the
// kernel's slow release (a tap teardown, a netlink request's RCU wait) happens in the thread.
// Returns 0, or an errno when no thread could be made (the fds are then still the caller's).
template <typename Work>
int RunDetached(const std::vector<int>& fds, Work work) {
  auto handoff = std::make_shared<Handoff>();
  gInFlight++;
  try {
    std::thread([fds, handoff, work = std::move(work)]() mutable {
      bool isolated = Isolate(fds);
      {
        std::lock_guard<std::mutex> lock(handoff->m);
        handoff->ready = true;
        handoff->isolated = isolated;
      }
      handoff->cv.notify_all();
      work();
      // Ours are the last references only once the caller has dropped its copies.
      {
        std::unique_lock<std::mutex> lock(handoff->m);
        handoff->cv.wait(lock, [&] { return handoff->released; });
      }
      // Private copies (or, when isolation failed, the shared fds) are closed here.
      for (int fd : fds) close(fd);
      gInFlight--;
    }).detach();
  } catch (const std::system_error& e) {
    gInFlight--;
    return e.code().value() != 0 ? e.code().value() : EAGAIN;
  }
  {
    std::unique_lock<std::mutex> lock(handoff->m);
    handoff->cv.wait(lock, [&] { return handoff->ready; });
    if (handoff->isolated) {
      for (int fd : fds) close(fd);  // the thread holds its own references now
    }
    handoff->released = true;
  }
  handoff->cv.notify_all();
  return 0;
}

// Sends `data` on a dup of `socket` from a thread of its own, then closes the dup. The caller
// keeps `socket` and reads the answer (the ACK, notifications) from it as usual.
Napi::Value SendDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = vml::IntArg(info, 0, kSendUsage);
  if (info.Length() < 2 || !info[1].IsBuffer()) vml::ThrowUsage(env, kSendUsage);
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  if (data.Length() == 0) vml::ThrowUsage(env, kSendUsage);
  int dup = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) vml::ThrowSystemError(env, errno, "fcntl");
  std::vector<uint8_t> bytes(data.Data(), data.Data() + data.Length());
  int err = RunDetached({dup}, [dup, bytes = std::move(bytes)]() {
    ssize_t n;
    do {
      n = send(dup, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) RecordFailure(gSendFailures, errno);
    else if (static_cast<size_t>(n) != bytes.size()) RecordFailure(gSendFailures, EMSGSIZE);
  });
  if (err != 0) {
    close(dup);
    vml::ThrowSystemError(env, err, "pthread_create");
  }
  return env.Undefined();
}

// Closes `fds` from a thread of its own (they are the thread's from the call on).
Napi::Value CloseDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> fds = vml::FdArrayArg(info, 0, kCloseUsage);
  if (fds.empty()) return env.Undefined();
  int err = RunDetached(fds, []() {});
  if (err != 0) {
    vml::CloseAll(fds);
    vml::ThrowSystemError(env, err, "pthread_create");
  }
  return env.Undefined();
}

// How many detached calls have not finished yet.
Napi::Value DetachedInFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gInFlight.load());
}

// Failures of detached work so far: isolation (unshare, close_range) and sends, with the last
// errno; the caller compares before and after its own call.
Napi::Value DetachedFailures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isolate", gIsolateFailures.load());
  out.Set("send", gSendFailures.load());
  out.Set("lastErrno", gLastErrno.load());
  return out;
}

}  // namespace

void InitDetached(Napi::Env env, Napi::Object exports) {
  exports.Set("sendDetached", Napi::Function::New(env, SendDetached));
  exports.Set("closeDetached", Napi::Function::New(env, CloseDetached));
  exports.Set("detachedInFlight", Napi::Function::New(env, DetachedInFlight));
  exports.Set("detachedFailures", Napi::Function::New(env, DetachedFailures));
}
