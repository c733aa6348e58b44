#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A hostile vfio-user client against vdm-vhost-user --vfio-user.

The daemon serves an entropy device and a block device over vfio-user
sockets. This client (Python 3 standard library only) sends each class of
malformed or abusive message in turn, and after each class checks that

  - the daemon process is alive (no crash, no abort, no sanitizer report);
  - it logged why it refused or dropped (a warning or an error line);
  - it holds exactly the file descriptors and memory maps it held before
    the class (nothing leaked: every fd a message brought is closed, every
    DMA mapping is gone once its client is);
  - a fresh, well-behaved client is served on both sockets: VERSION,
    DEVICE_GET_INFO (a PCI device, 9 regions, 5 interrupt types) and a
    configuration space read giving vendor 0x1af4 and the modern device id
    (0x1044 rng, 0x1042 blk).

Protocol sections cited are those of the vfio-user Protocol Specification
(/work/shared/protocols/vfio-user.rst); the public bugs each class mirrors
are named next to it (libvfio-user and SPDK issue trackers).

  vfu_hostile.py --daemon PATH [--keep]

Exit status 0 when every class passed; the log names each class.
"""

import argparse
import errno
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HDR = 16
# Commands (protocol "Commands").
VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, GET_REGION_INFO = 1, 2, 3, 4, 5
GET_REGION_IO_FDS, GET_IRQ_INFO, SET_IRQS, REGION_READ, REGION_WRITE = 6, 7, 8, 9, 10
DMA_READ, DMA_WRITE, DEVICE_RESET, WRITE_MULTI, DEVICE_FEATURE = 11, 12, 13, 15, 16
# Header flags (protocol "Header").
F_REPLY, F_NO_REPLY, F_ERROR = 0x1, 0x10, 0x20
# VFIO_IRQ_SET_* (protocol "VFIO_USER_DEVICE_SET_IRQS").
DATA_NONE, DATA_BOOL, DATA_EVENTFD = 0x1, 0x2, 0x4
ACT_MASK, ACT_UNMASK, ACT_TRIGGER = 0x8, 0x10, 0x20
IRQ_INTX, IRQ_MSI, IRQ_MSIX, IRQ_ERR, IRQ_REQ = 0, 1, 2, 3, 4
CFG = 7  # configuration space region (VFIO_PCI_CONFIG_REGION_INDEX)
MAX_MSG = HDR + 16 + 4096 + 16  # the daemon's largest message (vfio_user.h)
GOOD_CAPS = b'{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":4096}}\0'
PAGE = 4096

LOG = None
FAILS = []


def say(msg):
    print("vfu-hostile: " + msg, flush=True)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Client:
    """One vfio-user connection, spoken by hand."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.id = 0

    def close(self):
        self.s.close()

    def raw(self, data, fds=()):
        anc = []
        if fds:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))]
        n = self.s.sendmsg([data], anc)
        check(n == len(data), "short send")

    def send(self, cmd, payload=b"", fds=(), flags=0, size=None, mid=None):
        if mid is None:
            self.id = (self.id + 1) & 0xFFFF
            mid = self.id
        sz = HDR + len(payload) if size is None else size
        self.raw(struct.pack("<HHIII", mid, cmd, sz, flags, 0) + payload, fds)
        return mid

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.s.recv(n - len(buf))
            if not part:
                return None
            buf += part
        return buf

    def reply(self, mid, cmd):
        """(errno or 0, payload) of the reply to message mid."""
        h = self.recv_exact(HDR)
        check(h is not None, "%s: connection closed instead of a reply" % cmd)
        rid, rcmd, size, flags, err = struct.unpack("<HHIII", h)
        check(rid == mid and rcmd == cmd, "reply id/cmd %d/%d, want %d/%d" % (rid, rcmd, mid, cmd))
        check(flags & 0xF == F_REPLY, "reply flags %#x" % flags)
        check(HDR <= size <= MAX_MSG, "reply size %d" % size)
        body = self.recv_exact(size - HDR) if size > HDR else b""
        check(body is not None, "truncated reply")
        if flags & F_ERROR:
            check(err != 0 and size == HDR, "error reply with errno %d, size %d" % (err, size))
            return err, b""
        return 0, body

    def call(self, cmd, payload=b"", fds=(), flags=0):
        mid = self.send(cmd, payload, fds, flags)
        return self.reply(mid, cmd)

    def expect_error(self, cmd, payload=b"", fds=(), want=None, what=""):
        err, _ = self.call(cmd, payload, fds)
        check(err != 0, "%s: accepted, want an error reply" % (what or cmd))
        if want is not None:
            check(err == want, "%s: errno %d, want %d" % (what or cmd, err, want))
        return err

    def expect_eof(self, what):
        """The daemon drops this client: end of file, no reply."""
        try:
            d = self.s.recv(1)
        except socket.timeout:
            raise Fail("%s: the daemon kept the connection (no end of file in 5 s)" % what)
        except ConnectionResetError:
            d = b""
        check(d == b"", "%s: got a reply byte instead of a drop" % what)

    def version(self, caps=GOOD_CAPS):
        err, body = self.call(VERSION, struct.pack("<HH", 0, 0) + caps)
        check(err == 0, "VERSION refused (errno %d)" % err)
        return body

    def read(self, region, off, count):
        err, body = self.call(REGION_READ, struct.pack("<QII", off, region, count))
        if err:
            return err, b""
        check(len(body) == 16 + count, "REGION_READ reply of %d bytes" % len(body))
        return 0, body[16:]

    def write(self, region, off, data):
        err, _ = self.call(REGION_WRITE, struct.pack("<QII", off, region, len(data)) + data)
        return err


# ---------------------------------------------------------------------------
# The daemon, watched


class Daemon:
    def __init__(self, path, tmp):
        self.tmp = tmp
        self.rng = os.path.join(tmp, "rng.vfu")
        self.blk = os.path.join(tmp, "blk.vfu")
        self.img = os.path.join(tmp, "disk.img")
        self.pat = os.path.join(tmp, "pattern.bin")
        with open(self.img, "wb") as f:
            f.truncate(1 << 20)
        with open(self.pat, "wb") as f:
            f.write(os.urandom(1000))
        self.logpath = os.path.join(tmp, "daemon.log")
        self.log = open(self.logpath, "w+b")
        self.p = subprocess.Popen(
            [path, "-v", "--vfio-user", self.rng, "--device", "rng,source=" + self.pat,
             "--vfio-user", self.blk, "--device", "blk,file=" + self.img],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(self.rng) and os.path.exists(self.blk):
                break
            check(self.p.poll() is None, "daemon exited at start: %s" % self.text())
            time.sleep(0.01)
        check(os.path.exists(self.rng) and os.path.exists(self.blk), "sockets never appeared")
        self.mark = 0

    def text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def new_lines(self):
        t = self.text()
        new = t[self.mark:]
        self.mark = len(t)
        return new

    def alive(self):
        return self.p.poll() is None

    def fds(self):
        return sorted(os.listdir("/proc/%d/fd" % self.p.pid), key=int)

    def fd_targets(self):
        out = []
        for fd in self.fds():
            try:
                out.append(os.readlink("/proc/%d/fd/%s" % (self.p.pid, fd)))
            except OSError:
                pass
        return sorted(out)

    def memfd_maps(self):
        with open("/proc/%d/maps" % self.p.pid) as f:
            return [l for l in f if "vdm-hostile" in l]

    def stop(self):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


DEV_IDS = {}


def well_behaved(path, device_id, timeout=5.0):
    """A fresh client is served: VERSION, DEVICE_GET_INFO, the PCI ids."""
    c = Client(path, timeout)
    body = c.version()
    check(len(body) > 4 and struct.unpack("<H", body[:2])[0] == 0, "VERSION reply major")
    check(b'"max_msg_fds"' in body, "VERSION reply without capabilities")
    err, body = c.call(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0))
    check(err == 0 and len(body) == 16, "DEVICE_GET_INFO failed (errno %d)" % err)
    argsz, flags, nreg, nirq = struct.unpack("<IIII", body)
    check(flags & 0x3 == 0x3 and nreg == 9 and nirq == 5,
          "DEVICE_GET_INFO: flags %#x, %d regions, %d irq types" % (flags, nreg, nirq))
    err, ids = c.read(CFG, 0, 4)
    check(err == 0, "configuration read refused (errno %d)" % err)
    v, d = struct.unpack("<HH", ids)
    check(v == 0x1AF4 and d == device_id, "ids %04x:%04x, want 1af4:%04x" % (v, d, device_id))
    c.close()


def memfd(size=1 << 20):
    fd = os.memfd_create("vdm-hostile", os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    return fd


def dma_map(off, iova, size, flags=3):
    return struct.pack("<IIQQQ", 32, flags, off, iova, size)


def dma_unmap(iova, size, flags=0):
    return struct.pack("<IIQQ", 24, flags, iova, size)


def irq_set(flags, index, start, count, data=b"", argsz=None):
    p = struct.pack("<IIIII", 0, flags, index, start, count) + data
    a = len(p) if argsz is None else argsz
    return struct.pack("<I", a) + p[4:]


def rw(off, region, count, data=b""):
    return struct.pack("<QII", off, region, count) + data


# ---------------------------------------------------------------------------
# The classes. Each takes the daemon and returns a regular expression the
# daemon's log must match afterwards (its account of the refusal).


def c_framing(dm):
    """Header: size below the header, above any message, exactly one past
    the largest; a header cut short; a size announcing more payload than
    sent before the client goes away (protocol "Header": Message size is the
    whole message, header included)."""
    for size in (0, 3, HDR - 1, MAX_MSG + 1, 0xFFFFFFFF):
        c = Client(dm.rng)
        c.version()
        c.send(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), size=size)
        c.expect_eof("size %#x" % size)
        c.close()
    c = Client(dm.rng)  # 8 of 16 header bytes, then gone
    c.version()
    c.raw(b"\x01\x00\x04\x00\x10\x00")
    c.close()
    c = Client(dm.blk)  # 32 payload bytes announced, 10 sent, then gone
    c.version()
    c.raw(struct.pack("<HHIII", 9, REGION_READ, HDR + 32, 0, 0) + b"\0" * 10)
    c.s.shutdown(socket.SHUT_WR)
    c.expect_eof("truncated payload")
    c.close()
    return r"malformed vfio-user header|truncated vfio-user message"


def c_stall(dm):
    """A client stuck mid-message (protocol "Request Retry and Response
    Timeout", "Socket Disconnection Behavior"): the daemon reads a message
    whole before it serves anything else, so the stall holds every device
    of the process until the daemon's receive timeout (5 s) drops that
    client; the other device is then served. Bounded at 8 s here."""
    c = Client(dm.rng, timeout=15)
    c.version()
    c.raw(struct.pack("<HHIII", 3, REGION_READ, HDR + 16, 0, 0) + b"\0" * 4)
    t0 = time.time()
    well_behaved(dm.blk, DEV_IDS["blk"], timeout=12)
    took = time.time() - t0
    check(took < 8, "the blk socket waited %.1f s for the stalled rng client" % took)
    c.expect_eof("stalled client")
    c.close()
    say("  stall: the other device waited %.1f s" % took)
    return r"truncated vfio-user message|receive:"


def c_not_command(dm):
    """A reply-typed message and a command with the Error flag (protocol
    "Header": the server sends no commands, so no reply can be owed)."""
    for flags in (F_REPLY, F_ERROR, 0x2):
        c = Client(dm.rng)
        c.version()
        c.send(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), flags=flags)
        c.expect_eof("flags %#x" % flags)
        c.close()
    return r"not a command"


def c_version(dm):
    """VERSION: a command before it, VERSION twice, a wrong major, a short
    payload, and capability JSON that is malformed, unterminated, deeply
    nested, of wrong types or of absurd values (protocol
    "VFIO_USER_VERSION"; libvfio-user parses this JSON with json-c)."""
    c = Client(dm.rng)  # before VERSION: dropped
    c.send(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0))
    c.expect_eof("command before VERSION")
    c.close()
    c = Client(dm.rng)  # VERSION twice: refused, connection kept
    c.version()
    c.expect_error(VERSION, struct.pack("<HH", 0, 0) + GOOD_CAPS, what="second VERSION")
    err, _ = c.read(CFG, 0, 4)
    check(err == 0, "after a second VERSION the connection no longer serves")
    c.close()
    for payload, drop in (
        (struct.pack("<HH", 1, 0), True),  # major 1
        (struct.pack("<HH", 0xFFFF, 0) + GOOD_CAPS, True),
        (b"\0\0", True),  # shorter than major + minor
        (b"", True),
    ):
        c = Client(dm.rng)
        c.send(VERSION, payload)
        c.expect_eof("VERSION %r" % payload[:8])
        c.close()
    bad_json = [
        b"{",
        b'{"capabilities":',
        b'{"capabilities":{"max_msg_fds":}}\0',
        b'{"capabilities":{"max_msg_fds":"16"}}\0',
        b'{"capabilities":{"max_msg_fds":-1}}\0',
        b'{"capabilities":{"max_msg_fds":0}}\0',
        b'{"capabilities":{"max_data_xfer_size":0}}\0',
        b'{"capabilities":{"max_msg_fds":99999999999999999999999}}\0',
        b'{"capabilities":{"max_msg_fds":1e400}}\0',
        b'{"capabilities":[1,2,3]}\0',
        b'{"capabilities":{"migration":{"pgsize":"x"}}}\0',
        b'{"capabilities":{"max_msg_fds":16}',  # no NUL inside the payload
        b'{"capabilities":{"a":"\\u12"}}\0',
        b'{"capabilities":{"a":"unterminated}}\0',
        b'["' + b"[" * 3000 + b"]" * 3000 + b'"]\0',
        b"[" * 4000 + b"]" * 4000 + b"\0",
        b'{"capabilities":{' + b'"k":1,' * 600 + b'"z":1}}\0',
        b"\xff\xfe{}\0",
        b"{}\0garbage after the NUL",
    ]
    for j in bad_json:
        c = Client(dm.blk)
        mid = c.send(VERSION, struct.pack("<HH", 0, 0) + j[:4000])
        # Refused with an error reply (then any command is "before
        # VERSION" and dropped), or, where the JSON is acceptable
        # (unknown keys, trailing bytes after the NUL), served.
        h = c.recv_exact(HDR)
        if h is not None:
            rid, rcmd, size, flags, err = struct.unpack("<HHIII", h)
            check(rid == mid and rcmd == VERSION, "VERSION reply id")
            if size > HDR:
                c.recv_exact(size - HDR)
            if not flags & F_ERROR:
                err2, _ = c.read(CFG, 0, 4)
                check(err2 == 0, "JSON %r accepted but the device is not served" % j[:40])
        c.close()
    return r"bad version JSON|unsupported major|cannot be framed|VERSION again|command before VERSION"


def c_unknown(dm):
    """Unknown and unsupported commands: an error reply, the connection
    stays (protocol "Commands"; QEMU probes DEVICE_FEATURE this way); with
    No_reply set nothing comes back and the next reply is the next
    command's."""
    c = Client(dm.rng)
    c.version()
    for cmd in (0, 14, 19, 100, 0xFFFF, GET_REGION_IO_FDS, WRITE_MULTI, DEVICE_FEATURE,
                DMA_READ, DMA_WRITE, 17, 18):
        c.expect_error(cmd, b"\0" * 24, what="command %d" % cmd)
    c.send(0x7777, b"", flags=F_NO_REPLY)
    c.send(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), flags=F_NO_REPLY)
    err, ids = c.read(CFG, 0, 2)  # its reply is the first to arrive
    check(err == 0 and struct.unpack("<H", ids)[0] == 0x1AF4, "after No_reply commands")
    c.close()
    return r"(DEVICE_FEATURE|UNKNOWN|DMA_READ|REGION_WRITE_MULTI) refused"


def c_argsz(dm):
    """Info commands with argsz or payload too short, and absurd argsz
    (protocol "VFIO_USER_DEVICE_GET_INFO", "..._GET_REGION_INFO",
    "..._GET_IRQ_INFO"); region and interrupt indexes out of range."""
    c = Client(dm.blk)
    c.version()
    c.expect_error(GET_INFO, struct.pack("<III", 16, 0, 0), what="GET_INFO short payload")
    c.expect_error(GET_INFO, struct.pack("<IIII", 8, 0, 0, 0), what="GET_INFO argsz 8")
    err, _ = c.call(GET_INFO, struct.pack("<IIII", 0xFFFFFFFF, 0, 0, 0))  # may be served
    for idx in (9, 10, 0xFFFFFFFF):
        c.expect_error(GET_REGION_INFO, struct.pack("<IIIIQQ", 32, 0, idx, 0, 0, 0),
                       what="region %#x" % idx)
    c.expect_error(GET_REGION_INFO, struct.pack("<III", 32, 0, 0), what="REGION_INFO short")
    c.expect_error(GET_REGION_INFO, struct.pack("<IIIIQQ", 4, 0, 0, 0, 0, 0), what="REGION_INFO argsz 4")
    for idx in (5, 99, 0xFFFFFFFF):
        c.expect_error(GET_IRQ_INFO, struct.pack("<IIII", 16, 0, idx, 0), what="irq index %#x" % idx)
    c.expect_error(GET_IRQ_INFO, struct.pack("<II", 16, 0), what="IRQ_INFO short")
    err, _ = c.read(CFG, 0, 4)
    check(err == 0, "connection no longer serves")
    c.close()
    return r"DEVICE_GET_REGION_INFO refused|DEVICE_GET_IRQ_INFO refused|DEVICE_GET_INFO refused"


def c_region(dm):
    """REGION_READ / REGION_WRITE out of range: an unknown region, offsets
    past the end, offset + count wrapping 64 bits, count above
    max_data_xfer_size, count and payload disagreeing, the size-0 ROM and
    VGA regions (protocol "VFIO_USER_REGION_READ", "..._WRITE", "Read and
    Write Operations")."""
    c = Client(dm.rng)
    c.version()
    bad_reads = [
        (9, 0, 4), (0xFFFFFFFF, 0, 4), (6, 0, 4), (8, 0, 4),
        (CFG, 256, 4), (CFG, 255, 4), (CFG, 0xFFFFFFFFFFFFFFFE, 4),
        (CFG, 0, 4097), (CFG, 0, 0xFFFFFFFF), (0, 0xFFFFFFFFFFFFFFFC, 8),
        (0, 1 << 40, 4),
    ]
    for region, off, count in bad_reads:
        c.expect_error(REGION_READ, rw(off, region, count),
                       what="read region %#x off %#x count %#x" % (region, off, count))
    c.expect_error(REGION_READ, rw(0, CFG, 4, b"xxxx"), what="read with data")
    c.expect_error(REGION_READ, struct.pack("<QI", 0, CFG), what="read short")
    c.expect_error(REGION_WRITE, rw(0, CFG, 8, b"abcd"), what="write count > data")
    c.expect_error(REGION_WRITE, rw(0, CFG, 2, b"abcd"), what="write count < data")
    c.expect_error(REGION_WRITE, rw(0xFFFFFFFFFFFFFFFF, 0, 1, b"a"), what="write at 2^64-1")
    c.expect_error(REGION_WRITE, rw(0, 9, 4, b"abcd"), what="write region 9")
    c.expect_error(REGION_WRITE, rw(0, 6, 4, b"abcd"), what="write ROM")
    # A huge announced count with a payload of 4096 bytes.
    c.expect_error(REGION_WRITE, rw(0, CFG, 0xFFFFFFFF, b"\0" * 4096), what="write count 2^32-1")
    err, ids = c.read(CFG, 0, 4)
    check(err == 0 and ids[:2] == b"\xf4\x1a", "configuration space changed or unreadable")
    c.close()
    return r"REGION_READ refused|REGION_WRITE refused"


def c_dma(dm):
    """DMA_MAP / DMA_UNMAP abuse (protocol "VFIO_USER_DMA_MAP",
    "VFIO_USER_DMA_UNMAP"): overlapping maps (EEXIST), zero size, unaligned
    and wrapping ranges, a region past the end of its file, a huge size,
    fds that are no memory file (eventfd, socket), two fds for one map, more
    fds than max_msg_fds, unknown flags, more maps than max_dma_maps; unmaps
    of unknown, partial and zero ranges, of a map without fd (SPDK #1813)
    and twice. Everything mapped goes when the client does, and the next
    client starts with an empty table (SPDK #2092)."""
    c = Client(dm.blk)
    c.version()
    m = memfd()
    check(c.call(DMA_MAP, dma_map(0, 0x100000, 0x10000), [m])[0] == 0, "good DMA_MAP refused")
    check(len(dm.memfd_maps()) == 1, "the DMA region is not mapped by the daemon")
    c.expect_error(DMA_MAP, dma_map(0, 0x100000, 0x10000), [m], errno.EEXIST, "same map again")
    c.expect_error(DMA_MAP, dma_map(0, 0x10F000, 0x2000), [m], errno.EEXIST, "overlapping tail")
    c.expect_error(DMA_MAP, dma_map(0, 0xFF000, 0x2000), [m], errno.EEXIST, "overlapping head")
    c.expect_error(DMA_MAP, dma_map(0, 0x0, 0x1000000), [], errno.EEXIST, "covering, no fd")
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0), [m], what="zero size")
    c.expect_error(DMA_MAP, dma_map(0, 0xFFFFFFFFFFFFF000, 0x2000), [m], what="wrapping")
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 1 << 62), [m], what="huge size")
    c.expect_error(DMA_MAP, dma_map(1 << 20, 0x400000, 0x1000), [m], what="past the file")
    c.expect_error(DMA_MAP, dma_map(0xFFFFFFFFFFFFF000, 0x400000, 0x2000), [m], what="offset wraps")
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000, flags=0x7), [m], what="unknown flag")
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000)[:24], [m], what="short payload")
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000), [m, m], what="two fds")
    e = os.eventfd(0, os.EFD_CLOEXEC)
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000), [e], what="eventfd as memory")
    a, b = socket.socketpair()
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000), [a.fileno()], what="socket as memory")
    a.close()
    b.close()
    many = [os.eventfd(0, os.EFD_CLOEXEC) for _ in range(20)]
    c.expect_error(DMA_MAP, dma_map(0, 0x400000, 0x1000), many, what="20 fds")
    for f in many:
        os.close(f)
    # Unaligned but in-file ranges are the server's call: served or refused,
    # never a crash; unmapped again when accepted.
    for off, iova, size in ((1, 0x500001, 0x1001), (4095, 0x600000, 1), (0, 0x700003, 0x10)):
        err, _ = c.call(DMA_MAP, dma_map(off, iova, size), [m])
        if err == 0:
            check(c.call(DMA_UNMAP, dma_unmap(iova, size))[0] == 0, "unaligned map not unmapped")
    # A map without fd, then its unmap (SPDK #1813: a NULL address unmapped).
    err, _ = c.call(DMA_MAP, dma_map(0, 0x800000, 0x1000), [])
    if err == 0:
        check(c.call(DMA_UNMAP, dma_unmap(0x800000, 0x1000))[0] == 0, "fd-less map not unmapped")
    c.expect_error(DMA_UNMAP, dma_unmap(0x800000, 0x1000), what="unmap twice")
    c.expect_error(DMA_UNMAP, dma_unmap(0x900000, 0x1000), what="unmap unknown")
    c.expect_error(DMA_UNMAP, dma_unmap(0x100000, 0x1000), what="unmap part")
    c.expect_error(DMA_UNMAP, dma_unmap(0x100000, 0), what="unmap size 0")
    c.expect_error(DMA_UNMAP, dma_unmap(0x100000, 0x10000)[:16], what="unmap short")
    c.expect_error(DMA_UNMAP, dma_unmap(0x100000, 0x10000), [m], what="unmap with fd")
    c.expect_error(DMA_UNMAP, dma_unmap(0x100000, 0x10000, flags=0x80), what="unmap bad flags")
    # Fill the table: max_dma_maps (128) then one more.
    n = 1
    for i in range(200):
        err, _ = c.call(DMA_MAP, dma_map((i % 255) * PAGE, 0x10000000 + i * 0x10000, PAGE), [m])
        if err:
            check(err == errno.ENOSPC, "DMA map %d: errno %d, want ENOSPC when full" % (i, err))
            break
        n += 1
    check(n == 128, "%d maps accepted, the daemon announces max_dma_maps 128" % n)
    check(len(dm.memfd_maps()) == 128, "%d DMA mappings in the daemon" % len(dm.memfd_maps()))
    os.close(m)
    c.close()  # gone with 128 maps: all of them unmapped
    for _ in range(200):
        if not dm.memfd_maps():
            break
        time.sleep(0.01)
    check(not dm.memfd_maps(), "DMA mappings survive their client")
    c = Client(dm.blk)  # the next client's table is empty (SPDK #2092)
    c.version()
    m = memfd()
    check(c.call(DMA_MAP, dma_map(0, 0x100000, 0x10000), [m])[0] == 0,
          "the next client cannot map what the last one had")
    os.close(m)
    c.close()
    return r"DMA_MAP refused|DMA_UNMAP refused"


def c_irqs(dm):
    """SET_IRQS abuse (protocol "VFIO_USER_DEVICE_SET_IRQS"): an unknown
    index, start/count past the vectors or wrapping 32 bits
    (libvfio-user #790, SPDK #3289), ERR/REQ/MSI which have no interrupts
    (libvfio-user #731), fd counts that disagree with count (none, fewer,
    more, 20), several data or action bits at once, argsz and payload
    disagreeing, short BOOL data; then eventfds set and replaced, and the
    disable-all form. No eventfd stays open after the client."""
    c = Client(dm.rng)
    c.version()
    efd = [os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK) for _ in range(20)]
    T = DATA_EVENTFD | ACT_TRIGGER
    bad = [
        (irq_set(T, 5, 0, 1), efd[:1]),
        (irq_set(T, 0xFFFFFFFF, 0, 1), efd[:1]),
        (irq_set(T, IRQ_MSIX, 0xFFFFFFFF, 2), efd[:2]),
        (irq_set(T, IRQ_MSIX, 2, 0xFFFFFFFF), efd[:1]),
        (irq_set(T, IRQ_MSIX, 0, 300), efd[:16]),
        (irq_set(T, IRQ_MSIX, 256, 1), efd[:1]),
        (irq_set(T, IRQ_INTX, 0, 2), efd[:2]),
        (irq_set(T, IRQ_INTX, 1, 1), efd[:1]),
        (irq_set(T, IRQ_MSI, 0, 1), efd[:1]),
        (irq_set(T, IRQ_ERR, 0, 1), efd[:1]),
        (irq_set(T, IRQ_REQ, 0, 1), efd[:1]),
        (irq_set(T, IRQ_MSIX, 0, 2), efd[:1]),  # fewer fds than count
        (irq_set(T, IRQ_MSIX, 0, 1), efd[:3]),  # more fds than count
        (irq_set(T, IRQ_MSIX, 0, 2), efd[:20]),  # more than max_msg_fds
        (irq_set(DATA_NONE | DATA_BOOL | ACT_TRIGGER, IRQ_MSIX, 0, 1), []),
        (irq_set(DATA_NONE | ACT_MASK | ACT_UNMASK, IRQ_MSIX, 0, 1), []),
        (irq_set(ACT_TRIGGER, IRQ_MSIX, 0, 1), []),  # no data type
        (irq_set(DATA_NONE, IRQ_MSIX, 0, 1), []),  # no action
        (irq_set(DATA_BOOL | ACT_TRIGGER, IRQ_MSIX, 0, 4, b"\1"), []),  # short data
        (irq_set(DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 0, 1, argsz=200), []),
        (irq_set(DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 0, 1, argsz=4), []),
        (irq_set(DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 0, 1)[:12], []),
        (irq_set(0xFFFFFFC0 | DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 0, 1), []),
        (irq_set(DATA_NONE | ACT_MASK, IRQ_INTX, 0, 0xFFFFFFFF), []),
    ]
    for p, fds in bad:
        c.expect_error(SET_IRQS, p, fds, what="SET_IRQS %s + %d fds" % (p[:20].hex(), len(fds)))
    # Well-formed ones around them: set 2 MSI-X eventfds, replace them,
    # trigger through DATA_NONE, disable all (count 0), INTx set and masked.
    check(c.call(SET_IRQS, irq_set(T, IRQ_MSIX, 0, 2), efd[:2])[0] == 0, "MSI-X eventfds refused")
    check(c.call(SET_IRQS, irq_set(T, IRQ_MSIX, 0, 2), efd[2:4])[0] == 0, "MSI-X eventfds not replaced")
    c.call(SET_IRQS, irq_set(DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 1, 1))
    check(c.call(SET_IRQS, irq_set(DATA_NONE | ACT_TRIGGER, IRQ_MSIX, 0, 0))[0] == 0,
          "disable-all refused")
    check(c.call(SET_IRQS, irq_set(T, IRQ_INTX, 0, 1), efd[4:5])[0] == 0, "INTx eventfd refused")
    c.call(SET_IRQS, irq_set(DATA_NONE | ACT_MASK, IRQ_INTX, 0, 1))
    check(c.call(SET_IRQS, irq_set(T, IRQ_MSIX, 0, 2), efd[5:7])[0] == 0, "MSI-X set again")
    for f in efd:
        os.close(f)
    c.close()  # the daemon still holds 3 eventfds: closed with the client
    return r"DEVICE_SET_IRQS refused"


def c_reset_storm(dm):
    """DEVICE_RESET storms (protocol "VFIO_USER_DEVICE_RESET"): 2000
    resets, half with No_reply, between a DMA map and eventfds that must
    survive them; a reset with a payload is refused. The device then
    still reads its ids and the map is still there (EEXIST on a remap)."""
    c = Client(dm.blk)
    c.version()
    m = memfd()
    check(c.call(DMA_MAP, dma_map(0, 0x100000, 0x10000), [m])[0] == 0, "DMA_MAP refused")
    e = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    check(c.call(SET_IRQS, irq_set(DATA_EVENTFD | ACT_TRIGGER, IRQ_MSIX, 0, 1), [e])[0] == 0,
          "SET_IRQS refused")
    for i in range(1000):
        c.send(DEVICE_RESET, flags=F_NO_REPLY)
    for i in range(1000):
        check(c.call(DEVICE_RESET)[0] == 0, "DEVICE_RESET %d refused" % i)
    c.expect_error(DEVICE_RESET, b"\0" * 8, what="DEVICE_RESET with a payload")
    err, ids = c.read(CFG, 2, 2)
    check(err == 0 and struct.unpack("<H", ids)[0] == DEV_IDS["blk"], "after the resets")
    c.expect_error(DMA_MAP, dma_map(0, 0x100000, 0x10000), [m], errno.EEXIST, "map after resets")
    os.close(m)
    os.close(e)
    c.close()
    return r"DEVICE_RESET refused"


def find_caps(c):
    """The virtio-pci capabilities (virtio spec "Virtio Structure PCI
    Capabilities"): {cfg_type: (bar, offset, length, extra)}."""
    err, cfg = c.read(CFG, 0, 256)
    check(err == 0, "configuration space unreadable")
    caps = {}
    p = cfg[0x34]
    seen = 0
    while p and seen < 48:
        seen += 1
        vndr, nxt, ln, typ, bar = cfg[p], cfg[p + 1], cfg[p + 2], cfg[p + 3], cfg[p + 4]
        if vndr == 0x09:
            off, length = struct.unpack("<II", cfg[p + 8:p + 16])
            extra = struct.unpack("<I", cfg[p + 16:p + 20])[0] if typ == 2 else 0
            caps.setdefault(typ, (bar, off, length, extra))
        p = nxt
    check(1 in caps and 2 in caps, "no common or notify capability")
    return caps


def c_unmap_in_use(dm):
    """DMA_UNMAP under a live queue (SPDK #2100: unmap with requests in
    flight; protocol "VFIO_USER_DMA_UNMAP": every reference released before
    the reply). A virtqueue of the entropy device is set up by hand in a
    mapped region (virtio spec 4.1.4.3 "Common configuration structure
    layout", 2.7 "Split Virtqueues") and serves one request; then the region
    is unmapped under it and the queue notified: the daemon must not touch
    the memory (it used to write the used ring through the stale mapping
    and crash); the queue is stopped (queue_enable reads 0), as if the
    driver had disabled it. After a reset, descriptors pointing outside
    every map end in DEVICE_NEEDS_RESET (spec 2.1 "Device Status Field"),
    and after another reset the device serves again."""
    c = Client(dm.rng)
    c.version()
    m = memfd(1 << 16)
    base = 0x200000
    check(c.call(DMA_MAP, dma_map(0, base, 1 << 16), [m])[0] == 0, "DMA_MAP refused")
    caps = find_caps(c)
    cb, co, _, _ = caps[1]
    nb, no, _, mult = caps[2]

    def cw(off, val, size):
        check(c.write(cb, co + off, val.to_bytes(size, "little")) == 0, "common cfg write %#x" % off)

    def cr(off, size):
        err, d = c.read(cb, co + off, size)
        check(err == 0, "common cfg read %#x" % off)
        return int.from_bytes(d, "little")

    def setup():
        """Reset, negotiate VERSION_1, queue 0 of 8 entries at base."""
        cw(20, 0, 1)
        check(cr(20, 1) == 0, "reset not taken")
        os.pwrite(m, b"\0" * 0x4000, 0)
        cw(20, 1 | 2, 1)  # ACKNOWLEDGE | DRIVER
        cw(8, 1, 4)  # driver_feature_select 1
        cw(12, 1, 4)  # VERSION_1
        cw(20, 1 | 2 | 8, 1)  # FEATURES_OK
        check(cr(20, 1) & 8, "FEATURES_OK not kept")
        cw(22, 0, 2)  # queue_select 0
        cw(24, 8, 2)
        cw(32, base, 8)
        cw(40, base + 0x1000, 8)
        cw(48, base + 0x2000, 8)
        cw(28, 1, 2)  # queue_enable
        cw(20, 1 | 2 | 8 | 4, 1)  # DRIVER_OK
        return cr(30, 2)

    def request(n, addr):
        """Descriptor 0: 64 writable bytes at addr; avail idx n; notify."""
        os.pwrite(m, struct.pack("<QIHH", addr, 64, 2, 0), 0)
        os.pwrite(m, struct.pack("<HHHH", 0, n, 0, 0), 0x1000)
        check(c.write(nb, no + qoff * mult, struct.pack("<H", 0)) == 0, "notify refused")

    def used_idx():
        return struct.unpack("<H", os.pread(m, 2, 0x2002))[0]

    qoff = setup()
    request(1, base + 0x3000)
    for _ in range(200):
        if used_idx() == 1:
            break
        time.sleep(0.01)
    check(used_idx() == 1, "the rng request was not served")
    check(os.pread(m, 64, 0x3000) != b"\0" * 64, "no entropy written")
    # Unmap the region under the live queue, add a request, notify.
    check(c.call(DMA_UNMAP, dma_unmap(base, 1 << 16))[0] == 0, "DMA_UNMAP refused")
    os.pwrite(m, b"\0" * 64, 0x3000)
    request(2, base + 0x3000)
    time.sleep(0.1)
    check(os.pread(m, 64, 0x3000) == b"\0" * 64 and used_idx() == 1,
          "the device used memory unmapped under it")
    cw(22, 0, 2)
    check(cr(28, 2) == 0, "queue 0 still enabled after its memory was unmapped")
    # Mapped again, reset: descriptors pointing outside every map.
    check(c.call(DMA_MAP, dma_map(0, base, 1 << 16), [m])[0] == 0, "remap refused")
    qoff = setup()
    request(1, 0x7FFFFFFFF000)
    time.sleep(0.1)
    status = cr(20, 1)
    check(status & 0x40, "device status %#x after a wild descriptor: want DEVICE_NEEDS_RESET" % status)
    check(used_idx() == 0, "a wild descriptor was used")
    qoff = setup()
    request(1, base + 0x3000)
    for _ in range(200):
        if used_idx() == 1:
            break
        time.sleep(0.01)
    check(used_idx() == 1 and os.pread(m, 64, 0x3000) != b"\0" * 64, "not served after the resets")
    os.close(m)
    c.close()
    return r"DMA_UNMAP of memory under a running ring"


def c_flood(dm):
    """A client that sends without reading its replies (protocol "Command
    Concurrency": one outstanding command; the server may not stall on
    it): the daemon is blocked at most its send timeout, then drops the
    client, and the other device is served meanwhile."""
    c = Client(dm.rng, timeout=20)
    c.version()
    c.s.setblocking(False)
    msg = struct.pack("<HHIII", 1, REGION_READ, HDR + 16, 0, 0) + rw(0, CFG, 4096 if False else 256)
    sent = 0
    t0 = time.time()
    while time.time() - t0 < 3:
        try:
            c.s.send(msg)
            sent += 1
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
    t1 = time.time()
    well_behaved(dm.blk, DEV_IDS["blk"])
    check(time.time() - t1 < 9, "blk waited %.1f s behind the flooding client" % (time.time() - t1))
    c.close()
    say("  flood: %d requests sent unread" % sent)
    return r"reply not sent|front-end gone"


CLASSES = [
    ("framing", c_framing),
    ("not-a-command", c_not_command),
    ("version", c_version),
    ("unknown-command", c_unknown),
    ("argsz-and-indexes", c_argsz),
    ("region-access", c_region),
    ("dma-map-unmap", c_dma),
    ("set-irqs", c_irqs),
    ("reset-storm", c_reset_storm),
    ("unmap-in-use", c_unmap_in_use),
    ("stalled-client", c_stall),
    ("flooding-client", c_flood),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default=os.environ.get("VDM_VHOST_USER"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    if not a.daemon or not os.access(a.daemon, os.X_OK):
        say("no daemon (--daemon PATH)")
        return 2
    DEV_IDS.update(rng=0x1044, blk=0x1042)
    tmp = tempfile.mkdtemp(prefix="vdm-vfu-hostile.")
    dm = Daemon(a.daemon, tmp)
    failed = 0
    try:
        well_behaved(dm.rng, DEV_IDS["rng"])
        well_behaved(dm.blk, DEV_IDS["blk"])
        time.sleep(0.1)
        base_fds = dm.fd_targets()
        dm.new_lines()
        for name, fn in CLASSES:
            if a.only and name not in a.only.split(","):
                continue
            t0 = time.time()
            try:
                want = fn(dm)
                for _ in range(300):  # the daemon notices closed clients
                    if dm.fd_targets() == base_fds and not dm.memfd_maps():
                        break
                    time.sleep(0.01)
                check(dm.alive(), "the daemon died (status %s)" % dm.p.poll())
                now = dm.fd_targets()
                check(now == base_fds, "daemon fds %s, before the class %s" % (now, base_fds))
                check(not dm.memfd_maps(), "DMA mappings left: %s" % dm.memfd_maps())
                well_behaved(dm.rng, DEV_IDS["rng"])
                well_behaved(dm.blk, DEV_IDS["blk"])
                log = dm.new_lines()
                bad = re.findall(r".*(?:AddressSanitizer|runtime error|LeakSanitizer|memory fault|SIGSEGV|SIGBUS).*", log)
                check(not bad, "the daemon reports: %s" % bad[:3])
                check(re.search(want, log), "the log does not say /%s/" % want)
                say("PASS %s (%.1f s)" % (name, time.time() - t0))
            except (Fail, OSError) as e:
                failed += 1
                say("FAIL %s: %s" % (name, e))
                say("daemon log since the last class:\n" + dm.new_lines()[-3000:])
                if not dm.alive():
                    break
    finally:
        dm.stop()
        if failed or a.keep:
            say("daemon log: %s" % dm.logpath)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    code = dm.p.returncode
    if code not in (0, -signal.SIGTERM):
        say("daemon exit status %s" % code)
        failed += 1
    say("%d classes failed" % failed if failed else "all classes passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
