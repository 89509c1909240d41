package rmq.interop.harness5.failover;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling that fails with a message naming what it waited for. */
public final class Await2 {
    private Await2() {
    }

    /** Polls {@code cond} every 100 ms; throws {@link IllegalStateException} if it still fails after {@code max}. */
    public static void until(Duration max, String what, BooleanSupplier cond) {
        if (!poll(max, cond)) {
            throw new IllegalStateException("timed out after " + max + " waiting for " + what);
        }
    }

    /** Polls {@code cond} every 100 ms until it holds or {@code max} passes; returns whether it held. */
    public static boolean poll(Duration max, BooleanSupplier cond) {
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            boolean ok;
            try {
                ok = cond.getAsBoolean();
            } catch (RuntimeException e) {
                ok = false;
            }
            if (ok) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
