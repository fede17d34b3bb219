{
  "targets": [
    {
      "target_name": "vmlaunch_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/netns.cc",
        "src/tap.cc",
        "src/fds.cc",
        "src/detached.cc",
        "src/pidfd.cc",
        "src/ram-files.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "vmlaunch-jail-exec",
      "type": "executable",
      "sources": ["src/jail-exec.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
