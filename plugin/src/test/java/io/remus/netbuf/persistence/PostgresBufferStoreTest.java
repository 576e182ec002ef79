package io.remus.netbuf.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * {@link BufferStore} on PostgreSQL: a throwaway cluster of this JVM's own ({@link PostgresServer}), or the server
 * named by {@code NETBUF_TEST_PG_URL}. A fresh database per test, behind a Hikari pool as a Spring Boot host would
 * have it (closed after the test).
 */
class PostgresBufferStoreTest extends BufferStoreContract {

    private final List<HikariDataSource> pools = new ArrayList<>();

    @Override
    protected DataSource dataSource() {
        return pooled(PostgresServer.newDatabase());
    }

    @Override
    protected DataSource emptyDataSource() {
        return pooled(PostgresServer.newEmptyDatabase());
    }

    private DataSource pooled(DataSource ds) {
        HikariConfig config = new HikariConfig();
        config.setDataSource(ds);
        // the races run 64 threads at once; the cluster allows 200 connections
        config.setMaximumPoolSize(72);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(30_000);
        config.setPoolName("netbuf-test-" + pools.size());
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        return pool;
    }

    @AfterEach
    void closePools() {
        pools.forEach(HikariDataSource::close);
        pools.clear();
    }

    @Test
    void theThrowawayServerListensOnLoopbackOnly() {
        assumeTrue(PostgresServer.throwaway(), "a server named by NETBUF_TEST_PG_URL is not ours to check");
        JdbcClient sql = JdbcClient.create(PostgresServer.newEmptyDatabase());

        assertThat(sql.sql("SHOW listen_addresses").query(String.class).single()).isEqualTo("127.0.0.1");
        assertThat(sql.sql("SHOW fsync").query(String.class).single()).isEqualTo("off");
        assertThat(sql.sql("SHOW server_version_num").query(Integer.class).single()).isGreaterThanOrEqualTo(150000);
        assertThat(sql.sql("SELECT inet_server_addr()::text").query(String.class).single()).startsWith("127.0.0.1");
        assertThat(sql.sql("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'").query(String.class).list())
                .containsExactly("trust");
        assertThat(sql.sql("SELECT address FROM pg_hba_file_rules WHERE type = 'host'").query(String.class).list())
                .containsExactly("127.0.0.1");
    }
}
