#!/usr/bin/env python3
"""Holds N slow connections open against a server, as a slowloris attacker would.

Each connection sends a request head one byte every INTERVAL seconds, never finishing it; when
the server cuts one, it is opened again at once, so N stay open (or keep trying to). Connections
come from several loopback source addresses (127.0.0.2 ...), PER_ADDRESS each, so a per-address
cap does not simply refuse them all. Prints one JSON line per REPORT seconds, and a summary on
SIGINT/SIGTERM or after --seconds: open now, cut by the server, refused (503 at once), opened.

  scripts/slow-clients.py --port 8080 --connections 1000 --interval 10 --per-address 50
"""
import argparse
import json
import selectors
import signal
import socket
import sys
import time

HEAD = b"POST /public/auth/login HTTP/1.1\r\nHost: loyalty\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--interval", type=float, default=10.0)
    p.add_argument("--per-address", type=int, default=50)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--report", type=float, default=5.0)
    args = p.parse_args()

    sel = selectors.DefaultSelector()
    conns = {}  # socket -> [slot, bytes sent, next send time]
    stats = {"opened": 0, "cut": 0, "refused": 0, "open": 0}
    stop = [False]

    def on_signal(*_):
        stop[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def open_slot(slot):
        source = "127.0.0.%d" % (2 + slot // args.per_address)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", args.port))
        except OSError:
            s.close()
            return
        # The first byte at once (spread over a second so they do not all come together), then
        # one every interval: the head is never finished.
        conns[s] = [slot, 0, time.monotonic() + (slot % 100) / 100]
        sel.register(s, selectors.EVENT_READ)
        stats["opened"] += 1

    def close(s, refused):
        slot = conns.pop(s)[0]
        sel.unregister(s)
        s.close()
        stats["refused" if refused else "cut"] += 1
        return slot

    for slot in range(args.connections):
        open_slot(slot)
    began = time.monotonic()
    last_report = began
    while not stop[0]:
        now = time.monotonic()
        if args.seconds and now - began >= args.seconds:
            break
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            refused = data.startswith(b"HTTP/1.1 503")
            slot = close(s, refused)
            open_slot(slot)
        for s, state in list(conns.items()):
            if state[2] <= now:
                try:
                    s.send(HEAD[state[1] % len(HEAD) : state[1] % len(HEAD) + 1])
                    state[1] += 1
                except OSError:
                    pass
                state[2] = now + args.interval
        if now - last_report >= args.report:
            stats["open"] = len(conns)
            print(json.dumps({"t": round(now - began, 1), **stats}), flush=True)
            last_report = now
    stats["open"] = len(conns)
    print(json.dumps({"summary": True, "seconds": round(time.monotonic() - began, 1), **stats}),
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
