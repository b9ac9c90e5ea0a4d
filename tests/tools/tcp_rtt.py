#!/usr/bin/env python3
"""The round trip of one byte over TCP, for tests/e2e/mpi_multihost.sh's delayed cable.

    tcp_rtt.py serve PORT         answers every byte with a byte until the peer closes
    tcp_rtt.py ask HOST PORT [N]  N round trips (default 21); prints the median in microseconds
"""
import socket
import sys
import time


def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while c.recv(1):
        c.sendall(b"x")


def ask(host, port, n):
    for _ in range(50):  # the server may not be listening yet
        try:
            c = socket.create_connection((host, port), timeout=10)
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("tcp_rtt.py: no server at %s:%d" % (host, port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    trips = []
    for _ in range(n):
        t = time.perf_counter()
        c.sendall(b"x")
        if not c.recv(1):
            sys.exit("tcp_rtt.py: the server went away")
        trips.append(time.perf_counter() - t)
    trips.sort()
    print(round(trips[n // 2] * 1e6))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "ask":
        ask(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 21)
    else:
        sys.exit(__doc__)
