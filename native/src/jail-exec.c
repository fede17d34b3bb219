// vmlaunch-jail-exec: runs a list of pre-exec primitives in order, then execs the program after
// `--`. It holds no policy: launcher/jail.ts decides which steps, with which paths, ids
// and limits (docs/confinement.md); this file only performs them and names the one that
// failed. It runs as root between Node's fork and QEMU's exec, so it must stay small.
//
//   --cgroup-join FILE        write "0" (this process) to a cgroup.procs file
//   --rlimit NAME SOFT HARD   setrlimit; NAME in nofile|fsize|nproc|core|memlock; "inf" allowed
//   --unshare-mount           unshare(CLONE_NEWNS), then make every mount private
//   --tmpfs DIR MODE          mount a small tmpfs on DIR (nosuid, noexec) with that octal mode
//   --mknod PATH MAJ MIN      a character device node, mode 0666 (inside the jail's tmpfs)
//   --bind SRC DST            bind-mount SRC onto DST (non-recursive)
//   --readonly-tree DIR       mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY) on DIR's tree
//   --writable DIR            clear MOUNT_ATTR_RDONLY on the one mount at DIR
//   --chdir DIR               chdir
//   --drop-bounding           drop every capability from the bounding set
//   --ids UID GID             setgroups(0), setresgid, setresuid (all three ids)
//   --no-new-privs            PR_SET_NO_NEW_PRIVS
//   --pdeathsig SIG           PR_SET_PDEATHSIG, then exit if the parent is already gone
//   -- PROGRAM ARGS...        execv
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define EXIT_JAIL 125

static void die(const char* step, const char* arg) {
  int saved = errno;
  fprintf(stderr, "vmlaunch-jail-exec: %s %s: %s\n", step, arg ? arg : "", strerror(saved));
  _exit(EXIT_JAIL);
}

static void usage(const char* what) {
  fprintf(stderr, "vmlaunch-jail-exec: bad usage at %s\n", what);
  _exit(EXIT_JAIL);
}

static unsigned long long number(const char* text, const char* step) {
  if (strcmp(text, "inf") == 0) return RLIM_INFINITY;
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') usage(step);
  return v;
}

static int resource(const char* name) {
  if (strcmp(name, "nofile") == 0) return RLIMIT_NOFILE;
  if (strcmp(name, "fsize") == 0) return RLIMIT_FSIZE;
  if (strcmp(name, "nproc") == 0) return RLIMIT_NPROC;
  if (strcmp(name, "core") == 0) return RLIMIT_CORE;
  if (strcmp(name, "memlock") == 0) return RLIMIT_MEMLOCK;
  usage("--rlimit");
  return -1;
}

static void mount_attr(const char* dir, unsigned int flags, __u64 set, __u64 clr) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clr;
  if (syscall(SYS_mount_setattr, AT_FDCWD, dir, flags, &attr, sizeof attr) != 0)
    die("mount_setattr", dir);
}

int main(int argc, char** argv) {
  int i = 1;
  // Each step reads its fixed number of arguments; a missing one is a usage error.
#define NEED(n)                     \
  do {                              \
    if (i + (n) >= argc) usage(op); \
  } while (0)
  while (i < argc) {
    const char* op = argv[i];
    if (strcmp(op, "--") == 0) {
      if (i + 1 >= argc) usage(op);
      execv(argv[i + 1], &argv[i + 1]);
      die("execv", argv[i + 1]);
    } else if (strcmp(op, "--cgroup-join") == 0) {
      NEED(1);
      int fd = open(argv[i + 1], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0", 1) != 1) die(op, argv[i + 1]);
      close(fd);
      i += 2;
    } else if (strcmp(op, "--rlimit") == 0) {
      NEED(3);
      struct rlimit r = {number(argv[i + 2], op), number(argv[i + 3], op)};
      if (setrlimit(resource(argv[i + 1]), &r) != 0) die(op, argv[i + 1]);
      i += 4;
    } else if (strcmp(op, "--unshare-mount") == 0) {
      if (unshare(CLONE_NEWNS) != 0) die(op, NULL);
      if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make-private", "/");
      i += 1;
    } else if (strcmp(op, "--tmpfs") == 0) {
      NEED(2);
      char data[64];
      snprintf(data, sizeof data, "mode=%s,size=64k", argv[i + 2]);
      if (mount("tmpfs", argv[i + 1], "tmpfs", MS_NOSUID | MS_NOEXEC, data) != 0)
        die(op, argv[i + 1]);
      i += 3;
    } else if (strcmp(op, "--mknod") == 0) {
      NEED(3);
      dev_t dev = makedev((unsigned)number(argv[i + 2], op), (unsigned)number(argv[i + 3], op));
      mode_t old = umask(0);
      if (mknod(argv[i + 1], S_IFCHR | 0666, dev) != 0) die(op, argv[i + 1]);
      umask(old);
      i += 4;
    } else if (strcmp(op, "--bind") == 0) {
      NEED(2);
      if (mount(argv[i + 1], argv[i + 2], NULL, MS_BIND, NULL) != 0) die(op, argv[i + 2]);
      i += 3;
    } else if (strcmp(op, "--readonly-tree") == 0) {
      NEED(1);
      mount_attr(argv[i + 1], AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
      i += 2;
    } else if (strcmp(op, "--writable") == 0) {
      NEED(1);
      mount_attr(argv[i + 1], 0, 0, MOUNT_ATTR_RDONLY);
      i += 2;
    } else if (strcmp(op, "--chdir") == 0) {
      NEED(1);
      if (chdir(argv[i + 1]) != 0) die(op, argv[i + 1]);
      i += 2;
    } else if (strcmp(op, "--drop-bounding") == 0) {
      for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die(op, NULL);
      }
      i += 1;
    } else if (strcmp(op, "--ids") == 0) {
      NEED(2);
      uid_t uid = (uid_t)number(argv[i + 1], op);
      gid_t gid = (gid_t)number(argv[i + 2], op);
      if (setgroups(0, NULL) != 0) die("setgroups", NULL);
      if (setresgid(gid, gid, gid) != 0) die("setresgid", argv[i + 2]);
      if (setresuid(uid, uid, uid) != 0) die("setresuid", argv[i + 1]);
      i += 3;
    } else if (strcmp(op, "--no-new-privs") == 0) {
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(op, NULL);
      i += 1;
    } else if (strcmp(op, "--pdeathsig") == 0) {
      NEED(1);
      pid_t parent = getppid();
      if (prctl(PR_SET_PDEATHSIG, (int)number(argv[i + 1], op), 0, 0, 0) != 0) die(op, NULL);
      // The parent may have died before the death signal was armed.
      if (getppid() != parent) _exit(EXIT_JAIL);
      i += 2;
    } else {
      usage(op);
    }
  }
  usage("end (no -- PROGRAM)");
  return EXIT_JAIL;
}
