// Unix-socket fd passing (SCM_RIGHTS), socketpairs and close: how fds reach QEMU over QMP.
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

namespace {

const char* kSendUsage = "sendFds(socket: number, data: Buffer, fds: number[])";
const char* kRecvUsage = "recvFds(socket: number, maxBytes: number, maxFds: number)";
const char* kPairUsage = "socketpair()";
const char* kCloseUsage = "close(fd: number)";
const char* kRecvNowUsage = "recvNow(socket: number, into: Buffer)";
const char* kLockUsage = "tryLockExclusive(fd: number)";
// SCM_MAX_FD in the kernel (include/net/scm.h).
const size_t kMaxFds = 253;

// Sends `data` with `fds` attached to its first byte, in one sendmsg that never waits
// (MSG_DONTWAIT): returns the bytes sent (the fds went with them; the caller sends the rest
// without fds), or -1 when the socket buffer is full (nothing sent, no fd passed). Waiting for
// room is the caller's, off this call, so the JS thread is never held.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = vml::IntArg(info, 0, kSendUsage);
  if (info.Length() < 3 || !info[1].IsBuffer()) vml::ThrowUsage(env, kSendUsage);
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  std::vector<int> fds = vml::FdArrayArg(info, 2, kSendUsage);
  if (data.Length() == 0 || fds.size() > kMaxFds) vml::ThrowUsage(env, kSendUsage);

  struct iovec iov;
  iov.iov_base = data.Data();
  iov.iov_len = data.Length();
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    vml::ThrowSystemError(env, errno, "sendmsg");
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// Receives up to maxBytes and up to maxFds fds (close-on-exec). A would-block socket throws
// EAGAIN; an orderly shutdown returns an empty buffer.
Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = vml::IntArg(info, 0, kRecvUsage);
  int maxBytes = vml::IntArg(info, 1, kRecvUsage);
  int maxFds = vml::IntArg(info, 2, kRecvUsage);
  if (maxBytes < 1 || static_cast<size_t>(maxFds) > kMaxFds) vml::ThrowUsage(env, kRecvUsage);
  std::vector<uint8_t> buffer(static_cast<size_t>(maxBytes));
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (maxFds > 0 ? maxFds : 1)), 0);
  struct iovec iov = {buffer.data(), buffer.size()};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) vml::ThrowSystemError(env, errno, "recvmsg");
  std::vector<int> fds;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int* received = reinterpret_cast<int*>(CMSG_DATA(cmsg));
      for (size_t i = 0; i < count; i++) fds.push_back(received[i]);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    // More fds arrived than the caller allowed; the kernel closed the rest. Do not hide it.
    vml::CloseAll(fds);
    vml::ThrowSystemError(env, EMSGSIZE, "recvmsg");
  }
  return vml::HandOver(fds, [&]() -> Napi::Value {
    Napi::Object result = Napi::Object::New(env);
    result.Set("data", Napi::Buffer<uint8_t>::Copy(env, buffer.data(), static_cast<size_t>(n)));
    Napi::Array array = Napi::Array::New(env, fds.size());
    for (size_t i = 0; i < fds.size(); i++) array.Set(static_cast<uint32_t>(i), fds[i]);
    result.Set("fds", array);
    return result;
  });
}

// Receives what is already queued on a socket without ever waiting (MSG_DONTWAIT): returns the
// byte count, or -1 when nothing is queued. rtnetlink queues its answer inside sendmsg, so after
// a write has returned the reply is read here without another trip through libuv's pool.
Napi::Value RecvNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = vml::IntArg(info, 0, kRecvNowUsage);
  if (info.Length() < 2 || !info[1].IsBuffer()) vml::ThrowUsage(env, kRecvNowUsage);
  Napi::Buffer<uint8_t> into = info[1].As<Napi::Buffer<uint8_t>>();
  ssize_t n;
  do {
    n = recv(sock, into.Data(), into.Length(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    vml::ThrowSystemError(env, errno, "recv");
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// A connected pair of unix stream sockets, close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) vml::ThrowUsage(env, kPairUsage);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    vml::ThrowSystemError(env, errno, "socketpair");
  }
  return vml::HandOver({sv[0], sv[1]}, [&]() -> Napi::Value {
    Napi::Array array = Napi::Array::New(env, 2);
    array.Set(0u, sv[0]);
    array.Set(1u, sv[1]);
    return array;
  });
}

// close(2) with EBADF surfaced, so double closes are caught rather than closing someone's fd.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = vml::IntArg(info, 0, kCloseUsage);
  // Linux releases the fd even when close reports EINTR: never retry.
  if (close(fd) != 0 && errno != EINTR) vml::ThrowSystemError(env, errno, "close");
  return env.Undefined();
}

// flock(LOCK_EX | LOCK_NB): true when this open file now holds the lock, false when another
// open file (any process, or this one) holds it. The lock lives with the open file description.
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = vml::IntArg(info, 0, kLockUsage);
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  vml::ThrowSystemError(env, errno, "flock");
}

}  // namespace

void InitFds(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair));
  exports.Set("recvNow", Napi::Function::New(env, RecvNow));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusive));
}
