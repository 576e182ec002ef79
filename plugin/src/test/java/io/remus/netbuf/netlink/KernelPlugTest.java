package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.autoconfigure.KernelCapabilities;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The probe the kernel tests branch on agrees with what the plugin's health reads from /proc and /sys, and, inside
 * {@code UmlAsHostTest}'s guests, with what the run loaded: a test of either branch ran where it says it did.
 */
@Tag("host-kernel")
class KernelPlugTest {

    @Test
    void theProbeAgreesWithTheHealthCheckAndWithTheRun() {
        boolean present = KernelPlug.present();
        assertThat(KernelCapabilities.probe().get("sch_plug").present())
                .as("sch_plug in the plugin's capability probe").isEqualTo(present);
        String expected = System.getProperty(KernelPlug.EXPECTED_PROPERTY);
        if (expected != null) {
            assertThat(present ? "present" : "absent").as("sch_plug in this guest, whose run says it is " + expected
                    + " (a UML that loads it on demand needs its modules out of the guest's /lib/modules)")
                    .isEqualTo(expected);
        }
        System.out.println("sch_plug on this kernel: " + (present ? "present" : "absent"));
    }
}
