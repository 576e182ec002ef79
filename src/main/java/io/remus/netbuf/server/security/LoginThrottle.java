package io.remus.netbuf.server.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Failed logins, counted per user name and per remote address, in memory. From a key's {@link #LIMIT}th failure
 * (failures are forgotten {@link #WINDOW} after a key's last one) it is refused for {@link #BACKOFF}, doubled at each
 * further failure up to {@link #MAX_BACKOFF}; a success forgets its user and address. The map is bounded: at most
 * {@link #MAX_KEYS} keys, the least recently used dropped first (an attacker's own attempts keep the key it attacks
 * recent), and a user name counts by its first {@value #NAME_CHARS} characters.
 */
public class LoginThrottle {

    public static final int LIMIT = 5;
    public static final Duration WINDOW = Duration.ofHours(1);
    public static final Duration BACKOFF = Duration.ofMinutes(1);
    public static final Duration MAX_BACKOFF = Duration.ofMinutes(15);
    public static final int MAX_KEYS = 10_000;
    static final int NAME_CHARS = 64;

    private static final class Failures {
        int count;
        Instant last;
        Instant refusedUntil = Instant.MIN;
    }

    private final Clock clock;
    private final Map<String, Failures> keys = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Failures> eldest) {
            return size() > MAX_KEYS;
        }
    };

    public LoginThrottle(Clock clock) {
        this.clock = clock;
    }

    /** How much longer attempts as this user or from this address are refused; zero if they are not. */
    public synchronized Duration refusedFor(String user, String address) {
        Instant now = clock.instant();
        Duration longest = Duration.ZERO;
        for (String key : keys(user, address)) {
            Failures f = keys.get(key);
            if (f != null && f.refusedUntil.isAfter(now)) {
                Duration left = Duration.between(now, f.refusedUntil);
                longest = left.compareTo(longest) > 0 ? left : longest;
            }
        }
        return longest;
    }

    public synchronized void failed(String user, String address) {
        Instant now = clock.instant();
        for (String key : keys(user, address)) {
            Failures f = keys.computeIfAbsent(key, k -> new Failures());
            if (f.last != null && f.last.plus(WINDOW).isBefore(now)) {
                f.count = 0;
            }
            f.count++;
            f.last = now;
            if (f.count >= LIMIT) {
                f.refusedUntil = now.plus(backoff(f.count - LIMIT));
            }
        }
    }

    public synchronized void succeeded(String user, String address) {
        keys(user, address).forEach(keys::remove);
    }

    synchronized int size() {
        return keys.size();
    }

    private static Duration backoff(int beyondLimit) {
        Duration d = BACKOFF.multipliedBy(1L << Math.min(beyondLimit, 20));
        return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
    }

    private static List<String> keys(String user, String address) {
        String name = user == null ? "" : user.substring(0, Math.min(user.length(), NAME_CHARS));
        return List.of("user " + name, "address " + address);
    }
}
