// TAP, macvtap and vhost-net file descriptors: the queue fds QEMU's tap netdev consumes.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common.h"

namespace {

const char* kTapUsage =
    "tapOpen(netns: string | null, name: string, options: { queues: number, vnetHdr: boolean, "
    "exclusive: boolean })";
const char* kMacvtapUsage = "macvtapOpen(devicePath: string, queues: number, vnetHdr: boolean)";
const char* kVhostUsage = "vhostNetOpen(count: number)";
const char* kMknodUsage = "mknodChar(path: string, major: number, minor: number, mode: number)";
// The kernel's limit on tap queues (MAX_TAP_QUEUES, include/linux/if_tun.h... drivers/net/tun.c).
const int kMaxQueues = 256;

struct TapOptions {
  int queues = 1;
  bool vnetHdr = true;
  bool exclusive = false;
};

TapOptions ReadTapOptions(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  TapOptions options;
  if (info.Length() <= index || info[index].IsUndefined()) return options;
  if (!info[index].IsObject()) vml::ThrowUsage(info.Env(), usage);
  Napi::Object object = info[index].As<Napi::Object>();
  Napi::Value queues = object.Get("queues");
  if (!queues.IsUndefined()) {
    options.queues = static_cast<int>(vml::WholeNumber(info.Env(), queues, 1, kMaxQueues, usage));
  }
  Napi::Value vnetHdr = object.Get("vnetHdr");
  if (!vnetHdr.IsUndefined()) {
    if (!vnetHdr.IsBoolean()) vml::ThrowUsage(info.Env(), usage);
    options.vnetHdr = vnetHdr.As<Napi::Boolean>().Value();
  }
  Napi::Value exclusive = object.Get("exclusive");
  if (!exclusive.IsUndefined()) {
    if (!exclusive.IsBoolean()) vml::ThrowUsage(info.Env(), usage);
    options.exclusive = exclusive.As<Napi::Boolean>().Value();
  }
  return options;
}

Napi::Array ToArray(Napi::Env env, const std::vector<int>& fds) {
  Napi::Array array = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) array.Set(static_cast<uint32_t>(i), fds[i]);
  return array;
}

// Opens (creating if needed) the tap `name` inside `netns`, one fd per queue. An empty name lets
// the kernel choose; the chosen name is returned. The tap is not persistent: it disappears when
// the last fd is closed, unless it was created persistent by someone else.
Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = vml::OptionalString(info, 0, kTapUsage);
  if (info.Length() < 2 || !info[1].IsString()) vml::ThrowUsage(env, kTapUsage);
  std::string name = info[1].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) vml::ThrowSystemError(env, EINVAL, "ioctl(TUNSETIFF)", name);
  TapOptions options = ReadTapOptions(info, 2, kTapUsage);

  const char* syscall = "";
  vml::NetnsGuard guard;
  int err = guard.Enter(netns, &syscall);
  if (err != 0) vml::ThrowSystemError(env, err, syscall, netns);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (options.vnetHdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (options.queues > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  memcpy(ifr.ifr_name, name.c_str(), name.size());

  std::vector<int> fds;
  for (int i = 0; i < options.queues; i++) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      vml::CloseAll(fds);
      vml::ThrowSystemError(env, err, "open", "/dev/net/tun");
    }
    // IFF_TUN_EXCL on the first queue: EBUSY if the tap already exists (no silent joining).
    struct ifreq request = ifr;
    if (options.exclusive && i == 0) request.ifr_flags |= IFF_TUN_EXCL;
    if (ioctl(fd, TUNSETIFF, &request) != 0) {
      err = errno;
      close(fd);
      vml::CloseAll(fds);
      vml::ThrowSystemError(env, err, "ioctl(TUNSETIFF)", name.empty() ? "tap" : name);
    }
    memcpy(ifr.ifr_name, request.ifr_name, IFNAMSIZ);
    fds.push_back(fd);
  }
  return vml::HandOver(fds, [&]() -> Napi::Value {
    Napi::Object result = Napi::Object::New(env);
    result.Set("name", Napi::String::New(env, ifr.ifr_name));
    result.Set("fds", ToArray(env, fds));
    return result;
  });
}

// Opens `queues` fds of a macvtap's character device (/dev/tapN); each open adds a queue.
Napi::Value MacvtapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[2].IsBoolean()) {
    vml::ThrowUsage(env, kMacvtapUsage);
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int queues = vml::IntArg(info, 1, kMacvtapUsage);
  if (queues < 1 || queues > kMaxQueues) vml::ThrowUsage(env, kMacvtapUsage);
  bool vnetHdr = info[2].As<Napi::Boolean>().Value();
  std::vector<int> fds;
  for (int i = 0; i < queues; i++) {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      vml::CloseAll(fds);
      vml::ThrowSystemError(env, err, "open", path);
    }
    fds.push_back(fd);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0);
    if (queues > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
      int err = errno;
      vml::CloseAll(fds);
      vml::ThrowSystemError(env, err, "ioctl(TUNSETIFF)", path);
    }
  }
  return vml::HandOver(fds, [&]() -> Napi::Value { return ToArray(env, fds); });
}

// Opens `count` fds of /dev/vhost-net, one per queue (ENOENT where the module is absent).
Napi::Value VhostNetOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = vml::IntArg(info, 0, kVhostUsage);
  if (count < 1 || count > kMaxQueues) vml::ThrowUsage(env, kVhostUsage);
  std::vector<int> fds;
  for (int i = 0; i < count; i++) {
    int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      vml::CloseAll(fds);
      vml::ThrowSystemError(env, err, "open", "/dev/vhost-net");
    }
    fds.push_back(fd);
  }
  return vml::HandOver(fds, [&]() -> Napi::Value { return ToArray(env, fds); });
}

// Makes a character device node (for a macvtap whose /dev/tapN belongs to another netns).
Napi::Value MknodChar(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString()) vml::ThrowUsage(env, kMknodUsage);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int major = vml::IntArg(info, 1, kMknodUsage);
  int minor = vml::IntArg(info, 2, kMknodUsage);
  int mode = vml::IntArg(info, 3, kMknodUsage);
  if (mode > 07777) vml::ThrowUsage(env, kMknodUsage);
  if (mknod(path.c_str(), S_IFCHR | static_cast<mode_t>(mode), makedev(major, minor)) != 0) {
    vml::ThrowSystemError(env, errno, "mknod", path);
  }
  return env.Undefined();
}

}  // namespace

void InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen));
  exports.Set("macvtapOpen", Napi::Function::New(env, MacvtapOpen));
  exports.Set("vhostNetOpen", Napi::Function::New(env, VhostNetOpen));
  exports.Set("mknodChar", Napi::Function::New(env, MknodChar));
}
