// Node-style errors, argument readers and the netns guard shared by every primitive.
#include <errno.h>

#include <cmath>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/vfs.h>
#include <uv.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#include "common.h"

namespace vml {

void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  throw error;
}

void ThrowUsage(Napi::Env env, const char* usage) {
  throw Napi::TypeError::New(env, std::string("invalid arguments; usage: ") + usage);
}

std::string OptionalString(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return "";
  if (!info[index].IsString()) ThrowUsage(info.Env(), usage);
  return info[index].As<Napi::String>().Utf8Value();
}

double WholeNumber(Napi::Env env, const Napi::Value& value, double min, double max,
                   const char* usage) {
  if (!value.IsNumber()) ThrowUsage(env, usage);
  double number = value.As<Napi::Number>().DoubleValue();
  // Compared as doubles before any cast: casting NaN or an out-of-range double is undefined.
  if (!std::isfinite(number) || number < min || number > max || std::trunc(number) != number) {
    ThrowUsage(env, usage);
  }
  return number;
}

int IntArg(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index) ThrowUsage(info.Env(), usage);
  return static_cast<int>(WholeNumber(info.Env(), info[index], 0, 2147483647, usage));
}

std::vector<int> FdArrayArg(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || !info[index].IsArray()) ThrowUsage(info.Env(), usage);
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    fds.push_back(static_cast<int>(WholeNumber(info.Env(), item, 0, 2147483647, usage)));
  }
  return fds;
}

void CloseAll(const std::vector<int>& fds) {
  int saved = errno;
  for (int fd : fds) close(fd);
  errno = saved;
}

int NetnsGuard::Save(const char** syscall) {
  orig_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_ < 0) {
    *syscall = "open";
    return errno;
  }
  return 0;
}

int NetnsGuard::Enter(const std::string& path, const char** syscall) {
  if (path.empty()) return 0;
  if (orig_ < 0) {
    int err = Save(syscall);
    if (err != 0) return err;
  }
  // Non-blocking: a FIFO planted at the path must not hold the JS thread in open(); and only
  // an nsfs file is a namespace (anything else is refused before setns).
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (target < 0) {
    *syscall = "open";
    return errno;
  }
  struct statfs fs;
  if (fstatfs(target, &fs) != 0) {
    int err = errno;
    close(target);
    *syscall = "fstatfs";
    return err;
  }
  if (fs.f_type != NSFS_MAGIC) {
    close(target);
    *syscall = "setns";  // what setns says of a file that is not a namespace
    return EINVAL;
  }
  int rc = setns(target, CLONE_NEWNET);
  int err = errno;
  close(target);
  if (rc != 0) {
    *syscall = "setns";
    return err;
  }
  entered_ = true;
  return 0;
}

NetnsGuard::~NetnsGuard() {
  if (entered_) {
    if (setns(orig_, CLONE_NEWNET) != 0) {
      // Unrecoverable: see the class comment.
      abort();
    }
  }
  if (orig_ >= 0) close(orig_);
}

}  // namespace vml

// errno numbers the TypeScript side maps names from (netlink errors arrive as numbers).
void InitErrors(Napi::Env env, Napi::Object exports) {
  Napi::Function errName = Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    int err = vml::IntArg(info, 0, "errnoName(errno: number)");
    return Napi::String::New(info.Env(), uv_err_name(-err));
  });
  exports.Set("errnoName", errName);
}
