package io.remus.netbuf.model;

/** Where a buffer is in its lifecycle; each forward state is one kernel step further than the one before. */
public enum BufferState {
    FREE, IFB_UP, INGRESS, REDIRECTED, PLUGGED, RELEASED
}
