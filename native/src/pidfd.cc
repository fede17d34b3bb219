// Process handles (pidfd, Linux 5.3+): signalling a process that is not our child (virtiofsd's
// sandboxed worker) without the risk of its pid having been reused by someone else.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

namespace {

const char* kOpenUsage = "pidfdOpen(pid: number)";
const char* kSignalUsage = "pidfdSignal(pidfd: number, signal: number)";
const char* kExitedUsage = "pidfdExited(pidfd: number)";

// pidfd_open(2): an fd that always names this process (close-on-exec by default).
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = vml::IntArg(info, 0, kOpenUsage);
  if (pid < 1) vml::ThrowUsage(env, kOpenUsage);
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) vml::ThrowSystemError(env, errno, "pidfd_open");
  return vml::HandOver({static_cast<int>(fd)},
                       [&]() -> Napi::Value { return Napi::Number::New(env, static_cast<double>(fd)); });
}

// pidfd_send_signal(2): returns false when the process has already exited (ESRCH).
Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = vml::IntArg(info, 0, kSignalUsage);
  int sig = vml::IntArg(info, 1, kSignalUsage);
  if (sig > 64) vml::ThrowUsage(env, kSignalUsage);
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    vml::ThrowSystemError(env, errno, "pidfd_send_signal");
  }
  return Napi::Boolean::New(env, true);
}

// True once the process has exited (a pidfd polls readable then); never waits.
Napi::Value PidfdExited(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = vml::IntArg(info, 0, kExitedUsage);
  struct pollfd pfd = {fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&pfd, 1, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) vml::ThrowSystemError(env, errno, "poll");
  if (pfd.revents & POLLNVAL) vml::ThrowSystemError(env, EBADF, "poll");
  return Napi::Boolean::New(env, rc > 0);
}

}  // namespace

void InitPidfd(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal));
  exports.Set("pidfdExited", Napi::Function::New(env, PidfdExited));
}
