/*
 * The C baseline of the netbuf benchmark: the same libnl3 calls the Java binding makes, timed in C.
 *
 * One process serves many rounds, so that the bench can interleave short rounds of Java and C and compare each
 * pair: it reads one command per line on stdin and answers each with the elapsed nanoseconds of its OPS
 * operations on one line (or "error: ..." and exits 1). Commands:
 *
 *   plug IFNAME OPS          plug buffer + release_one on IFNAME's plug qdisc (handle 4e42:), on a kept object
 *   up IFNAME OPS            set IFNAME up (it already is: one cheap round trip)
 *   ingress IFNAME OPS       add + delete IFNAME's ingress qdisc
 *   batch PREFIX N OPS       one epoch on N plug qdiscs (on ifbs PREFIX0..PREFIX<N-1>): buffer on all in one
 *                            sendmsg, then release_one on all in one sendmsg, as LibNl.plugBatch does (only the
 *                            last message asks for an ack)
 *   onebyone PREFIX N OPS    the same epoch one plug at a time, one round trip each, as PlugControl does
 *   domain VIFPREFIX N IFBPREFIX OPS
 *                            a domain of N vifs (VIFPREFIX0..) protected and stopped, as BufferInstaller.run does it
 *                            step by step in CREATE mode (ifbs IFBPREFIX0..): each step one link dump and the
 *                            step's requests for all N vifs in one sendmsg; see bench_domain. With N = 1, one
 *                            buffer installed and uninstalled, as the bench's FFM side runs it
 *   syscall OPS              getppid(), the cheapest system call
 *
 * With --idle-thread it first starts a thread that only sleeps: the process is then multi-threaded, as a JVM
 * always is, and glibc's malloc takes its arena lock on every call that the per-thread cache does not serve.
 *
 * Lookups (ifindexes, qdisc objects) are made before the clock starts. Build:
 *   gcc -O2 -o netbuf_bench netbuf_bench.c $(pkg-config --cflags --libs libnl-route-3.0)
 * and e.g.: echo "plug ifb0 1000" | ./netbuf_bench
 */
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/plug.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/action.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/link/inet6.h>
#include <linux/if_ether.h>
#include <linux/gen_stats.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#define PLUG_HANDLE 0x4e420000u
#define INGRESS_HANDLE 0xffff0000u
#define PLUG_LIMIT (4 * 1024 * 1024)
#define FILTER_PRIO 10

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		printf("error: %s: %s\n", what, nl_geterror(rc));
		exit(1);
	}
}

static int ifindex_of(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link;
	check(rtnl_link_get_kernel(sk, 0, name, &link), name);
	int ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex;
}

static struct rtnl_qdisc *plug_object(int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), PLUG_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "plug");
	return q;
}

/* Mirrors LibNl.plugBuffer / plugReleaseOne on a kept qdisc object (PlugControl). */
static long long bench_plug(struct nl_sock *sk, const char *ifname, long ops)
{
	struct rtnl_qdisc *q = plug_object(ifindex_of(sk, ifname));
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		check(rtnl_qdisc_plug_buffer(q), "plug_buffer");
		check(rtnl_qdisc_add(sk, q, 0), "buffer");
		check(rtnl_qdisc_plug_release_one(q), "plug_release_one");
		check(rtnl_qdisc_add(sk, q, 0), "release_one");
	}
	sched_yield(); /* as PlugRound in the bench: the TX softirq release_one scheduled runs inside the round */
	long long t = now_ns() - t0;
	rtnl_qdisc_put(q);
	return t;
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
static void ingress_add(struct nl_sock *sk, int ifindex)
{
	struct rtnl_qdisc *q = ingress(ifindex);
	check(rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL), "ingress add");
	rtnl_qdisc_put(q);
}

static void ingress_delete(struct nl_sock *sk, int ifindex)
{
	struct rtnl_qdisc *q = ingress(ifindex);
	check(rtnl_qdisc_delete(sk, q), "ingress delete");
	rtnl_qdisc_put(q);
}

static long long bench_ingress(struct nl_sock *sk, const char *ifname, long ops)
{
	int ifindex = ifindex_of(sk, ifname);
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		ingress_add(sk, ifindex);
		ingress_delete(sk, ifindex);
	}
	return now_ns() - t0;
}

/* Mirrors LibNl.linkSetUp: an ifindex-only "orig" and a change of IFF_UP. */
static void link_set_up(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct rtnl_link *changes = rtnl_link_alloc();
	rtnl_link_set_ifindex(orig, ifindex);
	rtnl_link_set_flags(changes, IFF_UP);
	check(rtnl_link_change(sk, orig, changes, 0), "link up");
	rtnl_link_put(changes);
	rtnl_link_put(orig);
}

static long long bench_up(struct nl_sock *sk, const char *ifname, long ops)
{
	int ifindex = ifindex_of(sk, ifname);
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++)
		link_set_up(sk, ifindex);
	return now_ns() - t0;
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

static char *batch_buf;

/*
 * The plug objects and the message buffer are made by the first batch or one-by-one command and kept, as the Java
 * side keeps its PlugControls and its socket's batch buffer: a fresh 128 KiB buffer each round would be fresh pages
 * (malloc maps that size anew), and each first touch of a page is a page fault, which costs tens of microseconds in
 * UML.
 */
static struct rtnl_qdisc **kept_plugs(struct nl_sock *sk, const char *prefix, int n)
{
	static char kept_prefix[64];
	static int kept_n;
	static struct rtnl_qdisc **q;
	if (q == NULL || kept_n != n || strcmp(kept_prefix, prefix) != 0) {
		for (int i = 0; q != NULL && i < kept_n; i++)
			rtnl_qdisc_put(q[i]);
		free(q);
		free(batch_buf);
		q = calloc(n, sizeof(*q));
		batch_buf = malloc((size_t) n * 128);
		for (int i = 0; i < n; i++) {
			char name[IFNAMSIZ];
			snprintf(name, sizeof(name), "%.8s%d", prefix, i);
			q[i] = plug_object(ifindex_of(sk, name));
		}
		snprintf(kept_prefix, sizeof(kept_prefix), "%s", prefix);
		kept_n = n;
		/* as LibNl.batchBuffer: room for every message in one datagram, and for an error answer to each */
		int bytes = n * 256 > 262144 ? n * 256 : 262144;
		nl_socket_set_buffer_size(sk, bytes, bytes);
	}
	return q;
}

static long long bench_batch(struct nl_sock *sk, const char *prefix, int n, long ops)
{
	static unsigned int seq = BATCH_SEQ;
	struct rtnl_qdisc **q = kept_plugs(sk, prefix, n);
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		if (plug_batch(sk, q, n, 0, batch_buf, seq) || plug_batch(sk, q, n, 1, batch_buf, seq + n)) {
			printf("error: a batch had failures\n");
			exit(1);
		}
		seq += 2 * n;
	}
	sched_yield(); /* as PlugRound in the bench: the TX softirq release_one scheduled runs inside the round */
	return now_ns() - t0;
}

/* The same epoch one plug at a time, one round trip each (rtnl_qdisc_add waits for its ack), as PlugControl does. */
static long long bench_one_by_one(struct nl_sock *sk, const char *prefix, int n, long ops)
{
	struct rtnl_qdisc **q = kept_plugs(sk, prefix, n);
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		for (int j = 0; j < n; j++) {
			check(rtnl_qdisc_plug_buffer(q[j]), "plug_buffer");
			check(rtnl_qdisc_add(sk, q[j], 0), "buffer");
		}
		for (int j = 0; j < n; j++) {
			check(rtnl_qdisc_plug_release_one(q[j]), "plug_release_one");
			check(rtnl_qdisc_add(sk, q[j], 0), "release_one");
		}
	}
	sched_yield();
	return now_ns() - t0;
}

/* The u32 filter on the vif's ingress qdisc at the buffer's priority, for every protocol. */
static struct rtnl_cls *redirect_filter(int vif)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	rtnl_tc_set_ifindex(TC_CAST(cls), vif);
	rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
	check(rtnl_tc_set_kind(TC_CAST(cls), "u32"), "u32 kind");
	rtnl_cls_set_prio(cls, FILTER_PRIO);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	return cls;
}

/* ---- a domain's buffers, a batch per step (BufferInstaller.run, NetlinkBatch, LibNl.send) ---- */

#define OWN_SEQ 0x10000000u

struct batch {
	char *buf;
	size_t off, cap;
	int n;
};

/* As LibNl.Requests.take: copies the message libnl built into *out to the end of the batch and frees it (out, not
 * the message: the build that fills it is an argument of the same call). */
static void batch_take(struct batch *b, int rc, struct nl_msg **out, const char *what)
{
	check(rc, what);
	struct nl_msg *msg = *out;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	size_t len = NLMSG_ALIGN(h->nlmsg_len);
	if (b->off + len > b->cap) {
		b->cap = 2 * (b->off + len);
		b->buf = realloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->off, h, h->nlmsg_len);
	b->off += len;
	b->n++;
	nlmsg_free(msg);
}

/* As LibNl.send and receiveUntil: sequence numbers, only the last asks for an ack, one nl_sendto, read until the
 * last answer; returns the number of failed requests. */
static int batch_send(struct nl_sock *sk, struct batch *b)
{
	static unsigned int seq = OWN_SEQ;
	if (b->n == 0)
		return 0;
	unsigned int first = seq;
	seq += b->n;
	size_t off = 0;
	for (int i = 0; i < b->n; i++) {
		struct nlmsghdr *c = (struct nlmsghdr *) (b->buf + off);
		c->nlmsg_flags = (c->nlmsg_flags | NLM_F_REQUEST) & ~NLM_F_ACK;
		if (i == b->n - 1)
			c->nlmsg_flags |= NLM_F_ACK;
		c->nlmsg_seq = first + i;
		c->nlmsg_pid = 0;
		off += NLMSG_ALIGN(c->nlmsg_len);
	}
	check(nl_sendto(sk, b->buf, b->off), "sendto");
	unsigned int last = first + b->n - 1;
	int failures = 0;
	b->off = 0;
	b->n = 0;
	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *data;
		int len = nl_recv(sk, &peer, &data, NULL);
		check(len, "recv");
		int done = 0;
		for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq >= first && h->nlmsg_seq <= last) {
				struct nlmsgerr *e = nlmsg_data(h);
				failures += e->error != 0;
				done |= h->nlmsg_seq == last;
			}
		}
		free(data);
		if (done)
			return failures;
	}
}

static void batch_ok(struct nl_sock *sk, struct batch *b, const char *step)
{
	if (batch_send(sk, b) != 0) {
		printf("error: %s: a request of the batch failed\n", step);
		exit(1);
	}
}

/* The step's link dump, as Netlink.linkTable: every link's index by name. */
static void lookup(struct nl_cache *cache, const char *prefix, int n, int *ifindex)
{
	for (int i = 0; i < n; i++) {
		char name[IFNAMSIZ];
		snprintf(name, sizeof(name), "%.8s%d", prefix, i);
		ifindex[i] = rtnl_link_name2i(cache, name);
	}
}

/* One link dump, and the ifindexes of PREFIX0..PREFIX<N-1> in it (and of PREFIX2's, if not NULL). */
static void resolve2(struct nl_sock *sk, const char *prefix, int n, int *ifindex, const char *prefix2, int *ifindex2)
{
	struct nl_cache *cache;
	check(rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache), "link dump");
	lookup(cache, prefix, n, ifindex);
	if (prefix2 != NULL)
		lookup(cache, prefix2, n, ifindex2);
	nl_cache_free(cache);
}

static void resolve(struct nl_sock *sk, const char *prefix, int n, int *ifindex)
{
	resolve2(sk, prefix, n, ifindex, NULL, NULL);
}

/* A link change on an ifindex-only orig, as LibNl.appendLinkSetUp / appendLinkNoIpv6Address. */
static void add_link_change(struct batch *b, int ifindex, int up)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct rtnl_link *changes = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	rtnl_link_set_ifindex(orig, ifindex);
	if (up)
		rtnl_link_set_flags(changes, IFF_UP);
	else
		check(rtnl_link_inet6_set_addr_gen_mode(changes, IN6_ADDR_GEN_MODE_NONE), "addrgenmode");
	batch_take(b, rtnl_link_build_change_request(orig, changes, 0, &msg), &msg, "link change");
	rtnl_link_put(changes);
	rtnl_link_put(orig);
}

/* One RTM_GETQDISC of the plug at the ifb's root, as LibNl.qdisc (the drain wait's read): its backlog in packets,
 * -1 if there is no such plug. */
static long plug_get_backlog(struct nl_sock *sk, int ifb)
{
	static unsigned int seq = 0x3f000000u;
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
	} req = {0};
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETQDISC;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO;
	req.h.nlmsg_seq = ++seq;
	req.t.tcm_ifindex = ifb;
	req.t.tcm_parent = TC_H_ROOT;
	check(nl_sendto(sk, &req, sizeof(req)), "get qdisc");
	long backlog = -1;
	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *data;
		int len = nl_recv(sk, &peer, &data, NULL);
		check(len, "recv");
		int done = 0;
		for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == RTM_NEWQDISC) {
				struct tcmsg *t = nlmsg_data(h);
				struct nlattr *kind = nlmsg_find_attr(h, sizeof(*t), TCA_KIND);
				struct nlattr *stats = nlmsg_find_attr(h, sizeof(*t), TCA_STATS2);
				struct nlattr *queue = stats ? nla_find(nla_data(stats), nla_len(stats), TCA_STATS_QUEUE) : NULL;
				if (t->tcm_handle == PLUG_HANDLE && kind && strcmp(nla_get_string(kind), "plug") == 0)
					backlog = queue ? ((struct gnet_stats_queue *) nla_data(queue))->qlen : 0;
			} else if (h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
			}
		}
		free(data);
		if (done)
			return backlog;
	}
}

/* release_indefinite on the plug of each of the n ifbs, in one batch */
static void release_all(struct nl_sock *sk, struct batch *b, const int *ifb, int n, const char *step)
{
	struct nl_msg *msg;
	for (int i = 0; i < n; i++) {
		struct rtnl_qdisc *q = plug_object(ifb[i]);
		check(rtnl_qdisc_plug_release_indefinite(q), "release_indefinite");
		batch_take(b, rtnl_qdisc_build_add_request(q, 0, &msg), &msg, "release_indefinite");
		rtnl_qdisc_put(q);
	}
	batch_ok(sk, b, step);
}

/*
 * A domain of N vifs protected and stopped, in BufferInstaller.run's requests, step by step: each step one link
 * dump to find the devices by name, then one sendmsg of the step's requests for all N (only the last asks for an
 * ack). ACQUIRE_IFB: the creates; a second dump for the new ifindexes; addrgenmode none and up for each.
 * ADD_INGRESS; ADD_REDIRECT; ADD_PLUG: the adds, then release_indefinite for each. RELEASE: release_indefinite
 * for each (a stop from PLUGGED passes through RELEASED). REMOVE_PLUG: release_indefinite
 * for each, one get per plug (the drain wait: nothing is queued here, so one look), the deletes. REMOVE_REDIRECT,
 * REMOVE_INGRESS, RELEASE_IFB (the ifbs deleted).
 */
static long long bench_domain(struct nl_sock *sk, const char *vifprefix, int n, const char *ifbprefix, long ops)
{
	static struct batch b;
	int *vif = calloc(n, sizeof(int)), *ifb = calloc(n, sizeof(int));
	int bytes = n * 1024 > 262144 ? n * 1024 : 262144; /* as LibNl.send */
	nl_socket_set_buffer_size(sk, bytes, bytes);
	long long t0 = now_ns();
	for (long op = 0; op < ops; op++) {
		struct nl_msg *msg;
		/* ACQUIRE_IFB */
		for (int i = 0; i < n; i++) {
			char name[IFNAMSIZ];
			snprintf(name, sizeof(name), "%.8s%d", ifbprefix, i);
			struct rtnl_link *link = rtnl_link_alloc();
			rtnl_link_set_name(link, name);
			check(rtnl_link_set_type(link, "ifb"), "ifb type");
			batch_take(&b, rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg), &msg, "ifb add");
			rtnl_link_put(link);
		}
		batch_ok(sk, &b, "ACQUIRE_IFB create");
		resolve(sk, ifbprefix, n, ifb);
		for (int i = 0; i < n; i++) {
			add_link_change(&b, ifb[i], 0);
			add_link_change(&b, ifb[i], 1);
		}
		batch_ok(sk, &b, "ACQUIRE_IFB up");
		/* ADD_INGRESS */
		resolve(sk, vifprefix, n, vif);
		for (int i = 0; i < n; i++) {
			struct rtnl_qdisc *q = ingress(vif[i]);
			batch_take(&b, rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_EXCL, &msg), &msg, "ingress add");
			rtnl_qdisc_put(q);
		}
		batch_ok(sk, &b, "ADD_INGRESS");
		/* ADD_REDIRECT */
		resolve2(sk, vifprefix, n, vif, ifbprefix, ifb); /* one dump finds both, as on the Java side */
		for (int i = 0; i < n; i++) {
			struct rtnl_cls *cls = redirect_filter(vif[i]);
			struct rtnl_act *act = rtnl_act_alloc();
			check(rtnl_u32_add_key_uint32(cls, 0, 0, -4, 0), "u32 key");
			check(rtnl_u32_set_cls_terminal(cls), "u32 terminal");
			check(rtnl_tc_set_kind(TC_CAST(act), "mirred"), "mirred kind");
			check(-abs(rtnl_mirred_set_action(act, TCA_EGRESS_REDIR)), "mirred action");
			check(rtnl_mirred_set_policy(act, TC_ACT_STOLEN), "mirred policy");
			check(rtnl_mirred_set_ifindex(act, ifb[i]), "mirred ifindex");
			check(rtnl_u32_add_action(cls, act), "u32 action");
			batch_take(&b, rtnl_cls_build_add_request(cls, NLM_F_CREATE | NLM_F_EXCL, &msg), &msg, "redirect add");
			rtnl_act_put(act);
			rtnl_cls_put(cls);
		}
		batch_ok(sk, &b, "ADD_REDIRECT");
		/* ADD_PLUG */
		resolve(sk, ifbprefix, n, ifb);
		for (int i = 0; i < n; i++) {
			struct rtnl_qdisc *q = plug_object(ifb[i]);
			check(rtnl_qdisc_plug_set_limit(q, PLUG_LIMIT), "plug limit");
			batch_take(&b, rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_EXCL, &msg), &msg, "plug add");
			rtnl_qdisc_put(q);
		}
		batch_ok(sk, &b, "ADD_PLUG");
		release_all(sk, &b, ifb, n, "ADD_PLUG release");
		/* RELEASE: a stop from PLUGGED lets out what the plugs hold first */
		resolve(sk, ifbprefix, n, ifb);
		release_all(sk, &b, ifb, n, "RELEASE");
		/* REMOVE_PLUG */
		resolve(sk, ifbprefix, n, ifb);
		release_all(sk, &b, ifb, n, "REMOVE_PLUG release");
		for (int i = 0; i < n; i++) {
			if (plug_get_backlog(sk, ifb[i]) != 0) {
				printf("error: the plug on %s%d is gone or holds frames\n", ifbprefix, i);
				exit(1);
			}
		}
		for (int i = 0; i < n; i++) {
			struct rtnl_qdisc *q = plug_object(ifb[i]);
			batch_take(&b, rtnl_qdisc_build_delete_request(q, &msg), &msg, "plug delete");
			rtnl_qdisc_put(q);
		}
		batch_ok(sk, &b, "REMOVE_PLUG");
		/* REMOVE_REDIRECT */
		resolve(sk, vifprefix, n, vif);
		for (int i = 0; i < n; i++) {
			struct rtnl_cls *cls = redirect_filter(vif[i]);
			batch_take(&b, rtnl_cls_build_delete_request(cls, 0, &msg), &msg, "redirect delete");
			rtnl_cls_put(cls);
		}
		batch_ok(sk, &b, "REMOVE_REDIRECT");
		/* REMOVE_INGRESS */
		resolve(sk, vifprefix, n, vif);
		for (int i = 0; i < n; i++) {
			struct rtnl_qdisc *q = ingress(vif[i]);
			batch_take(&b, rtnl_qdisc_build_delete_request(q, &msg), &msg, "ingress delete");
			rtnl_qdisc_put(q);
		}
		batch_ok(sk, &b, "REMOVE_INGRESS");
		/* RELEASE_IFB */
		resolve(sk, ifbprefix, n, ifb);
		for (int i = 0; i < n; i++) {
			struct rtnl_link *link = rtnl_link_alloc();
			rtnl_link_set_ifindex(link, ifb[i]);
			batch_take(&b, rtnl_link_build_delete_request(link, &msg), &msg, "ifb delete");
			rtnl_link_put(link);
		}
		batch_ok(sk, &b, "RELEASE_IFB");
	}
	long long t = now_ns() - t0;
	free(vif);
	free(ifb);
	return t;
}

static long long bench_syscall(long ops)
{
	long long t0 = now_ns();
	for (long i = 0; i < ops; i++)
		getppid();
	return now_ns() - t0;
}

static void *sleep_forever(void *unused)
{
	(void) unused;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--idle-thread") == 0) {
		pthread_t idle;
		pthread_create(&idle, NULL, sleep_forever, NULL);
	}
	struct nl_sock *sk = nl_socket_alloc();
	check(nl_connect(sk, NETLINK_ROUTE), "connect");
	/* as LibNl.openSocket: one recvmsg per message, no MSG_PEEK */
	nl_socket_set_msg_buf_size(sk, 64 * 1024);
	nl_socket_disable_msg_peek(sk);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char line[512], a[64], b[64];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		long n, ops;
		long long t;
		if (sscanf(line, "plug %63s %ld", a, &ops) == 2)
			t = bench_plug(sk, a, ops);
		else if (sscanf(line, "up %63s %ld", a, &ops) == 2)
			t = bench_up(sk, a, ops);
		else if (sscanf(line, "ingress %63s %ld", a, &ops) == 2)
			t = bench_ingress(sk, a, ops);
		else if (sscanf(line, "batch %63s %ld %ld", a, &n, &ops) == 3)
			t = bench_batch(sk, a, (int) n, ops);
		else if (sscanf(line, "onebyone %63s %ld %ld", a, &n, &ops) == 3)
			t = bench_one_by_one(sk, a, (int) n, ops);
		else if (sscanf(line, "domain %63s %ld %63s %ld", a, &n, b, &ops) == 4)
			t = bench_domain(sk, a, (int) n, b, ops);
		else if (sscanf(line, "syscall %ld", &ops) == 1)
			t = bench_syscall(ops);
		else {
			printf("error: unknown command: %s", line);
			return 1;
		}
		printf("%lld\n", t);
	}
	nl_socket_free(sk);
	return 0;
}
