// Shared helpers for the vmlaunch addon: Node-style system errors, argument checks, netns guard.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace vml {

// Throws an Error shaped like Node's system errors: code, errno (negative, as in Node), syscall,
// and the path or name involved.
[[noreturn]] void ThrowSystemError(Napi::Env env, int err, const char* syscall,
                                   const std::string& path = "");

// Throws a TypeError naming the expected usage of the function that was called wrongly.
[[noreturn]] void ThrowUsage(Napi::Env env, const char* usage);

// Reads an optional netns path argument: undefined/null/"" mean "the calling thread's netns".
std::string OptionalString(const Napi::CallbackInfo& info, size_t index, const char* usage);

// Reads a whole number in [min, max] (NaN, infinities and fractions refused); throws usage.
double WholeNumber(Napi::Env env, const Napi::Value& value, double min, double max,
                   const char* usage);

// Reads a non-negative integer argument (an fd, a count).
int IntArg(const Napi::CallbackInfo& info, size_t index, const char* usage);

// Reads an array of fds.
std::vector<int> FdArrayArg(const Napi::CallbackInfo& info, size_t index, const char* usage);

// Closes every fd in the list, preserving errno; used on error paths.
void CloseAll(const std::vector<int>& fds);

// Builds the JS result that hands `fds` over; if building throws (an allocation, or a setter
// napi_set_property ran), the fds are closed before the exception goes on: nothing leaks.
template <typename Build>
Napi::Value HandOver(const std::vector<int>& fds, Build build) {
  try {
    return build();
  } catch (...) {
    CloseAll(fds);
    throw;
  }
}

// Enters a network namespace on the calling thread and always returns to the original one when
// it goes out of scope (also on error). If returning fails the process aborts: a JS thread left
// in a foreign netns would silently corrupt every later socket it opens.
class NetnsGuard {
 public:
  NetnsGuard() = default;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();

  // Saves the current netns. Returns 0 or an errno; *syscall names the failing call.
  int Save(const char** syscall);
  // Enters the netns at `path` (no-op for an empty path). Returns 0 or an errno.
  int Enter(const std::string& path, const char** syscall);
  // Marks that the thread is in a different netns (after unshare), so the guard restores it.
  void MarkEntered() { entered_ = true; }

 private:
  int orig_ = -1;
  bool entered_ = false;
};

}  // namespace vml

// Registration functions of each source file.
void InitErrors(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitTap(Napi::Env env, Napi::Object exports);
void InitFds(Napi::Env env, Napi::Object exports);
void InitDetached(Napi::Env env, Napi::Object exports);
void InitPidfd(Napi::Env env, Napi::Object exports);
void InitRamFiles(Napi::Env env, Napi::Object exports);
