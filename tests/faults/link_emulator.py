#!/usr/bin/env python3
"""A point-to-point IP link between two network namespaces that loses,
delays, reorders and duplicates packets: what `tc qdisc ... netem` would do,
for kernels without sch_netem. scripts/faults.sh uses it for the lossy-link
scenario.

Each namespace holds one persistent TUN device (created beforehand with
`ip -n NS tuntap add mode tun name DEV`, addressed as the two ends of a
point-to-point link). This process attaches to both and copies every IP
packet from one to the other, deciding per packet and per direction:

  loss       probability that the packet is dropped
  delay_ms   fixed one-way delay
  jitter_ms  extra delay, uniform in 0..jitter_ms
  reorder    probability that the packet skips the delay and overtakes the
             packets already queued (netem's "reorder")
  duplicate  probability that the packet is sent twice
  down       drop everything (a partition of this direction)

The settings live in a JSON file ({"a_to_b": {...}, "b_to_a": {...}}); the
process rereads it on SIGHUP and prints "applied <n>" once it did, so the
caller knows when a change is in force. SIGTERM prints the counters as one
"counters {json}" line and exits 0.
"""

import argparse
import ctypes
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

kTunSetIff = 0x400454CA
kIffTun = 0x0001
kIffNoPi = 0x1000
kCloneNewNet = 0x40000000
kMaxPacket = 65536
kDirectionKeys = {"loss", "delay_ms", "jitter_ms", "reorder", "duplicate", "down"}


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, kCloneNewNet) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into network namespace {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(netns, device):
    enter_netns(netns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)
    fcntl.ioctl(fd, kTunSetIff, struct.pack("16sH", device.encode(), kIffTun | kIffNoPi))
    return fd


class Direction:
    def __init__(self, name):
        self.name = name
        self.settings = {}
        self.counters = {"received": 0, "sent": 0, "dropped": 0, "duplicated": 0,
                         "sent_out_of_order": 0, "write_errors": 0}
        self.last_sent_order = -1

    def configure(self, settings):
        unknown = set(settings) - kDirectionKeys
        if unknown:
            raise ValueError(f"{self.name}: unknown setting(s) {sorted(unknown)}; "
                             f"allowed: {sorted(kDirectionKeys)}")
        self.settings = settings

    def get(self, key):
        return self.settings.get(key, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ns-a", required=True)
    parser.add_argument("--dev-a", required=True)
    parser.add_argument("--ns-b", required=True)
    parser.add_argument("--dev-b", required=True)
    parser.add_argument("--settings", required=True, help="JSON file, reread on SIGHUP")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    fd_a = open_tun(args.ns_a, args.dev_a)
    fd_b = open_tun(args.ns_b, args.dev_b)
    a_to_b, b_to_a = Direction("a_to_b"), Direction("b_to_a")
    out_fd = {id(a_to_b): fd_b, id(b_to_a): fd_a}

    state = {"reload": True, "stop": False, "generation": 0}
    signal.signal(signal.SIGHUP, lambda *_: state.update(reload=True))
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
    signal.signal(signal.SIGINT, lambda *_: state.update(stop=True))

    # (due time, arrival order, direction, packet): sent in due order, so a
    # packet with less delay overtakes earlier ones.
    queue = []
    order = 0
    poller = select.poll()
    poller.register(fd_a, select.POLLIN)
    poller.register(fd_b, select.POLLIN)
    print("ready", flush=True)

    while not state["stop"]:
        if state["reload"]:
            state["reload"] = False
            try:
                with open(args.settings, encoding="utf-8") as f:
                    settings = json.load(f)
                a_to_b.configure(settings.get("a_to_b", {}))
                b_to_a.configure(settings.get("b_to_a", {}))
                state["generation"] += 1
                print(f"applied {state['generation']}", flush=True)
            except (OSError, ValueError) as error:
                print(f"settings not applied: {error}", flush=True)

        now = time.monotonic()
        timeout_ms = 200
        if queue:
            timeout_ms = max(0, min(timeout_ms, int((queue[0][0] - now) * 1000) + 1))
        try:
            events = poller.poll(timeout_ms)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            direction = a_to_b if fd == fd_a else b_to_a
            # Bounded per wake-up so one busy direction cannot starve the other.
            for _ in range(256):
                try:
                    packet = os.read(fd, kMaxPacket)
                except BlockingIOError:
                    break
                direction.counters["received"] += 1
                if direction.get("down") or rng.random() < direction.get("loss"):
                    direction.counters["dropped"] += 1
                    continue
                copies = 2 if rng.random() < direction.get("duplicate") else 1
                direction.counters["duplicated"] += copies - 1
                for _copy in range(copies):
                    delay = direction.get("delay_ms") + rng.random() * direction.get("jitter_ms")
                    if rng.random() < direction.get("reorder"):
                        delay = 0
                    heapq.heappush(queue, (now + delay / 1000.0, order, id(direction), direction,
                                           packet))
                    order += 1
        while queue and queue[0][0] <= now:
            _due, packet_order, _key, direction, packet = heapq.heappop(queue)
            if packet_order < direction.last_sent_order:
                direction.counters["sent_out_of_order"] += 1
            direction.last_sent_order = max(direction.last_sent_order, packet_order)
            try:
                os.write(out_fd[id(direction)], packet)
                direction.counters["sent"] += 1
            except OSError:
                # The receiving device is down or its queue is full: a lost
                # packet, as on a real link.
                direction.counters["write_errors"] += 1

    print("counters " + json.dumps({"a_to_b": a_to_b.counters, "b_to_a": b_to_a.counters}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
