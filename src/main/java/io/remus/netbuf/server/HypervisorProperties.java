package io.remus.netbuf.server;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Which hypervisor the server manages ({@code netbuf-server.hypervisor}).
 *
 * @param hypervisor {@code namespace}: stand-in domains the server makes itself (a network namespace and veth pairs
 *                   each), for machines without Xen; {@code xen}: the domains Xen has, read from xenstore in dom0
 */
@ConfigurationProperties("netbuf-server")
public record HypervisorProperties(@DefaultValue("namespace") Hypervisor hypervisor) {

    /** The property, for {@code @ConditionalOnProperty}. */
    public static final String PROPERTY = "netbuf-server.hypervisor";

    public enum Hypervisor {
        NAMESPACE, XEN
    }
}
