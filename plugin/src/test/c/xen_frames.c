/*
 * The output-commit tests' frame sender inside the Xen domU (a busybox initramfs: no python). Dom0 sends it
 * commands as frames of ethertype 0x88b5 on the domU's vif, "EPOCH FIRST_SEQ COUNT SIZES TYPES" (SIZES one size
 * or COUNT of them, comma-separated; TYPES hex ethertypes, frame SEQ taking TYPES[SEQ % n]); it sends the tagged
 * frames netbuf-test/frames.py makes (see there), through netfront. It answers nothing: dom0 sees its frames
 * arrive on the vif. "STREAM EPOCH FIRST_SEQ INTERVAL_US" starts a stream of numbered frames that never ends;
 * "SHELL COMMAND" runs COMMAND with /bin/sh in the background (the guest-view tests' address and server). Static,
 * so the initramfs needs no libc: gcc -static -O2 -o xen-frames xen_frames.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMMAND 0x88b5
#define VLAN_ID 10
#define MAX_FRAMES 2048

static unsigned char mac[6];

static int put16(unsigned char *p, unsigned v) { p[0] = v >> 8; p[1] = v; return 2; }
static int put32(unsigned char *p, unsigned v) { put16(p, v >> 16); put16(p + 2, v); return 4; }

/* One frame as frames.py's frame() makes it; returns its length. */
static int frame(unsigned char *f, unsigned epoch, unsigned seq, int size, unsigned type)
{
    unsigned char body[64];
    int n = 0, h = 12;
    memset(f, 0, size);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    h += put16(f + h, type);
    if (type == 0x8100) {
        h += put16(f + h, VLAN_ID);
        h += put16(f + h, 0x0800);
    }
    if (type == 0x0806) { /* ARP request, the tag after it */
        n += put16(body + n, 1); n += put16(body + n, 0x0800); body[n++] = 6; body[n++] = 4;
        n += put16(body + n, 1);
        memcpy(body + n, mac, 6); n += 6;
        memcpy(body + n, "\xa9\xfe\x46\x02", 4); n += 4;
        memset(body + n, 0, 6); n += 6;
        memcpy(body + n, "\xa9\xfe\x46\x01", 4); n += 4;
    }
    memcpy(body + n, "NBT1", 4); n += 4;
    n += put32(body + n, epoch);
    n += put32(body + n, seq);
    if (h + n > size) { /* a runt: the tag goes into the source MAC */
        f[6] = 0x02; f[7] = 0x4e; f[8] = epoch; f[9] = seq >> 16; f[10] = seq >> 8; f[11] = seq;
    } else {
        memcpy(f + h, body, n);
    }
    return size;
}

int main(int argc, char **argv)
{
    const char *ifname = argc > 1 ? argv[1] : "eth0";
    int s = socket(AF_PACKET, SOCK_RAW, htons(COMMAND));
    struct ifreq ifr = {0};
    struct sockaddr_ll at = {.sll_family = AF_PACKET, .sll_protocol = htons(COMMAND)};
    int sndbuf = 32 << 20;
    static char command[2048];
    static unsigned char f[2048];
    static int sizes[MAX_FRAMES];
    unsigned types[16];

    if (s < 0 || !(at.sll_ifindex = if_nametoindex(ifname))
        || bind(s, (struct sockaddr *)&at, sizeof at) < 0) {
        perror("NETBUF_FRAMES_FAILED socket on the interface");
        return 1;
    }
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
        perror("NETBUF_FRAMES_FAILED SIOCGIFHWADDR");
        return 1;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    signal(SIGCHLD, SIG_IGN); /* shell commands' children are not waited for */
    printf("NETBUF_FRAMES_READY on %s\n", ifname);
    fflush(stdout);
    for (;;) {
        ssize_t got = recv(s, command, sizeof command - 1, 0);
        unsigned epoch, first, count, ntypes = 0, i;
        int nsizes = 0, size = 0, used = 0;
        char *p;
        if (got < 14)
            continue;
        command[got] = 0;
        if (sscanf(command + 14, "STREAM %u %u %u", &epoch, &first, &count) == 3) {
            /* numbered frames for ever, one every COUNT microseconds: the failover tests' stream. The number is
               in this process's memory, so a backup resumed from a checkpoint sends on from the number it had.
               The qdisc is bypassed so that a number is used only once netfront has taken its frame: through the
               qdisc, a frame sent while the carrier is off (netfront reconnecting after a restore, ~1.5 s under
               TCG) is dropped by the noop qdisc with send() succeeding, so the backup's first numbers never
               reached the wire and S looked higher than it was. Bypassed, send() fails with ENOBUFS instead. */
            int bypass = 1;
            if (setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof bypass) < 0) {
                perror("NETBUF_FRAMES_FAILED PACKET_QDISC_BYPASS");
                return 1;
            }
            printf("NETBUF_FRAMES streaming from %u every %u us\n", first, count);
            fflush(stdout);
            for (unsigned seq = first;; seq++) {
                int len = frame(f, epoch, seq, 64, 0x0800);
                while (send(s, f, len, 0) < 0 && (errno == ENOBUFS || errno == EAGAIN))
                    usleep(1000);
                usleep(count);
            }
        }
        if (strncmp(command + 14, "SHELL ", 6) == 0) {
            /* a shell command for the guest-view tests (an address, a server); its output goes to the console */
            printf("NETBUF_FRAMES shell: %s\n", command + 20);
            fflush(stdout);
            if (fork() == 0) {
                execl("/bin/sh", "sh", "-c", command + 20, (char *)NULL);
                _exit(127);
            }
            continue;
        }
        if (sscanf(command + 14, "%u %u %u %n", &epoch, &first, &count, &used) != 3 || count > MAX_FRAMES) {
            printf("NETBUF_FRAMES bad command: %s\n", command + 14);
            continue;
        }
        for (p = command + 14 + used; sscanf(p, "%d%n", &size, &used) == 1 && nsizes < MAX_FRAMES; p += used) {
            sizes[nsizes++] = size;
            if (*(p += used) != ',')
                break;
            used = 1;
        }
        while (*p == ' ')
            p++;
        while (ntypes < 16 && sscanf(p, "%x%n", &types[ntypes], &used) == 1) {
            ntypes++;
            p += used;
            if (*p++ != ',')
                break;
        }
        if (nsizes == 0 || (nsizes != 1 && nsizes != (int)count) || ntypes == 0) {
            printf("NETBUF_FRAMES bad command: %s\n", command + 14);
            continue;
        }
        for (i = 0; i < count; i++) {
            unsigned seq = first + i;
            int len = frame(f, epoch, seq, sizes[nsizes == 1 ? 0 : i], types[seq % ntypes]);
            /* a full queue on eth0 (netfront's ring taken) drops the frame with ENOBUFS: wait and send it again */
            while (send(s, f, len, 0) < 0) {
                if (errno != ENOBUFS && errno != EAGAIN) {
                    printf("NETBUF_FRAMES send of seq %u (%d bytes) failed: %s\n", seq, len, strerror(errno));
                    break;
                }
                usleep(1000);
            }
        }
    }
}
