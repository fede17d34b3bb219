// Entry point of the vmlaunch addon: registers each group of primitives.
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitErrors(env, exports);
  InitNetns(env, exports);
  InitTap(env, exports);
  InitFds(env, exports);
  InitDetached(env, exports);
  InitPidfd(env, exports);
  InitRamFiles(env, exports);
  return exports;
}

NODE_API_MODULE(vmlaunch_native, Init)
