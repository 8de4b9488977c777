#!/usr/bin/env python3
"""Load for the continuity test: bounded in time, local test addresses only.

  load.py sink ADDR PORT --ready-file F
      Accepts TCP connections; reads and discards everything; runs until killed.
  load.py stream ADDR PORT SECONDS STOPFILE
      One TCP connection sending continuously until STOPFILE exists (at most
      SECONDS); prints the bytes sent. Exit 1 on any error (reset, timeout): the
      stream must never break.
  load.py connect ADDR PORT SECONDS STOPFILE
      Opens and closes TCP connections one after another, likewise; prints
      "N ok, M failed"; exit 1 when any failed.
"""
import os
import socket
import sys
import threading
import time


def sink(addr, port, ready_file):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)
    with open(ready_file + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(ready_file + ".tmp", ready_file)

    def drain(conn):
        with conn:
            while conn.recv(65536):
                pass

    while True:
        conn, _ = s.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def running(end, stopfile):
    return time.monotonic() < end and not os.path.exists(stopfile)


def stream(addr, port, seconds, stopfile):
    chunk = b"x" * 16384
    sent = 0
    with socket.create_connection((addr, port), timeout=5) as s:
        end = time.monotonic() + seconds
        while running(end, stopfile):
            s.sendall(chunk)
            sent += len(chunk)
    print(sent)


def connect(addr, port, seconds, stopfile):
    ok = failed = 0
    end = time.monotonic() + seconds
    while running(end, stopfile):
        try:
            with socket.create_connection((addr, port), timeout=2):
                ok += 1
        except OSError as e:
            failed += 1
            print("connection failed: %s" % e, file=sys.stderr)
    print("%d ok, %d failed" % (ok, failed))
    return 1 if failed or not ok else 0


def main(argv):
    mode, addr, port = argv[1], argv[2], int(argv[3])
    if mode == "sink":
        sink(addr, port, argv[5])
    elif mode == "stream":
        stream(addr, port, float(argv[4]), argv[5])
    elif mode == "connect":
        return connect(addr, port, float(argv[4]), argv[5])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:
        print("load.py: %s" % e, file=sys.stderr)
        sys.exit(1)
