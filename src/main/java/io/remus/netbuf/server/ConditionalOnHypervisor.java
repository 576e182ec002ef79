package io.remus.netbuf.server;

import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Map;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * The bean exists only when {@code netbuf-server.hypervisor} is {@link #value()} ({@code namespace} if unset). The
 * value is bound as {@link HypervisorProperties} binds it: a value that is neither fails the start naming the valid
 * ones.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@Conditional(ConditionalOnHypervisor.OnHypervisor.class)
public @interface ConditionalOnHypervisor {

    Hypervisor value();

    final class OnHypervisor implements Condition {

        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            Map<String, Object> attributes = metadata.getAnnotationAttributes(ConditionalOnHypervisor.class.getName());
            return attributes != null && attributes.get("value") == chosen(context.getEnvironment());
        }

        static Hypervisor chosen(Environment environment) {
            try {
                return Binder.get(environment).bind(HypervisorProperties.PROPERTY, Hypervisor.class)
                        .orElse(Hypervisor.NAMESPACE);
            } catch (BindException e) {
                throw new IllegalStateException(HypervisorProperties.PROPERTY + " must be namespace or xen, not '"
                        + environment.getProperty(HypervisorProperties.PROPERTY) + "'", e);
            }
        }
    }
}
