// Files that hold guest RAM: where a sparse file (a RAM image) holds data, via
// lseek(SEEK_DATA/SEEK_HOLE), so it is copied range by range and its holes stay holes; and
// anonymous memory files (memfd_create) for a restore's private copy of it.
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "common.h"

namespace {

const char* kRangesUsage = "dataRanges(fd: number)";
const char* kMemfdUsage = "memfdCreate(name: string)";

// [offset, length] of each data range of the regular file `fd`, in order; a filesystem without
// SEEK_DATA reports the whole file as one range (the kernel's generic lseek). Never waits on
// anything but the inode's extent map.
Napi::Value DataRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = vml::IntArg(info, 0, kRangesUsage);
  struct stat st;
  if (fstat(fd, &st) != 0) vml::ThrowSystemError(env, errno, "fstat");
  if (!S_ISREG(st.st_mode)) vml::ThrowSystemError(env, EINVAL, "fstat");
  std::vector<std::pair<off_t, off_t>> ranges;
  off_t at = 0;
  while (at < st.st_size) {
    off_t start = lseek(fd, at, SEEK_DATA);
    if (start < 0) {
      if (errno == ENXIO) break;  // nothing but a hole from `at` to the end
      vml::ThrowSystemError(env, errno, "lseek");
    }
    off_t end = lseek(fd, start, SEEK_HOLE);
    if (end < 0) vml::ThrowSystemError(env, errno, "lseek");
    if (end > st.st_size) end = st.st_size;
    if (end <= start) break;
    ranges.emplace_back(start, end - start);
    at = end;
  }
  Napi::Array array = Napi::Array::New(env, ranges.size());
  for (size_t i = 0; i < ranges.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, static_cast<double>(ranges[i].first));
    pair.Set(1u, static_cast<double>(ranges[i].second));
    array.Set(static_cast<uint32_t>(i), pair);
  }
  return array;
}

// memfd_create(2), close-on-exec: an anonymous file in memory, of size 0, named for /proc.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) vml::ThrowUsage(env, kMemfdUsage);
  std::string name = info[0].As<Napi::String>().Utf8Value();
  // The kernel takes at most 249 bytes (NAME_MAX minus its "memfd:" prefix).
  if (name.empty() || name.size() > 249 || name.find('\0') != std::string::npos) {
    vml::ThrowUsage(env, kMemfdUsage);
  }
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) vml::ThrowSystemError(env, errno, "memfd_create");
  return vml::HandOver({fd}, [&]() -> Napi::Value { return Napi::Number::New(env, fd); });
}

}  // namespace

void InitRamFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("dataRanges", Napi::Function::New(env, DataRanges));
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate));
}
