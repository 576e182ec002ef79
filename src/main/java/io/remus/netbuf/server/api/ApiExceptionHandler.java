package io.remus.netbuf.server.api;

import com.fasterxml.jackson.databind.JsonMappingException;
import io.remus.netbuf.lifecycle.NetbufException;
import io.remus.netbuf.netlink.NetlinkException;
import io.remus.netbuf.persistence.ClaimRefusedException;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import io.remus.netbuf.server.domain.DomainConflictException;
import io.remus.netbuf.server.domain.DomainNotFoundException;
import io.remus.netbuf.server.domain.DomainStepException;
import io.remus.netbuf.service.DomainNotBufferedException;
import io.remus.netbuf.service.EpochFailedException;
import io.remus.netbuf.service.EpochRefusedException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.TypeMismatchException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error as an RFC 9457 problem detail whose {@code detail} says what was wrong, with a {@code field} (bad
 * input) or a {@code step} (a kernel or lifecycle step that failed, and {@code fix} when one is known).
 */
@RestControllerAdvice
public class ApiExceptionHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);

    @ExceptionHandler(BadRequestException.class)
    ProblemDetail badRequest(BadRequestException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid input", e.getMessage());
        p.setProperty("field", e.field());
        return p;
    }

    /** InterfaceName, NetworkNamespace and the like refuse bad values this way. */
    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail illegalArgument(IllegalArgumentException e) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid input", e.getMessage());
    }

    @ExceptionHandler(DomainNotFoundException.class)
    ProblemDetail domainNotFound(DomainNotFoundException e) {
        ProblemDetail p = problem(HttpStatus.NOT_FOUND, "Unknown domain", e.getMessage());
        p.setProperty("field", "name");
        return p;
    }

    @ExceptionHandler(NotFoundException.class)
    ProblemDetail notFound(NotFoundException e) {
        return problem(HttpStatus.NOT_FOUND, "Unknown " + e.what(), e.getMessage());
    }

    @ExceptionHandler(DomainConflictException.class)
    ProblemDetail conflict(DomainConflictException e) {
        return problem(HttpStatus.CONFLICT, "Domain state conflict", e.getMessage());
    }

    @ExceptionHandler(EpochRefusedException.class)
    ProblemDetail epochRefused(EpochRefusedException e) {
        return problem(HttpStatus.CONFLICT, "Epoch refused", e.getMessage());
    }

    @ExceptionHandler(DomainNotBufferedException.class)
    ProblemDetail notBuffered(DomainNotBufferedException e) {
        return problem(HttpStatus.CONFLICT, "Domain not buffered",
                e.getMessage() + ": start it with remus true (or it was failed over or stopped)");
    }

    @ExceptionHandler(ClaimRefusedException.class)
    ProblemDetail claimRefused(ClaimRefusedException e) {
        return problem(HttpStatus.CONFLICT, "Vif or ifb already held", e.getMessage());
    }

    @ExceptionHandler(EpochFailedException.class)
    ProblemDetail epochFailed(EpochFailedException e) {
        ProblemDetail p = kernelProblem("Epoch failed", e.getMessage(), e);
        p.setProperty("succeeded", e.succeeded());
        p.setProperty("failed", e.failed());
        return p;
    }

    @ExceptionHandler(DomainStepException.class)
    ProblemDetail domainStep(DomainStepException e) {
        ProblemDetail p = kernelProblem("Domain step failed", e.getMessage() + suppressed(e.getCause()), e);
        p.setProperty("step", e.step());
        return p;
    }

    /** 503: the netbuf database refused a record; the detail says what it means for the kernel, and the fix. */
    @ExceptionHandler(NetbufDatabaseException.class)
    ProblemDetail databaseRefused(NetbufDatabaseException e) {
        log.warn("Database refused a record: {}", e.getMessage());
        return problem(HttpStatus.SERVICE_UNAVAILABLE, "Database refused the record", e.getMessage());
    }

    @ExceptionHandler({NetbufException.class, NetlinkException.class})
    ProblemDetail kernel(RuntimeException e) {
        return kernelProblem("Kernel step failed", e.getMessage(), e);
    }

    /** 500: the request was fine, the host (kernel, modules, capabilities) was not; the fix goes in the detail. */
    private ProblemDetail kernelProblem(String title, String detail, Throwable e) {
        log.warn("{}: {}", title, detail);
        ProblemDetail p = problem(HttpStatus.INTERNAL_SERVER_ERROR, title, detail);
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof NetlinkException n) {
                p.setProperty("step", n.operation());
                p.setProperty("device", n.device());
                if (n.fix() != null) {
                    p.setProperty("fix", n.fix());
                }
                break;
            }
        }
        return p;
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException e,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        String detail = e.getBindingResult().getFieldErrors().stream()
                .map(f -> f.getField() + " " + f.getDefaultMessage()).sorted().collect(Collectors.joining("; "));
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid input", detail);
        e.getBindingResult().getFieldErrors().stream().map(f -> f.getField()).sorted().findFirst()
                .ifPresent(f -> p.setProperty("field", f));
        return ResponseEntity.badRequest().body(p);
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        ProblemDetail p;
        if (e.getCause() instanceof JsonMappingException m && !m.getPath().isEmpty()) {
            String field = m.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName()
                    : String.valueOf(r.getIndex())).collect(Collectors.joining("."));
            p = problem(HttpStatus.BAD_REQUEST, "Invalid input", field + " has the wrong type or is out of range");
            p.setProperty("field", field);
        } else {
            p = problem(HttpStatus.BAD_REQUEST, "Invalid input", "the request body is not valid JSON");
        }
        return ResponseEntity.badRequest().body(p);
    }

    @Override
    protected ResponseEntity<Object> handleTypeMismatch(TypeMismatchException e, HttpHeaders headers,
            HttpStatusCode status, WebRequest request) {
        String field = e.getPropertyName();
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid input", field + " must be a "
                + (e.getRequiredType() == null ? "different type" : e.getRequiredType().getSimpleName()));
        p.setProperty("field", field);
        return ResponseEntity.badRequest().body(p);
    }

    private static String suppressed(Throwable e) {
        if (e == null || e.getSuppressed().length == 0) {
            return "";
        }
        StringBuilder s = new StringBuilder();
        for (Throwable t : e.getSuppressed()) {
            s.append("; then: ").append(t.getMessage());
        }
        return s.toString();
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setTitle(title);
        return p;
    }
}
