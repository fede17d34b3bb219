// Work the kernel makes wait: closing the last fd of a tap, or sending an rtnetlink request that
// deletes a link, returns only after the kernel's RCU wait (rcu_barrier in netdev_run_todo,
// 15-30 ms here) although the link is gone from its netns within a few ms. These hand such a
// call to a short-lived thread of its own, so neither the JS thread nor libuv's pool sits in it;
// TypeScript decides when (and watches RTM_DELLINK to know the link is gone).
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "common.h"

namespace {

// Threads started here and not finished yet (each holds fds until it ends).
std::atomic<int> gInFlight{0};

const char* kSendUsage = "sendDetached(socket: number, data: Buffer)";
const char* kCloseUsage = "closeDetached(fds: number[])";

// Starts `work` on a detached thread; returns 0 or an errno when no thread could be made.
template <typename Work>
int RunDetached(Work work) {
  gInFlight++;
  try {
    std::thread([work = std::move(work)]() mutable {
      work();
      gInFlight--;
    }).detach();
    return 0;
  } catch (const std::system_error& e) {
    gInFlight--;
    return e.code().value() != 0 ? e.code().value() : EAGAIN;
  }
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
  int err = RunDetached([dup, bytes = std::move(bytes)]() {
    ssize_t n;
    do {
      n = send(dup, bytes.data(), bytes.size(), 0);
    } while (n < 0 && errno == EINTR);
    close(dup);
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
  int err = RunDetached([fds]() {
    for (int fd : fds) close(fd);  // Linux releases an fd even when close reports EINTR
  });
  if (err != 0) {
    vml::CloseAll(fds);
    vml::ThrowSystemError(env, err, "pthread_create");
  }
  return env.Undefined();
}

// How many detached calls have not finished yet (their fds are still open until then).
Napi::Value DetachedInFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gInFlight.load());
}

}  // namespace

void InitDetached(Napi::Env env, Napi::Object exports) {
  exports.Set("sendDetached", Napi::Function::New(env, SendDetached));
  exports.Set("closeDetached", Napi::Function::New(env, CloseDetached));
  exports.Set("detachedInFlight", Napi::Function::New(env, DetachedInFlight));
}
