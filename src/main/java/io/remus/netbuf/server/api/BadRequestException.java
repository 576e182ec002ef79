package io.remus.netbuf.server.api;

/** Bad input in a path or parameter; {@code field} names it. */
public class BadRequestException extends RuntimeException {

    private final String field;

    public BadRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
