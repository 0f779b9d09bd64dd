#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The soak test's receiver: accepts TCP connections on the given ports and
logs one line per connection, "<port> <first line the client sent>", to LOG.
Runs inside the receiver's network namespace until SIGTERM or SECONDS.

usage: recv.py LOG SECONDS PORT...   (LOG.ready appears once it listens)
"""
import selectors
import signal
import socket
import sys
import time


def main():
    log, secs = sys.argv[1], float(sys.argv[2])
    ports = [int(p) for p in sys.argv[3:]]
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(1024)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", port))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = open(log, "a", buffering=1)
    open(log + ".ready", "w").close()
    deadline = time.monotonic() + secs
    pending = {}

    def done(c, port, buf):
        line = buf.split(b"\n")[0].decode("utf-8", "replace").strip()
        out.write("%d %s\n" % (port, line or "-"))
        sel.unregister(c)
        c.close()
        del pending[c]

    while not stop and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            kind, port = key.data
            if kind == "listen":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(False)
                pending[c] = (port, b"", time.monotonic())
                sel.register(c, selectors.EVENT_READ, ("conn", port))
                continue
            c = key.fileobj
            port, buf, t = pending[c]
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            buf += data
            if data and b"\n" not in buf and len(buf) < 4096:
                pending[c] = (port, buf, t)
                continue
            done(c, port, buf)
        # a client that connected and never sent its line: logged after 5 s
        now = time.monotonic()
        for c, (port, buf, t) in list(pending.items()):
            if now - t > 5:
                done(c, port, buf)
    out.close()


if __name__ == "__main__":
    main()
