#!/usr/bin/env python3
"""Tiny TCP/UDP peer for the nft-portfwd integration tests.

  peer.py serve tcp|udp ADDR PORT NAME [--ready-file FILE]
      Answers every TCP connection / UDP datagram with "NAME <peer address>"
      (the source address this machine saw), until killed. Prints "ready" on
      stdout (and writes FILE, if given) once the socket is bound.

  peer.py send tcp|udp ADDR PORT [--timeout S] [--source ADDR] [--sport PORT]
      Connects / sends one datagram, prints the reply. Exit 1 on timeout,
      refusal, unreachable or an empty reply. --source binds the socket to
      that local address, --sport to that local port (with SO_REUSEADDR, so
      consecutive runs keep the same UDP flow).
"""
import argparse
import ipaddress
import os
import socket
import sys


def family_of(addr):
    try:
        return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
    except ValueError:
        sys.exit("peer.py: not an IP address: %r" % addr)


def announce_ready(ready_file):
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, ready_file)
    print("ready", flush=True)


def serve(proto, addr, port, name, ready_file):
    fam = family_of(addr)
    stype = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, stype)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    if proto == "tcp":
        s.listen(64)
    announce_ready(ready_file)
    while True:
        if proto == "tcp":
            conn, peer = s.accept()
            try:
                conn.settimeout(2)
                conn.sendall(("%s %s\n" % (name, peer[0])).encode())
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            finally:
                conn.close()
        else:
            try:
                _data, peer = s.recvfrom(65535)
                s.sendto(("%s %s\n" % (name, peer[0])).encode(), peer)
            except OSError:
                pass


def send(proto, addr, port, timeout, source=None, sport=None):
    fam = family_of(addr)
    stype = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, stype)
    s.settimeout(timeout)
    try:
        if source is not None or sport is not None:
            if source is not None and family_of(source) != fam:
                print("peer.py: --source %s is not of the family of %s" % (source, addr), file=sys.stderr)
                return 1
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((source if source is not None else ("::" if fam == socket.AF_INET6 else "0.0.0.0"),
                    sport if sport is not None else 0))
        s.connect((addr, port))
        if proto == "udp":
            s.send(b"hello\n")
        chunks = []
        while True:
            b = s.recv(4096)
            if not b:
                break
            chunks.append(b)
            if proto == "udp" or b.endswith(b"\n"):
                break
    except socket.timeout:
        print("peer.py: %s %s:%d: timeout after %gs" % (proto, addr, port, timeout), file=sys.stderr)
        return 1
    except OSError as e:
        print("peer.py: %s %s:%d: %s" % (proto, addr, port, e.strerror or e), file=sys.stderr)
        return 1
    finally:
        s.close()
    reply = b"".join(chunks).decode(errors="replace").strip()
    if not reply:
        print("peer.py: %s %s:%d: empty reply" % (proto, addr, port), file=sys.stderr)
        return 1
    print(reply)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    ps = sub.add_parser("serve")
    ps.add_argument("proto", choices=["tcp", "udp"])
    ps.add_argument("addr")
    ps.add_argument("port", type=int)
    ps.add_argument("name")
    ps.add_argument("--ready-file")
    pc = sub.add_parser("send")
    pc.add_argument("proto", choices=["tcp", "udp"])
    pc.add_argument("addr")
    pc.add_argument("port", type=int)
    pc.add_argument("--timeout", type=float, default=2.0)
    pc.add_argument("--source")
    pc.add_argument("--sport", type=int)
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a.proto, a.addr, a.port, a.name, a.ready_file)
        return 0
    return send(a.proto, a.addr, a.port, a.timeout, a.source, a.sport)


if __name__ == "__main__":
    sys.exit(main())
