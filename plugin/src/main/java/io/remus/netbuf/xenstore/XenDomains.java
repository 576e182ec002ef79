package io.remus.netbuf.xenstore;

import java.util.ArrayList;
import java.util.List;

/**
 * The domains Xen has, as xenstore describes them to dom0: each domain's name under {@code /local/domain/<domid>},
 * and its vifs from dom0's netback entries {@code /local/domain/0/backend/vif/<domid>/<devid>} (the device's
 * {@code vifname} when the config set one, else netback's {@code vif<domid>.<devid>}), with their hotplug status.
 */
public final class XenDomains {

    /** A vif of a domain as netback has it; {@code hotplugStatus} is "connected" once vif-bridge ran, or empty. */
    public record Vif(int devid, String name, String hotplugStatus) {
    }

    public record Domain(int domid, String name, List<Vif> vifs) {
    }

    private final Xenstore xenstore;

    public XenDomains(Xenstore xenstore) {
        this.xenstore = xenstore;
    }

    /** Every domain but dom0, by domid. */
    public List<Domain> guests() {
        List<Domain> out = new ArrayList<>();
        for (String id : xenstore.directory("/local/domain")) {
            int domid;
            try {
                domid = Integer.parseInt(id);
            } catch (NumberFormatException notADomain) {
                continue;
            }
            if (domid != 0) {
                out.add(new Domain(domid, xenstore.read("/local/domain/" + domid + "/name").orElse(""), vifs(domid)));
            }
        }
        out.sort(java.util.Comparator.comparingInt(Domain::domid));
        return out;
    }

    public List<Vif> vifs(int domid) {
        String backend = "/local/domain/0/backend/vif/" + domid;
        List<Vif> vifs = new ArrayList<>();
        for (String dev : xenstore.directory(backend)) {
            int devid = Integer.parseInt(dev);
            String name = xenstore.read(backend + "/" + dev + "/vifname").filter(s -> !s.isBlank())
                    .orElse("vif" + domid + "." + devid);
            vifs.add(new Vif(devid, name, xenstore.read(backend + "/" + dev + "/hotplug-status").orElse("")));
        }
        vifs.sort(java.util.Comparator.comparingInt(Vif::devid));
        return vifs;
    }
}
