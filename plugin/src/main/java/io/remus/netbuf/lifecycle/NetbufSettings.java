package io.remus.netbuf.lifecycle;

import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.RedirectFilter;

/**
 * What every new buffer is made with.
 *
 * @param ifbPrefix names of the ifbs this plugin creates ({@code PREFIX + buffer id}); reserved for the plugin
 */
public record NetbufSettings(IfbMode ifbMode, long limitBytes, int protocol, int priority, String ifbPrefix) {

    public static final String DEFAULT_IFB_PREFIX = "nbifb";

    public static NetbufSettings defaults() {
        return new NetbufSettings(IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES, RedirectFilter.ETH_P_ALL,
                RedirectFilter.DEFAULT_PRIORITY, DEFAULT_IFB_PREFIX);
    }

    public NetbufSettings withIfbMode(IfbMode mode) {
        return new NetbufSettings(mode, limitBytes, protocol, priority, ifbPrefix);
    }
}
