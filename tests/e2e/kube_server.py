#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A stand-in for the Kubernetes API server, for `egressctl watch
--kubernetes` (tests/e2e/56_kubernetes.sh). It speaks the documented list and
watch protocol for pods (kubernetes.io/docs/reference/using-api/api-concepts),
over HTTPS, on 127.0.0.1:

  GET /api/v1/pods?fieldSelector=spec.nodeName%3DNODE
      -> a PodList of the node's pods, metadata.resourceVersion = the current RV
  GET /api/v1/pods?fieldSelector=...&watch=1&resourceVersion=RV
                  [&allowWatchBookmarks=true][&timeoutSeconds=N]
      -> 200, Transfer-Encoding: chunked, one JSON event per line:
         {"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": ...}
         first the events after RV, then new ones as they happen;
         410 Gone (a Status) when RV is older than the compacted history
  Every request needs "Authorization: Bearer <the token file's content>",
  the file read at each request (401 otherwise).

The test drives it through a plain HTTP control port (127.0.0.1 only); each
answer is the current resourceVersion:
  POST /put     {pod object}   ADDED (new uid) or MODIFIED
  POST /delete  {"uid": ...}   DELETED
  POST /bookmark               a BOOKMARK with a new RV to open watches (only
                               to those that asked for bookmarks)
  POST /expire                 an ERROR event (Status, code 410) to open watches,
                               and the history is compacted
  POST /compact                the history is compacted: a watch from an older
                               RV gets an HTTP 410
  POST /close                  open watches end (as at timeoutSeconds)
  POST /down                   the API port stops listening, open watches end
  POST /up                     the API port listens again (the same port)
  GET  /log                    the API requests served, one JSON object a line

usage: kube_server.py CERT KEY TOKENFILE PORTFILE
  (writes "API_PORT CTL_PORT" to PORTFILE once listening)
"""
import json
import os
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Condition()
STATE = {"rv": 100, "compacted": 0, "pods": {}, "events": [], "gen": 0, "log": []}
CFG = {}


def event(kind, obj):
    """Record an event with a new RV (under LOCK)."""
    STATE["rv"] += 1
    obj = json.loads(json.dumps(obj))
    obj.setdefault("metadata", {})["resourceVersion"] = str(STATE["rv"])
    STATE["events"].append((STATE["rv"], kind, obj))
    LOCK.notify_all()
    return obj


def status(code, reason, msg):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": msg, "reason": reason, "code": code}


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        with open(CFG["token"]) as f:
            token = f.read().strip()
        auth = self.headers.get("Authorization", "")
        entry = {"path": u.path, "query": {k: v[0] for k, v in q.items()},
                 "auth": auth == "Bearer " + token, "token": auth[7:]}
        with LOCK:
            STATE["log"].append(entry)
        if not entry["auth"]:
            return self.reply(401, status(401, "Unauthorized", "Unauthorized"))
        if u.path != "/api/v1/pods":
            return self.reply(404, status(404, "NotFound", "not found"))
        sel = q.get("fieldSelector", [""])[0]
        node = sel[len("spec.nodeName="):] if sel.startswith("spec.nodeName=") else None

        def on_node(pod):
            return node is None or pod.get("spec", {}).get("nodeName") == node

        if q.get("watch", ["0"])[0] not in ("1", "true"):
            with LOCK:
                items = [p for p in STATE["pods"].values() if on_node(p)]
                rv = STATE["rv"]
            return self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": str(rv)}, "items": items})
        try:
            since = int(q.get("resourceVersion", ["0"])[0] or 0)
        except ValueError:
            since = 0
        with LOCK:
            if since < STATE["compacted"]:
                return self.reply(410, status(410, "Expired",
                                              "too old resource version: %d (%d)" %
                                              (since, STATE["compacted"])))
            gen = STATE["gen"]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = since
        bookmarks = q.get("allowWatchBookmarks", ["false"])[0] == "true"
        try:
            ended = False
            while not ended:
                with LOCK:
                    while (STATE["gen"] == gen and
                           not any(rv > sent for rv, _, _ in STATE["events"])):
                        LOCK.wait(1)
                    pend = [e for e in STATE["events"] if e[0] > sent]
                    ended = STATE["gen"] != gen
                for rv, kind, obj in pend:
                    sent = rv
                    if kind == "BOOKMARK":
                        if bookmarks:
                            self.chunk({"type": kind, "object": obj})
                    elif kind == "ERROR":
                        self.chunk({"type": kind, "object": obj})
                        ended = True
                        break
                    elif on_node(obj):
                        self.chunk({"type": kind, "object": obj})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True


class Ctl(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            text = "".join(json.dumps(e) + "\n" for e in STATE["log"])
        self.reply(200, text)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/down":
            api_down()
        elif self.path == "/up":
            api_up()
        with LOCK:
            if self.path == "/put":
                uid = body["metadata"]["uid"]
                kind = "MODIFIED" if uid in STATE["pods"] else "ADDED"
                STATE["pods"][uid] = event(kind, body)
            elif self.path == "/delete":
                pod = STATE["pods"].pop(body["uid"], None)
                if pod:
                    event("DELETED", pod)
            elif self.path == "/bookmark":
                STATE["rv"] += 1
                STATE["events"].append((STATE["rv"], "BOOKMARK", {
                    "kind": "Pod", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(STATE["rv"])}}))
                LOCK.notify_all()
            elif self.path == "/expire":
                STATE["rv"] += 1
                STATE["compacted"] = STATE["rv"]
                STATE["events"].append((STATE["rv"], "ERROR", status(
                    410, "Expired", "too old resource version")))
                LOCK.notify_all()
            elif self.path == "/compact":
                STATE["compacted"] = STATE["rv"]
            elif self.path in ("/close", "/down"):
                STATE["gen"] += 1
                LOCK.notify_all()
            elif self.path != "/up":
                return self.reply(404, "no such control\n")
            rv = STATE["rv"]
        self.reply(200, "%d\n" % rv)


def api_up():
    if CFG.get("api"):
        return
    srv = ThreadingHTTPServer(("127.0.0.1", CFG.get("port", 0)), Api)
    srv.daemon_threads = True
    srv.socket = CFG["ctx"].wrap_socket(srv.socket, server_side=True)
    CFG["port"] = srv.server_address[1]
    CFG["api"] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def api_down():
    srv = CFG.pop("api", None)
    if srv:
        srv.shutdown()
        srv.server_close()


def main():
    cert, key, CFG["token"], portfile = sys.argv[1:5]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    CFG["ctx"] = ctx
    ThreadingHTTPServer.allow_reuse_address = True
    api_up()
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), Ctl)
    ctl.daemon_threads = True
    with open(portfile + ".tmp", "w") as f:
        f.write("%d %d\n" % (CFG["port"], ctl.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    ctl.serve_forever()


if __name__ == "__main__":
    main()
