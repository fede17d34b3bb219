#!/usr/bin/env python3
"""Research helper for scripts/guest/FINDINGS.md (not used by the library).

Boots QEMU with the cached guest, times the ready marker on the serial console (stdio pipe),
optionally runs shell commands in the guest over the console with begin/end markers, and
optionally talks QMP over a unix socket. Kills only the QEMU it started (by pid).

  vmprobe.py [--runs N] [--deadline S] [--netns NS] [--cmd 'ip link' ...]
             [--hotplug] [--append EXTRA] -- <qemu args after -kernel/-initrd/-append>
"""
import argparse, json, os, re, select, socket, subprocess, sys, time, uuid

MARK = b"VMLAUNCH-GUEST-READY"


def guest_paths():
    out = subprocess.run(["bash", os.path.join(os.path.dirname(__file__), "..", "build.sh"), "--json"],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    j = json.loads(out)
    return j["kernel"], j["initrd"]


class Console:
    def __init__(self, proc):
        self.p = proc
        self.buf = b""
        os.set_blocking(proc.stdout.fileno(), False)

    def read_until(self, pattern, deadline):
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 0.2))
            if r:
                chunk = self.p.stdout.read(65536)
                if chunk:
                    self.buf += chunk

    def exec(self, cmd, timeout=20.0):
        """Runs cmd in the guest shell; returns (status, output). Markers are split with
        printf so an echoed command line can never look like a marker."""
        tag = uuid.uuid4().hex[:8]
        line = f"printf '%s%s\\n' '@@VMLB' ':{tag}'; {{ {cmd} ; }} 2>&1; printf '%s%s\\n' '@@VMLE' \":{tag}:$?\"\n"
        start = len(self.buf)
        self.p.stdin.write(line.encode())
        self.p.stdin.flush()
        m = self.read_until(rb"@@VMLE:" + tag.encode() + rb":(\d+)\r?\n", time.monotonic() + timeout)
        if not m:
            raise TimeoutError(f"no end marker for {cmd!r}; tail: {self.buf[-400:]!r}")
        seg = self.buf[start:m.start()]
        b = seg.find(b"@@VMLB:" + tag.encode())
        out = seg[b:].split(b"\n", 1)[1] if b >= 0 else seg
        self.buf = self.buf[m.end():]
        return int(m.group(1)), out.decode(errors="replace").replace("\r", "")


class Qmp:
    def __init__(self, path, deadline=10):
        end = time.monotonic() + deadline
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.02)
        self.buf = b""
        self.events = []
        json.loads(self._line(10))
        self.cmd("qmp_capabilities")

    def _line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                chunk = self.s.recv(65536)
                if not chunk:
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def cmd(self, execute, **args):
        msg = {"execute": execute}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = json.loads(self._line(30))
            if "event" in r:
                self.events.append((time.monotonic(), r))
                continue
            return r

    def wait_event(self, name, timeout):
        for t, e in self.events:
            if e["event"] == name:
                return t, e
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = self._line(end - time.monotonic())
            if line is None:
                break
            r = json.loads(line)
            if "event" in r:
                self.events.append((time.monotonic(), r))
                if r["event"] == name:
                    return time.monotonic(), r
        return None


def boot_once(args, kernel, initrd, run_idx):
    append = "console=ttyS0 " + args.append
    qmp_path = f"/tmp/vmprobe-{os.getpid()}-{run_idx}.qmp"
    argv = ["qemu-system-x86_64", "-kernel", kernel, "-initrd", initrd, "-append", append.strip(),
            "-serial", "stdio", "-display", "none", "-nodefaults", "-no-user-config"]
    if args.hotplug or args.qmp:
        argv += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    argv += args.qemu
    if args.netns:
        argv = ["ip", "netns", "exec", args.netns] + argv
    if args.show:
        print(" ".join(argv), file=sys.stderr)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    con = Console(p)
    res = {"run": run_idx}
    try:
        m = con.read_until(re.escape(MARK), t0 + args.deadline)
        if not m:
            res["ready"] = None
            lines = [l for l in con.buf.decode(errors="replace").splitlines() if l.strip()]
            res["last"] = lines[-1][-120:] if lines else ""
            res["exit"] = p.poll()
            return res
        res["ready"] = round(time.monotonic() - t0, 3)
        for c in args.cmd:
            t = time.monotonic()
            st, out = con.exec(c, timeout=args.cmd_timeout)
            res.setdefault("cmds", []).append({"cmd": c, "status": st, "ms": round((time.monotonic() - t) * 1000), "out": out})
        if args.hotplug:
            res["hotplug"] = hotplug(con, Qmp(qmp_path), args)
        if args.powerdown:
            q = Qmp(qmp_path) if not args.hotplug else None
            q = q or Qmp(qmp_path)
            t = time.monotonic()
            q.cmd("system_powerdown")
            try:
                p.wait(timeout=15)
                res["powerdown_exit_s"] = round(time.monotonic() - t, 3)
            except subprocess.TimeoutExpired:
                res["powerdown_exit_s"] = None
        return res
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        if args.keep_log:
            with open(args.keep_log + f".{run_idx}", "wb") as f:
                f.write(con.buf)
        try:
            os.unlink(qmp_path)
        except FileNotFoundError:
            pass


def hotplug(con, q, args):
    out = {}
    st, before = con.exec("ls /sys/class/net")
    out["before"] = before.split()
    t = time.monotonic()
    r1 = q.cmd("netdev_add", type="user", id="hpn1") if not args.hp_tap else q.cmd(
        "netdev_add", type="tap", id="hpn1", ifname=args.hp_tap, script="no", downscript="no")
    r2 = q.cmd("device_add", driver="virtio-net-pci", id="hpnic1", netdev="hpn1", bus="rp1",
               mac="52:54:00:12:34:99")
    out["qmp_add_ms"] = round((time.monotonic() - t) * 1000, 1)
    out["qmp_replies"] = [r1, r2]
    # Poll from inside the guest until the new NIC shows up.
    seen = None
    for _ in range(200):
        st, now = con.exec("ls /sys/class/net")
        if len(now.split()) > len(out["before"]):
            seen = round(time.monotonic() - t, 3)
            out["after"] = now.split()
            break
        time.sleep(0.05)
    out["guest_sees_after_s"] = seen
    if args.hp_ping:
        st, pg = con.exec(f"ip link set eth0 up && ip addr add {args.hp_ping[1]} dev eth0 && ping -c 2 -W 2 {args.hp_ping[0]}")
        out["ping_status"] = st
    st, dm = con.exec("dmesg | grep -iE 'pciehp|acpiphp|0000:01' | tail -n 6")
    out["dmesg"] = dm
    t = time.monotonic()
    r3 = q.cmd("device_del", id="hpnic1")
    ev = q.wait_event("DEVICE_DELETED", args.unplug_timeout)
    out["device_del_reply"] = r3
    out["device_deleted_after_s"] = round(ev[0] - t, 3) if ev else None
    q.cmd("netdev_del", id="hpn1")
    st, now = con.exec("ls /sys/class/net")
    out["after_unplug"] = now.split()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=30)
    ap.add_argument("--append", default="")
    ap.add_argument("--netns")
    ap.add_argument("--cmd", action="append", default=[])
    ap.add_argument("--cmd-timeout", type=float, default=20)
    ap.add_argument("--hotplug", action="store_true")
    ap.add_argument("--hp-tap")
    ap.add_argument("--hp-ping", nargs=2, metavar=("PEER", "CIDR"))
    ap.add_argument("--unplug-timeout", type=float, default=20)
    ap.add_argument("--powerdown", action="store_true")
    ap.add_argument("--qmp", action="store_true")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--keep-log")
    ap.add_argument("qemu", nargs="*")
    args = ap.parse_args()
    if args.powerdown:
        args.qmp = True
    kernel, initrd = guest_paths()
    results = [boot_once(args, kernel, initrd, i) for i in range(args.runs)]
    for r in results:
        print(json.dumps(r))
    ok = [r["ready"] for r in results if r.get("ready")]
    print(json.dumps({"summary": f"{len(ok)}/{len(results)} ready", "times": ok}))


if __name__ == "__main__":
    main()
