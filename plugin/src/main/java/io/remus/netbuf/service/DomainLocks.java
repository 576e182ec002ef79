package io.remus.netbuf.service;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One lock per domain: a domain's buffers, epochs and protection change only under it. Several domains are locked
 * in one order (by name), so two batches over overlapping domains cannot deadlock.
 */
final class DomainLocks {

    private final ConcurrentMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    /** Runs {@code body} holding the domain's lock. */
    <T> T locked(String domain, Supplier<T> body) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code body} on the distinct {@code domains}, sorted by name, holding all their locks, taken in that
     * order.
     */
    <T> T lockedAll(Collection<String> domains, Function<List<String>, T> body) {
        List<String> names = domains.stream().distinct().sorted().toList(); // one lock order: no deadlock
        List<ReentrantLock> held = new ArrayList<>(names.size());
        try {
            for (String name : names) {
                ReentrantLock lock = lock(name);
                lock.lock();
                held.add(lock);
            }
            return body.apply(names);
        } finally {
            held.forEach(ReentrantLock::unlock);
        }
    }

    private ReentrantLock lock(String domain) {
        return locks.computeIfAbsent(domain, d -> new ReentrantLock());
    }
}
