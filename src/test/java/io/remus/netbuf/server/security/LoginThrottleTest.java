package io.remus.netbuf.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The counting alone, on a clock the test moves: limit, backoff, its cap, the window, keys apart, the bound. */
class LoginThrottleTest {

    final TestClock clock = new TestClock();
    final LoginThrottle throttle = new LoginThrottle(clock);

    void fail(int times, String user, String address) {
        for (int i = 0; i < times; i++) {
            assertThat(throttle.refusedFor(user, address)).isZero();
            throttle.failed(user, address);
        }
    }

    @Test
    void theFifthFailureRefusesAMinuteEachFurtherOneDoublesUpTo15Minutes() {
        fail(4, "admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).isZero();
        throttle.failed("admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).isEqualTo(Duration.ofMinutes(1));
        for (long minutes : new long[] {2, 4, 8, 15, 15}) {
            clock.advance(throttle.refusedFor("admin", "10.0.0.1"));
            throttle.failed("admin", "10.0.0.1");
            assertThat(throttle.refusedFor("admin", "10.0.0.1")).isEqualTo(Duration.ofMinutes(minutes));
        }
        clock.advance(Duration.ofSeconds(14 * 60 + 59));
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void theUserAndTheAddressCountApartASuccessForgetsBoth() {
        fail(5, "admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.2")).as("the user, from elsewhere").isPositive();
        assertThat(throttle.refusedFor("other", "10.0.0.1")).as("the address, as another user").isPositive();
        assertThat(throttle.refusedFor("other", "10.0.0.2")).isZero();
        clock.advance(Duration.ofMinutes(1));
        throttle.succeeded("admin", "10.0.0.1");
        fail(4, "admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).as("counted afresh").isZero();
    }

    @Test
    void failuresAreForgottenAnHourAfterTheLast() {
        fail(4, "admin", "10.0.0.1");
        clock.advance(LoginThrottle.WINDOW.plusSeconds(1));
        fail(4, "admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).isZero();
        throttle.failed("admin", "10.0.0.1");
        assertThat(throttle.refusedFor("admin", "10.0.0.1")).isPositive();
    }

    @Test
    void madeUpNamesAndAddressesCannotGrowItPastItsBoundNorPushOutTheKeyUnderAttack() {
        for (int i = 0; i < 4; i++) {
            throttle.failed("admin", "10.0.0.1");
            for (int j = 0; j < LoginThrottle.MAX_KEYS / 4; j++) { // 5,000 new keys between two of its attempts
                throttle.failed("x".repeat(1000) + i + "-" + j, "10.1." + i + "." + j);
            }
        }
        assertThat(throttle.size()).isEqualTo(LoginThrottle.MAX_KEYS);
        throttle.failed("admin", "10.0.0.2");
        assertThat(throttle.refusedFor("admin", "10.0.0.3")).as("the user's 5th failure").isPositive();
    }

    @Test
    void aUserNameCountsByItsFirst64Characters() {
        String name = "n".repeat(LoginThrottle.NAME_CHARS);
        for (int i = 0; i < 5; i++) {
            throttle.failed(name + i, "10.0.0." + i);
        }
        assertThat(throttle.refusedFor(name + "z", "10.0.0.9")).isPositive();
    }
}
