/*
 * LD_PRELOAD shim for Debian's linux.uml 6.1 on hosts whose XSAVE area is larger than AVX's 832 bytes
 * (AVX-512, AMX). UML saves and restores its processes' FPU state with PTRACE_GETREGSET/SETREGSET NT_X86_XSTATE
 * and an 832-byte buffer; the host kernel refuses a SETREGSET that is not the whole XSAVE area (EFAULT), and UML
 * then panics at boot ("userspace - ptrace set fp regs failed, errno = 14"). Later UML kernels size the buffer
 * from CPUID; this shim does it for 6.1: it keeps each traced process's whole area from its last GETREGSET, and a
 * SETREGSET writes UML's 832 bytes over it and hands the kernel the whole area. A process not seen by a
 * GETREGSET yet gets the state beyond AVX in its initial form (its xstate_bv bits cleared).
 *
 * The state beyond AVX follows the host process, not the UML thread: threads of one guest process could see each
 * other's AVX-512 registers, so the guests that use this shim run with AVX-512 turned off for glibc
 * (GLIBC_TUNABLES) and Java (-XX:UseAVX=2). Built by src/uml/uml-xstate.sh; used by the UML test harness and by
 * src/uml/run-server.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NT_X86_XSTATE_NOTE 0x202
#define XSTATE_BV_OFFSET 512
#define AVX_END 832 /* legacy area, header, AVX upper halves */
#define PROBE_SIZE 65536
#define SLOTS 512

struct slot {
    pid_t pid;
    unsigned char *area;
};

static long (*real_ptrace)(enum __ptrace_request, pid_t, void *, void *);
static size_t full_size;
static struct slot slots[SLOTS];
static unsigned next_victim;

static long call_real(enum __ptrace_request request, pid_t pid, void *addr, void *data) {
    if (!real_ptrace) {
        real_ptrace = (long (*)(enum __ptrace_request, pid_t, void *, void *)) dlsym(RTLD_NEXT, "ptrace");
    }
    return real_ptrace(request, pid, addr, data);
}

static struct slot *slot_of(pid_t pid, int create) {
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].pid == pid && slots[i].area) {
            return &slots[i];
        }
    }
    if (!create) {
        return NULL;
    }
    struct slot *s = &slots[next_victim++ % SLOTS];
    if (!s->area) {
        s->area = calloc(1, PROBE_SIZE);
        if (!s->area) {
            return NULL;
        }
    }
    s->pid = pid;
    return s;
}

/* GETREGSET of the whole area into the pid's slot; sets full_size. */
static long get_whole(pid_t pid, struct slot *s) {
    struct iovec whole = {s->area, PROBE_SIZE};
    long rc = call_real(PTRACE_GETREGSET, pid, (void *) (uintptr_t) NT_X86_XSTATE_NOTE, &whole);
    if (rc == 0) {
        full_size = whole.iov_len;
    }
    return rc;
}

long ptrace(enum __ptrace_request request, ...) {
    va_list ap;
    va_start(ap, request);
    pid_t pid = va_arg(ap, pid_t);
    void *addr = va_arg(ap, void *);
    void *data = va_arg(ap, void *);
    va_end(ap);

    int xstate = (request == PTRACE_GETREGSET || request == PTRACE_SETREGSET)
            && (uintptr_t) addr == NT_X86_XSTATE_NOTE && data != NULL;
    if (!xstate) {
        return call_real(request, pid, addr, data);
    }
    struct iovec *iov = data;
    if (request == PTRACE_GETREGSET) {
        struct slot *s = slot_of(pid, 1);
        if (!s) {
            return call_real(request, pid, addr, data);
        }
        long rc = get_whole(pid, s);
        if (rc != 0) {
            return rc;
        }
        size_t n = iov->iov_len < full_size ? iov->iov_len : full_size;
        memcpy(iov->iov_base, s->area, n);
        iov->iov_len = n;
        return 0;
    }
    if (full_size == 0 || iov->iov_len >= full_size) {
        return call_real(request, pid, addr, data);
    }
    struct slot *s = slot_of(pid, 0);
    unsigned char *area;
    unsigned char scratch_owned = 0;
    if (s) {
        area = s->area;
    } else {
        area = calloc(1, full_size);
        if (!area) {
            errno = ENOMEM;
            return -1;
        }
        scratch_owned = 1;
    }
    memcpy(area, iov->iov_base, iov->iov_len);
    if (!s && iov->iov_len >= XSTATE_BV_OFFSET + 8) {
        uint64_t bv;
        memcpy(&bv, area + XSTATE_BV_OFFSET, sizeof bv);
        bv &= iov->iov_len >= AVX_END ? 0x7 : 0x3; /* components beyond the caller's bytes: initial state */
        memcpy(area + XSTATE_BV_OFFSET, &bv, sizeof bv);
    }
    struct iovec whole = {area, full_size};
    long rc = call_real(request, pid, addr, &whole);
    if (scratch_owned) {
        free(area);
    }
    return rc;
}
