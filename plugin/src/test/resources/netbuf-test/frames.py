#!/usr/bin/env python3
"""Test-only frame tool for the output-commit tests (runs in a namespace the test made).

send IFACE : reads lines "EPOCH FIRST_SEQ COUNT [SIZE[,SIZE...]]" on stdin; for each, sends COUNT broadcast
             frames, cycling IPv4, IPv6 and ARP by sequence number, each tagged with magic, epoch and sequence, of
             SIZE bytes (Ethernet header included; one size for all, or one per frame); answers "sent N" when they
             are all on the wire of IFACE. A frame too short for the tag after its header (a runt, down to the
             14-byte header alone) carries it in its source MAC instead: 02:4e, then the epoch's low byte and the
             sequence number's low 3 bytes; its body is zeros.
sniff IFACE: prints "EPOCH SEQ ETHERTYPE" for every tagged frame that arrives on IFACE, in arrival order. A line
             "drops" on stdin is answered with "drops N": the frames its own socket lost so far (PACKET_STATISTICS),
             which must stay 0 for what it saw to mean anything.
"""
import select
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

MAGIC = b"NBT1"
RUNT = b"\x02\x4e"  # a runt's source MAC starts so: locally administered, unicast (a bridge forwards it)
ETH_P_ALL = 0x0003
TYPES = (0x0800, 0x86DD, 0x0806)  # IPv4, IPv6, ARP


def frame(src, epoch, seq, size):
    ethertype = TYPES[seq % 3]
    tag = MAGIC + struct.pack("!II", epoch, seq)
    if ethertype == 0x0806:
        # ARP request: htype 1, ptype IPv4, hlen 6, plen 4, op 1, sender/target addresses; tag after it
        body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, b"\xa9\xfe\x46\x02",
                           b"\x00" * 6, b"\xa9\xfe\x46\x01") + tag
    else:
        body = tag
    if 14 + len(body) > size:
        src = RUNT + bytes([epoch & 0xFF]) + (seq & 0xFFFFFF).to_bytes(3, "big")
        body = b""
    body = body + b"\x00" * max(0, size - 14 - len(body))
    return b"\xff" * 6 + src + struct.pack("!H", ethertype) + body


def send(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    # a frame held in the plug stays charged to this socket's send buffer: room for a whole plug (4 MiB) of
    # them, and never block (a full buffer is an error, not a hang)
    s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 128 << 20)
    s.setblocking(False)
    s.bind((iface, 0))
    src = s.getsockname()[4][:6]
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        epoch, first, count = int(parts[0]), int(parts[1]), int(parts[2])
        sizes = [int(x) for x in parts[3].split(",")] if len(parts) > 3 else [64]
        if len(sizes) == 1:
            sizes = sizes * count
        if len(sizes) != count:
            sys.exit("%d sizes for %d frames" % (len(sizes), count))
        for seq, size in zip(range(first, first + count), sizes):
            try:
                s.send(frame(src, epoch, seq, size))
            except BlockingIOError:
                print("send buffer full at frame", seq, flush=True)
                return
        print("sent", count, flush=True)


def sniff(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # room for a whole released plug (4 MiB of frames) while this process is slow to read them
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    s.bind((iface, ETH_P_ALL))
    drops = 0
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in readable:
            line = sys.stdin.readline()
            if not line:
                return
            drops += struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
            print("drops", drops, flush=True)
        if s not in readable:
            continue
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        ethertype = struct.unpack("!H", data[12:14])[0]
        at = data.find(MAGIC, 14)
        if at >= 0 and at + 12 <= len(data):
            epoch, seq = struct.unpack("!II", data[at + 4:at + 12])
        elif data[6:8] == RUNT:
            epoch, seq = data[8], int.from_bytes(data[9:12], "big")
        else:
            continue
        print(epoch, seq, hex(ethertype), flush=True)


if __name__ == "__main__":
    {"send": send, "sniff": sniff}[sys.argv[1]](sys.argv[2])
