/*
 * The C baseline of the netbuf benchmark: the same libnl3 calls the Java binding makes, timed in C.
 *
 *   netbuf_bench plug    IFNAME OPS WARMUP  plug buffer + release_one on IFNAME's plug qdisc (handle 4e42:)
 *   netbuf_bench ingress IFNAME OPS WARMUP  add + delete IFNAME's ingress qdisc
 *   netbuf_bench up      IFNAME OPS WARMUP  set IFNAME up (it already is: one cheap round trip)
 *   netbuf_bench batch   PREFIX N OPS WARMUP  one epoch on N plug qdiscs (on ifbs PREFIX0..PREFIX<N-1>): buffer on
 *                                             all in one sendmsg, then release_one on all in one sendmsg, as
 *                                             LibNl.plugBatch does (only the last message asks for an ack)
 *
 * Runs WARMUP operations untimed (the process's first pages and libnl's caches), then prints the elapsed
 * nanoseconds of OPS operations on one line. Build:
 *   gcc -O2 -o netbuf_bench netbuf_bench.c $(pkg-config --cflags --libs libnl-route-3.0)
 */
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/plug.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/msg.h>
#include <time.h>

#define PLUG_HANDLE 0x4e420000u
#define INGRESS_HANDLE 0xffff0000u

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", what, nl_geterror(rc));
		exit(1);
	}
}

/* Mirrors LibNl.plugBuffer / plugReleaseOne on a kept qdisc object. */
static void bench_plug(struct nl_sock *sk, int ifindex, long ops, long warmup)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), PLUG_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "plug");
	long long t0 = 0;
	for (long i = -warmup; i < ops; i++) {
		if (i == 0)
			t0 = now_ns();
		check(rtnl_qdisc_plug_buffer(q), "plug_buffer");
		check(rtnl_qdisc_add(sk, q, 0), "buffer");
		check(rtnl_qdisc_plug_release_one(q), "plug_release_one");
		check(rtnl_qdisc_add(sk, q, 0), "release_one");
	}
	printf("%lld\n", now_ns() - t0);
	rtnl_qdisc_put(q);
}

static struct rtnl_qdisc *ingress(int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "ingress");
	return q;
}

/* Mirrors LibNl.ingressAdd / ingressDelete: a fresh object per call. */
static void bench_ingress(struct nl_sock *sk, int ifindex, long ops, long warmup)
{
	long long t0 = 0;
	for (long i = -warmup; i < ops; i++) {
		if (i == 0)
			t0 = now_ns();
		struct rtnl_qdisc *q = ingress(ifindex);
		check(rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL), "ingress add");
		rtnl_qdisc_put(q);
		q = ingress(ifindex);
		check(rtnl_qdisc_delete(sk, q), "ingress delete");
		rtnl_qdisc_put(q);
	}
	printf("%lld\n", now_ns() - t0);
}

/* Mirrors LibNl.linkSetUp: an ifindex-only "orig" and a change of IFF_UP. */
static void bench_up(struct nl_sock *sk, int ifindex, long ops, long warmup)
{
	long long t0 = 0;
	for (long i = -warmup; i < ops; i++) {
		if (i == 0)
			t0 = now_ns();
		struct rtnl_link *orig = rtnl_link_alloc();
		struct rtnl_link *changes = rtnl_link_alloc();
		rtnl_link_set_ifindex(orig, ifindex);
		rtnl_link_set_flags(changes, IFF_UP);
		check(rtnl_link_change(sk, orig, changes, 0), "link up");
		rtnl_link_put(changes);
		rtnl_link_put(orig);
	}
	printf("%lld\n", now_ns() - t0);
}

#define BATCH_SEQ 0x40000000u

/* Mirrors LibNl.plugBatch: set the action, build each request, concatenate, one nl_sendto, read until the last ack. */
static int plug_batch(struct nl_sock *sk, struct rtnl_qdisc **q, int n, int action, char *buf, unsigned int seq)
{
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		if (action == 0)
			check(rtnl_qdisc_plug_buffer(q[i]), "plug_buffer");
		else
			check(rtnl_qdisc_plug_release_one(q[i]), "plug_release_one");
		struct nl_msg *msg;
		check(rtnl_qdisc_build_add_request(q[i], 0, &msg), "build");
		struct nlmsghdr *h = nlmsg_hdr(msg);
		memcpy(buf + off, h, h->nlmsg_len);
		struct nlmsghdr *c = (struct nlmsghdr *) (buf + off);
		c->nlmsg_flags = (c->nlmsg_flags | NLM_F_REQUEST) & ~NLM_F_ACK;
		if (i == n - 1)
			c->nlmsg_flags |= NLM_F_ACK;
		c->nlmsg_seq = seq + i;
		c->nlmsg_pid = 0;
		off += NLMSG_ALIGN(h->nlmsg_len);
		nlmsg_free(msg);
	}
	check(nl_sendto(sk, buf, off), "sendto");
	int failures = 0;
	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *data;
		int len = nl_recv(sk, &peer, &data, NULL);
		check(len, "recv");
		int done = 0;
		for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq >= seq && h->nlmsg_seq < seq + n) {
				struct nlmsgerr *e = nlmsg_data(h);
				failures += e->error != 0;
				done |= h->nlmsg_seq == seq + n - 1;
			}
		}
		free(data);
		if (done)
			return failures;
	}
}

static void bench_batch(struct nl_sock *sk, const char *prefix, int n, long ops, long warmup)
{
	struct rtnl_qdisc **q = calloc(n, sizeof(*q));
	char *buf = malloc((size_t) n * 128);
	for (int i = 0; i < n; i++) {
		char name[IFNAMSIZ];
		struct rtnl_link *link;
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		check(rtnl_link_get_kernel(sk, 0, name, &link), name);
		q[i] = rtnl_qdisc_alloc();
		rtnl_tc_set_ifindex(TC_CAST(q[i]), rtnl_link_get_ifindex(link));
		rtnl_tc_set_parent(TC_CAST(q[i]), TC_H_ROOT);
		rtnl_tc_set_handle(TC_CAST(q[i]), PLUG_HANDLE);
		rtnl_tc_set_kind(TC_CAST(q[i]), "plug");
		rtnl_link_put(link);
	}
	nl_socket_set_buffer_size(sk, n * 256 > 262144 ? n * 256 : 262144, n * 256 > 262144 ? n * 256 : 262144);
	unsigned int seq = BATCH_SEQ;
	long long t0 = 0;
	for (long i = -warmup; i < ops; i++) {
		if (i == 0)
			t0 = now_ns();
		if (plug_batch(sk, q, n, 0, buf, seq) || plug_batch(sk, q, n, 1, buf, seq + n)) {
			fprintf(stderr, "batch had failures\n");
			exit(1);
		}
		seq += 2 * n;
	}
	printf("%lld\n", now_ns() - t0);
	for (int i = 0; i < n; i++)
		rtnl_qdisc_put(q[i]);
	free(q);
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "batch") == 0) {
		struct nl_sock *bsk = nl_socket_alloc();
		check(nl_connect(bsk, NETLINK_ROUTE), "connect");
		nl_socket_set_msg_buf_size(bsk, 64 * 1024);
		nl_socket_disable_msg_peek(bsk);
		bench_batch(bsk, argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
		nl_socket_free(bsk);
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: %s plug|ingress|up IFNAME OPS WARMUP | batch PREFIX N OPS WARMUP\n", argv[0]);
		return 2;
	}
	struct nl_sock *sk = nl_socket_alloc();
	check(nl_connect(sk, NETLINK_ROUTE), "connect");
	/* as LibNl.openSocket: one recvmsg per message, no MSG_PEEK */
	nl_socket_set_msg_buf_size(sk, 64 * 1024);
	nl_socket_disable_msg_peek(sk);
	struct rtnl_link *link;
	check(rtnl_link_get_kernel(sk, 0, argv[2], &link), argv[2]);
	int ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	long ops = atol(argv[3]), warmup = atol(argv[4]);
	if (strcmp(argv[1], "plug") == 0)
		bench_plug(sk, ifindex, ops, warmup);
	else if (strcmp(argv[1], "ingress") == 0)
		bench_ingress(sk, ifindex, ops, warmup);
	else
		bench_up(sk, ifindex, ops, warmup);
	nl_socket_free(sk);
	return 0;
}
