package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

/** The console contract: one run against Apache 4.9.7 and rmq side by side (Apache is the self-check). */
@DisplayName("Java 4.9 admin (VIP channel on), console and exporter calls: Apache 4.9.7 vs rmq")
class ConsoleDifferentialTest extends ConsoleContract {
}
