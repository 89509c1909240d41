package rmq.interop.harness;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling for asynchronous effects (e.g. a server noticing a closed connection). */
public final class Await {
    private Await() {
    }

    /** Polls {@code cond} every 50 ms until it holds or {@code max} elapses; returns the last result. */
    public static boolean until(Duration max, BooleanSupplier cond) {
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
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** Like {@link #until}, but a timeout is an {@link IllegalStateException} naming {@code what}. */
    public static void require(Duration max, String what, BooleanSupplier cond) {
        if (!until(max, cond)) {
            throw new IllegalStateException("timed out after " + max + " waiting for " + what);
        }
    }
}
