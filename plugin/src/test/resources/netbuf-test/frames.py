#!/usr/bin/env python3
"""Test-only frame tool for the output-commit tests (runs in a namespace the test made, or in Xen's dom0).

send IFACE  : reads lines "EPOCH FIRST_SEQ COUNT [SIZE[,SIZE...] [TYPE,...]]" on stdin; for each, sends COUNT
              broadcast frames, each tagged with magic, epoch and sequence, of SIZE bytes (Ethernet header included;
              one size for all, or one per frame); answers "sent N" when they are all on the wire of IFACE. The
              ethertype is TYPES[seq % len(TYPES)] (hex; default IPv4, IPv6, ARP); 8100 is an 802.1Q frame of VLAN
              10 carrying IPv4. A frame too short for the tag after its header (a runt, down to the 14-byte header
              alone) carries it in its source MAC instead: 02:4e, then the epoch's low byte and the sequence
              number's low 3 bytes; its body is zeros. plugin/src/test/c/xen_frames.c makes the same frames.
remote IFACE: the same lines, for a sender on the other end of IFACE (a Xen vif: xen_frames.c in the domU): each
              is sent to it as a command frame (ethertype 0x88b5; at most CHUNK frames a command), and answered
              "sent N" once every one of its frames was seen arriving on IFACE (a tap sees a frame before any
              ingress qdisc), else after 20 s "missing SEQ,...".
              A line "stream EPOCH FIRST_SEQ INTERVAL_US" starts the sender's endless stream of numbered IPv4
              frames (64 bytes), answered "streaming" once asked. A line "shell COMMAND" has the sender run
              COMMAND with /bin/sh in the domU (its output on the domU's console), answered "asked".
ask IFACE   : the same without watching IFACE: answers "sent N" once the commands are sent. A tap on a Xen vif
              changes what netback does (the kernel copies a tapped frame's grant-mapped pages), so a test of the
              buffer itself takes the plug's backlog as the witness instead.
sniff IFACE : prints "EPOCH SEQ ETHERTYPE LENGTH VLAN INNER AT" for every tagged frame that arrives on IFACE, in
              arrival order (VLAN -1 and INNER = ETHERTYPE for an untagged frame; LENGTH with the VLAN tag; AT the
              kernel's receive time, CLOCK_REALTIME nanoseconds). A line "sync" is answered "synced" once every
              frame the kernel received before the line was read has been reported (not every frame the socket
              holds: under a stream faster than this reader that would never end). A line
              "drops" on stdin is answered with "drops N": the frames its own socket lost so far
              (PACKET_STATISTICS), which must stay 0 for what it saw to mean anything. An untagged frame that
              arrives is reported as "other ETHERTYPE LENGTH SOURCE_MAC".
"""
import select
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
TP_STATUS_VLAN_VALID = 0x10
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35  # SCM_TIMESTAMPNS: the kernel's receive time, CLOCK_REALTIME, as struct timespec

MAGIC = b"NBT1"
RUNT = b"\x02\x4e"  # a runt's source MAC starts so: locally administered, unicast (a bridge forwards it)
ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
COMMAND = 0x88B5  # IEEE 802 local experimental ethertype: dom0's commands to the domU's sender
CHUNK = 200
VLAN_ID = 10
TYPES = (0x0800, 0x86DD, 0x0806)  # IPv4, IPv6, ARP


def frame(src, epoch, seq, size, types=TYPES):
    ethertype = types[seq % len(types)]
    header = struct.pack("!H", ethertype)
    if ethertype == ETH_P_8021Q:
        header += struct.pack("!HH", VLAN_ID, 0x0800)
    tag = MAGIC + struct.pack("!II", epoch, seq)
    if ethertype == 0x0806:
        # ARP request: htype 1, ptype IPv4, hlen 6, plen 4, op 1, sender/target addresses; tag after it
        body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, b"\xa9\xfe\x46\x02",
                           b"\x00" * 6, b"\xa9\xfe\x46\x01") + tag
    else:
        body = tag
    if 12 + len(header) + len(body) > size:
        src = RUNT + bytes([epoch & 0xFF]) + (seq & 0xFFFFFF).to_bytes(3, "big")
        body = b""
    body = body + b"\x00" * max(0, size - 12 - len(header) - len(body))
    return b"\xff" * 6 + src + header + body


def parse(line):
    """EPOCH FIRST COUNT [SIZES [TYPES]] -> (epoch, first, sizes per frame, types)."""
    parts = line.split()
    epoch, first, count = int(parts[0]), int(parts[1]), int(parts[2])
    sizes = [int(x) for x in parts[3].split(",")] if len(parts) > 3 else [64]
    if len(sizes) == 1:
        sizes = sizes * count
    if len(sizes) != count:
        sys.exit("%d sizes for %d frames" % (len(sizes), count))
    types = tuple(int(t, 16) for t in parts[4].split(",")) if len(parts) > 4 else TYPES
    return epoch, first, sizes, types


def send(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    # a frame held in the plug stays charged to this socket's send buffer: room for a whole plug (4 MiB) of
    # them, and never block (a full buffer is an error, not a hang)
    s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 128 << 20)
    s.setblocking(False)
    s.bind((iface, 0))
    src = s.getsockname()[4][:6]
    for line in sys.stdin:
        if not line.split():
            continue
        if line.startswith("stream "):
            out.send(b"\xff" * 6 + src + struct.pack("!H", COMMAND) + line.strip().upper().encode())
            print("streaming", flush=True)
            continue
        if line.startswith("shell "):
            out.send(b"\xff" * 6 + src + struct.pack("!H", COMMAND) + b"SHELL " + line[6:].strip().encode())
            print("asked", flush=True)
            continue
        epoch, first, sizes, types = parse(line)
        for seq, size in zip(range(first, first + len(sizes)), sizes):
            try:
                s.send(frame(src, epoch, seq, size, types))
            except BlockingIOError:
                print("send buffer full at frame", seq, flush=True)
                return
        print("sent", len(sizes), flush=True)


def tap(iface):
    """A raw socket that sees every frame on IFACE, with the VLAN tag the kernel took off in its aux data and the
    time the kernel received it."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # room for a whole released plug (4 MiB of frames) while this process is slow to read them
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((iface, ETH_P_ALL))
    return s


def receive(s):
    """The next frame that arrived: None for one sent from here, "TYPE LENGTH SOURCE" for an untagged one, else
    (epoch, seq, type, length, vlan, inner)."""
    data, ancillary, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(20) + socket.CMSG_SPACE(16))
    if addr[2] == socket.PACKET_OUTGOING:
        return None
    ethertype = inner = struct.unpack("!H", data[12:14])[0]
    length, vlan, body = len(data), -1, 14
    received = time.time_ns()
    for level, kind, aux in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanos = struct.unpack("qq", aux[:16])
            received = seconds * 1_000_000_000 + nanos
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", aux[:20])
            if status & TP_STATUS_VLAN_VALID:
                ethertype, length, vlan = tpid or ETH_P_8021Q, length + 4, tci & 0xFFF
    if vlan < 0 and ethertype == ETH_P_8021Q:  # the tag still in the frame
        vlan, inner, body = struct.unpack("!H", data[14:16])[0] & 0xFFF, struct.unpack("!H", data[16:18])[0], 18
    at = data.find(MAGIC, body)
    if at >= 0 and at + 12 <= len(data):
        epoch, seq = struct.unpack("!II", data[at + 4:at + 12])
    elif data[6:8] == RUNT:
        epoch, seq = data[8], int.from_bytes(data[9:12], "big")
    else:
        return "%s %d %s" % (hex(ethertype), length, data[6:12].hex(":"))
    return epoch, seq, ethertype, length, vlan, inner, received


def remote(iface, tapped=True):
    s = tap(iface) if tapped else None
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out.bind((iface, 0))
    src = out.getsockname()[4][:6]
    for line in sys.stdin:
        if not line.split():
            continue
        if line.startswith("stream "):
            out.send(b"\xff" * 6 + src + struct.pack("!H", COMMAND) + line.strip().upper().encode())
            print("streaming", flush=True)
            continue
        if line.startswith("shell "):
            out.send(b"\xff" * 6 + src + struct.pack("!H", COMMAND) + b"SHELL " + line[6:].strip().encode())
            print("asked", flush=True)
            continue
        epoch, first, sizes, types = parse(line)
        missing = []
        for at in range(0, len(sizes), CHUNK):
            chunk = sizes[at:at + CHUNK]
            command = "%d %d %d %s %s" % (epoch, first + at, len(chunk), ",".join(map(str, chunk)),
                                          ",".join("%x" % t for t in types))
            out.send(b"\xff" * 6 + src + struct.pack("!H", COMMAND) + command.encode())
            # a runt's tag keeps only the sequence number's low 3 bytes
            waiting = {(first + at + i) & 0xFFFFFF for i in range(len(chunk))} if tapped else set()
            deadline = time.monotonic() + 20
            while waiting and time.monotonic() < deadline:
                if select.select([s], [], [], max(0, deadline - time.monotonic()))[0]:
                    got = receive(s)
                    if isinstance(got, tuple):
                        waiting.discard(got[1] & 0xFFFFFF)
            missing += sorted(waiting)
        print("missing " + ",".join(map(str, missing)) if missing else "sent %d" % len(sizes), flush=True)


def report(got, flush=True):
    if isinstance(got, tuple):
        print(got[0], got[1], hex(got[2]), got[3], got[4], hex(got[5]), got[6], flush=flush)
    elif got is not None:
        print("other", got, flush=flush)


def sniff(iface):
    s = tap(iface)
    drops = 0
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in readable:
            line = sys.stdin.readline()
            if not line:
                return
            if line.strip() == "sync":
                asked = time.time_ns()
                while select.select([s], [], [], 0)[0]:
                    got = receive(s)
                    report(got, flush=False)
                    if isinstance(got, tuple) and got[6] >= asked:
                        break
                print("synced", flush=True)
                continue
            drops += struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
            print("drops", drops, flush=True)
        if s in readable:
            report(receive(s))


if __name__ == "__main__":
    {"send": send, "remote": remote, "ask": lambda iface: remote(iface, False), "sniff": sniff}[sys.argv[1]](
        sys.argv[2])
