// Network namespace primitives: create (bound to a path or anonymous), rtnetlink sockets inside
// a netns, and the mount calls the named-netns layout needs.
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

namespace {

const char* kCreateUsage = "netnsCreate(path: string)";
const char* kAnonUsage = "netnsCreateAnonymous()";
const char* kNetlinkUsage =
    "netlinkOpen(netns: string | null, options?: { groups?: number, recvTimeoutMs?: number })";
const char* kMountUsage =
    "mount(source: string | null, target: string, fstype: string | null, flags: number)";
const char* kUmountUsage = "umount(target: string, flags: number)";

// Creates a new netns and bind-mounts it onto `path` (an existing empty file), the way
// `ip netns add` does, then returns the thread to its original netns.
Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) vml::ThrowUsage(env, kCreateUsage);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  const char* syscall = "";
  vml::NetnsGuard guard;
  int err = guard.Save(&syscall);
  if (err != 0) vml::ThrowSystemError(env, err, syscall, "/proc/thread-self/ns/net");
  if (unshare(CLONE_NEWNET) != 0) vml::ThrowSystemError(env, errno, "unshare", path);
  guard.MarkEntered();
  if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
    vml::ThrowSystemError(env, errno, "mount", path);
  }
  return env.Undefined();
}

// Creates a netns that lives only as long as the returned fd (or a process inside it).
Napi::Value NetnsCreateAnonymous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) vml::ThrowUsage(env, kAnonUsage);
  const char* syscall = "";
  vml::NetnsGuard guard;
  int err = guard.Save(&syscall);
  if (err != 0) vml::ThrowSystemError(env, err, syscall, "/proc/thread-self/ns/net");
  if (unshare(CLONE_NEWNET) != 0) vml::ThrowSystemError(env, errno, "unshare");
  guard.MarkEntered();
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) vml::ThrowSystemError(env, errno, "open", "/proc/thread-self/ns/net");
  return vml::HandOver({fd}, [&]() -> Napi::Value { return Napi::Number::New(env, fd); });
}

// Opens a NETLINK_ROUTE socket that belongs to the netns at `netns` (or the current one), with
// extended acks on so kernel error messages reach the caller.
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = vml::OptionalString(info, 0, kNetlinkUsage);
  uint32_t groups = 0;
  int recvTimeoutMs = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) vml::ThrowUsage(env, kNetlinkUsage);
    Napi::Object options = info[1].As<Napi::Object>();
    Napi::Value g = options.Get("groups");
    Napi::Value t = options.Get("recvTimeoutMs");
    if (!g.IsUndefined()) {
      groups = static_cast<uint32_t>(vml::WholeNumber(env, g, 0, 4294967295.0, kNetlinkUsage));
    }
    if (!t.IsUndefined()) {
      recvTimeoutMs = static_cast<int>(vml::WholeNumber(env, t, 0, 2147483647, kNetlinkUsage));
    }
  }
  const char* syscall = "";
  vml::NetnsGuard guard;
  int err = guard.Enter(netns, &syscall);
  if (err != 0) vml::ThrowSystemError(env, err, syscall, netns);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) vml::ThrowSystemError(env, errno, "socket", netns);
  int one = 1;
  int bufsize = 1 << 20;
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof(addr));
  addr.nl_family = AF_NETLINK;
  // Multicast groups (RTMGRP_* bits): notifications such as RTM_DELLINK reach this socket.
  addr.nl_groups = groups;
  // A blocking read then returns EAGAIN after this long, so a waiting reader can look around.
  if (recvTimeoutMs > 0) {
    struct timeval tv = {recvTimeoutMs / 1000, (recvTimeoutMs % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) != 0) {
    err = errno;
    close(fd);
    vml::ThrowSystemError(env, err, "setsockopt", netns);
  }
  // Larger buffers keep big dumps from overrunning; failure here only costs headroom.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    err = errno;
    close(fd);
    vml::ThrowSystemError(env, err, "bind", netns);
  }
  return vml::HandOver({fd}, [&]() -> Napi::Value { return Napi::Number::New(env, fd); });
}

// mount(2), for /run/netns's shared bind mount.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsString()) vml::ThrowUsage(env, kMountUsage);
  std::string source = vml::OptionalString(info, 0, kMountUsage);
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = vml::OptionalString(info, 2, kMountUsage);
  int flags = vml::IntArg(info, 3, kMountUsage);
  if (mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
            fstype.empty() ? nullptr : fstype.c_str(), static_cast<unsigned long>(flags),
            nullptr) != 0) {
    vml::ThrowSystemError(env, errno, "mount", target);
  }
  return env.Undefined();
}

// umount2(2), to release a named netns.
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString()) vml::ThrowUsage(env, kUmountUsage);
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = vml::IntArg(info, 1, kUmountUsage);
  if (umount2(target.c_str(), flags) != 0) vml::ThrowSystemError(env, errno, "umount2", target);
  return env.Undefined();
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate));
  exports.Set("netnsCreateAnonymous", Napi::Function::New(env, NetnsCreateAnonymous));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
}
