#!/usr/bin/python3
"""A small HTTP server on 127.0.0.1 for the download tests (tests/e2e/data_download.sh and tui_download.sh),
misbehaving on request.

  /files/NAME    ROOT/NAME, honouring "Range: bytes=N-" (206, or 416 past the end)
  /norange/NAME  ROOT/NAME whole (200), whatever Range says
  /cut/NAME      without Range: the full Content-Length promised, half the bytes sent, the connection closed;
                 with Range: as /files/ (so a retry resumes)
  /stall/NAME    without Range: half the bytes, then nothing for 60 s; with Range: the headers, then nothing
  /flaky/NAME    503 to the first request for NAME, then as /files/
  /cutall/NAME   whatever Range says: 200, the full Content-Length promised, half the bytes sent, closed
  /drip/NAME     whatever Range says: 200, the full Content-Length promised, then one byte every 0.4 s
  anything else  404

Picks a free port and writes it to PORT_FILE once listening; logs "METHOD PATH range=VALUE" per request
to LOG_FILE. Standard library only: python3 tests/tools/http_server.py ROOT PORT_FILE LOG_FILE
"""
import http.server
import os
import re
import sys
import threading
import time

ROOT, PORT_FILE, LOG_FILE = sys.argv[1:4]
log_lock = threading.Lock()
flaky_seen = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def send_body(self, data, start, promised=None):
        self.send_header("Content-Length", str(promised if promised is not None else len(data) - start))
        self.send_header("Content-Type", "application/gzip")
        self.end_headers()
        self.wfile.write(data[start:])

    def do_GET(self):
        rng = self.headers.get("Range", "")
        with log_lock, open(LOG_FILE, "a") as f:
            f.write("GET %s range=%s\n" % (self.path, rng or "-"))
        m = re.match(r"^/(files|norange|cut|stall|flaky|cutall|drip)/([A-Za-z0-9._-]+)$", self.path)
        path = os.path.join(ROOT, m.group(2)) if m else ""
        if not m or not os.path.isfile(path):
            self.send_error(404)
            return
        mode = m.group(1)
        with open(path, "rb") as f:
            data = f.read()
        if mode == "flaky" and m.group(2) not in flaky_seen:
            flaky_seen.add(m.group(2))
            self.send_error(503)
            return
        start = 0
        r = re.match(r"^bytes=(\d+)-$", rng)
        if r and mode not in ("norange", "cutall", "drip"):
            start = int(r.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for k in range(len(data)):
                    self.wfile.write(data[k:k + 1])
                    self.wfile.flush()
                    time.sleep(0.4)
            except OSError:
                pass
            return
        if mode == "stall":
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if not start:
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
            time.sleep(60)
            return
        if mode == "cutall" or (mode == "cut" and not start):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if start:
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_body(data, start)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
