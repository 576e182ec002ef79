package io.remus.netbuf.netlink;

/** The named device does not exist in the namespace the netlink socket belongs to. */
public class LinkNotFoundException extends NetlinkException {

    public LinkNotFoundException(String operation, String device, int libnlCode, String libnlText) {
        super(operation, device, libnlCode, libnlText,
                "check that the interface exists in this network namespace (ip link show " + device + ")");
    }
}
