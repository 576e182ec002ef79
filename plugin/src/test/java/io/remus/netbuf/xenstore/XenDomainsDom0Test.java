package io.remus.netbuf.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.Sh;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * In Xen's dom0 (the Xen harness boots it, with one PVH domU): the domains and vifs xenstore describes, read through
 * libxenstore over FFM, agree with what {@code xl} and {@code xenstore-*} say; a watch fires.
 */
@Tag("xen-dom0")
class XenDomainsDom0Test {

    @Test
    void theGuestAndItsNetbackVifAreReadFromXenstore() {
        List<String> xl = Sh.run("xl", "list").lines().skip(1).map(l -> l.split("\\s+")).filter(c -> !c[1].equals("0"))
                .map(c -> c[1] + " " + c[0]).toList();
        try (Xenstore xs = Xenstore.open()) {
            List<XenDomains.Domain> guests = new XenDomains(xs).guests();
            assertThat(guests).extracting(d -> d.domid() + " " + d.name()).as("as xl list has them")
                    .containsExactlyElementsOf(xl);
            XenDomains.Domain guest = guests.getFirst();
            assertThat(guest.vifs()).extracting(XenDomains.Vif::devid, XenDomains.Vif::name)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(0, "vif" + guest.domid() + ".0"));
            assertThat(guest.vifs().getFirst().hotplugStatus()).isEqualTo("connected");
            assertThat(xs.read("/local/domain/" + guest.domid() + "/no-such-node")).isEmpty();
            assertThat(xs.directory("/no/such/path")).isEmpty();
        }
    }

    @Test
    void aWatchFiresWhenItIsSetAndWhenTheNodeChanges() {
        try (Xenstore xs = Xenstore.open()) {
            xs.watch("/local/domain/0/netbuf-test", "t1");
            Optional<Xenstore.Event> first = xs.awaitEvent(5_000);
            assertThat(first).contains(new Xenstore.Event("/local/domain/0/netbuf-test", "t1"));
            Sh.run("xenstore-write", "/local/domain/0/netbuf-test/x", "1");
            assertThat(xs.awaitEvent(5_000)).contains(new Xenstore.Event("/local/domain/0/netbuf-test/x", "t1"));
            assertThat(xs.read("/local/domain/0/netbuf-test/x")).contains("1");
            xs.unwatch("/local/domain/0/netbuf-test", "t1");
            Sh.run("xenstore-rm", "/local/domain/0/netbuf-test");
            assertThat(xs.awaitEvent(300)).as("nothing after unwatch").isEmpty();
        }
    }
}
