package io.remus.netbuf.server.api;

public class NotFoundException extends RuntimeException {

    private final String what;

    public NotFoundException(String what, String message) {
        super(message);
        this.what = what;
    }

    public String what() {
        return what;
    }
}
