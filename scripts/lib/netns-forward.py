#!/usr/bin/env python3
"""Forward a TCP address inside each of several network namespaces to the same address in the
namespace this process started in (scripts/testbed-multinode: each node's 127.0.0.1:5000 reaches
the host's loopback registry, so images keep the names the fixtures use).

Usage: netns-forward.py HOST:PORT NETNS...   (NETNS: a name under /run/netns)

The listening sockets are opened while the process has entered each namespace (setns), then it
returns to its own namespace, where every connection to the target is made: one process, no
address of the host exposed on the namespaces' bridge. Runs until killed.
"""

import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def serve(listener, target):
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    host, port = sys.argv[1].rsplit(":", 1)
    target = (host, int(port))
    home = "/proc/self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)
    listeners = []
    for ns in sys.argv[2:]:
        enter(f"/run/netns/{ns}")
        listeners.append(socket.create_server(target, reuse_port=False))
    if libc.setns(home_fd, CLONE_NEWNET) != 0:
        sys.exit("cannot return to the starting network namespace")
    os.close(home_fd)
    threads = [threading.Thread(target=serve, args=(l, target), daemon=True) for l in listeners]
    for t in threads:
        t.start()
    print("forwarding", sys.argv[1], "in", ", ".join(sys.argv[2:]), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
