#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A small QMP client (QEMU Machine Protocol over a unix socket; Python 3
standard library only) for the real-guest tests.

  qmp.py SOCK cmd NAME [JSON-ARGUMENTS]
      run one command, print its "return" as JSON; exit 1 on an error reply.
  qmp.py SOCK migrate URI --slow BYTES-PER-S --hold SECS [--timeout SECS]
      live migration (tests/e2e/migrate.sh): set max-bandwidth to the slow
      rate and the downtime limit to 1 ms (so that it cannot converge while
      the guest writes), start `migrate` to URI, keep it so until the
      iterative phase has synchronised the dirty bitmap at least 4 times
      (dirty-sync-count; each sync pulls in the back-ends' dirty logs) and
      SECS have passed, then lift the limit and allow a 2 s downtime so that
      it converges, and
      wait for status "completed". Prints one line of statistics
      (key=value) and exits 0, or 1 when it failed, was cancelled or timed
      out.
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError("no QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError("%s: %s" % (name, r["error"].get("desc", r["error"])))
            return r.get("return")


def migrate(q, uri, slow, hold, timeout):
    # slow, and no downtime the guest's writing allows: it cannot converge
    q.execute("migrate-set-parameters", {"max-bandwidth": slow, "downtime-limit": 1})
    t0 = time.monotonic()
    q.execute("migrate", {"uri": uri})
    fast_at = None
    info = {}
    while True:
        info = q.execute("query-migrate")
        st = info.get("status")
        ram = info.get("ram", {})
        if st == "completed":
            break
        if st in ("failed", "cancelled"):
            print("migration %s: %s" % (st, info.get("error-desc", "")))
            return 1
        now = time.monotonic()
        if now - t0 > timeout:
            print("migration not completed after %d s: %s" % (timeout, json.dumps(info)))
            return 1
        if fast_at is None and ram.get("dirty-sync-count", 0) >= 4 and now - t0 >= hold:
            q.execute("migrate-set-parameters",
                      {"max-bandwidth": 1 << 30, "downtime-limit": 2000})
            fast_at = now - t0
            sys.stderr.write("qmp: limit lifted at %.1f s (dirty-sync-count %d)\n"
                             % (fast_at, ram.get("dirty-sync-count", 0)))
        time.sleep(0.2)
    ram = info.get("ram", {})
    print("status=completed total-ms=%s downtime-ms=%s slow-s=%.1f dirty-sync-count=%s "
          "transferred=%s normal-pages=%s duplicate-pages=%s dirty-pages-rate=%s" % (
              info.get("total-time"), info.get("downtime"),
              fast_at if fast_at is not None else -1,
              ram.get("dirty-sync-count"), ram.get("transferred"), ram.get("normal"),
              ram.get("duplicate"), ram.get("dirty-pages-rate")))
    return 0


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, what = argv[1], argv[2]
    q = Qmp(path)
    if what == "cmd" and len(argv) in (4, 5):
        args = json.loads(argv[4]) if len(argv) == 5 else None
        print(json.dumps(q.execute(argv[3], args)))
        return 0
    if what == "migrate" and len(argv) >= 4:
        opts = {"--slow": 16 << 20, "--hold": 3.0, "--timeout": 180.0}
        rest = argv[4:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                sys.stderr.write("qmp.py: bad option %s\n" % rest[0])
                return 2
            opts[rest[0]] = type(opts[rest[0]])(rest[1])
            rest = rest[2:]
        return migrate(q, argv[3], opts["--slow"], opts["--hold"], opts["--timeout"])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, RuntimeError, ValueError) as e:
        sys.stderr.write("qmp.py: %s\n" % e)
        sys.exit(1)
