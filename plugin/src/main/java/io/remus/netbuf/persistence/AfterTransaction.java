package io.remus.netbuf.persistence;

import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Work that must wait until the caller's transaction is over, for the stores' copies in memory of what the
 * database has: run when that transaction ends, or at once when there is none (the write just committed alone).
 */
final class AfterTransaction {

    private AfterTransaction() {
    }

    /** Runs {@code work} once the caller's transaction has committed (never if it rolls back), or at once. */
    static void commit(Runnable work) {
        registerOrRun(work, new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                work.run();
            }
        });
    }

    /** Runs {@code work} once the caller's transaction has committed or rolled back, or at once. */
    static void completion(Runnable work) {
        registerOrRun(work, new TransactionSynchronization() {
            @Override
            public void afterCompletion(int status) {
                work.run();
            }
        });
    }

    private static void registerOrRun(Runnable work, TransactionSynchronization whenOver) {
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(whenOver);
        } else {
            work.run();
        }
    }
}
