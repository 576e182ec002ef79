package io.remus.netbuf.persistence;

import java.sql.SQLException;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.core.NestedRuntimeException;

/**
 * The database refused to record something (read-only, full, unreachable). Names what was being recorded and the
 * database's own reason; the caller adds what that means for the kernel.
 */
public class NetbufDatabaseException extends RuntimeException {

    public NetbufDatabaseException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code what} could not be written: the database's reason, without the SQL, and the fix. */
    static NetbufDatabaseException writing(String what, NestedRuntimeException e) {
        return new NetbufDatabaseException("the netbuf database refused to record " + what + ": " + reason(e)
                + "; fix: make the database writable (for H2, the file of spring.datasource.url and its file system)",
                e);
    }

    /** The same failure, with what it means for the caller in front. */
    public NetbufDatabaseException in(String context) {
        NetbufDatabaseException e = new NetbufDatabaseException(context + ": " + getMessage(), getCause());
        for (Throwable t : getSuppressed()) {
            e.addSuppressed(t);
        }
        return e;
    }

    private static String reason(NestedRuntimeException e) {
        Throwable cause = NestedExceptionUtils.getMostSpecificCause(e);
        String text = String.valueOf(cause.getMessage());
        int sql = text.indexOf("; SQL statement:");
        if (sql >= 0) {
            text = text.substring(0, sql);
        }
        if (cause instanceof SQLException s && s.getSQLState() != null) {
            text += " (SQL state " + s.getSQLState() + ")";
        }
        return text.strip();
    }
}
