package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The transaction/SQL92 contract against Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 clients vs Apache broker 4.9.7: transactions and SQL92 filters (self-check)")
class ApacheTransactionFilterTest extends TransactionFilterContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the transaction/SQL92 contract");
        return ApacheBroker.startStack(OPTIONS);
    }
}
