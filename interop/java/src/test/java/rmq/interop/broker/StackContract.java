package rmq.interop.broker;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import rmq.interop.harness.BrokerStack;

/**
 * What every broker contract shares: one name server and broker per class (rmq's or Apache's,
 * chosen by the subclass) and fresh clients per test, so a scenario is written once and run
 * against both brokers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StackContract {
    BrokerStack stack;
    Clients clients;

    /** Starts the servers this run is against. */
    abstract BrokerStack startStack() throws Exception;

    @BeforeAll
    void startServers() throws Exception {
        stack = startStack();
        System.out.println(getClass().getSimpleName() + " against " + stack);
    }

    @AfterAll
    void stopServers() {
        if (stack != null) {
            stack.close();
        }
    }

    @BeforeEach
    void newClients() throws Exception {
        clients = new Clients(stack);
    }

    @AfterEach
    void closeClients() {
        if (clients != null) {
            clients.close();
        }
    }
}
