package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.PosixParser;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.srvutil.ServerUtil;
import org.apache.rocketmq.tools.command.SubCommandException;
import org.apache.rocketmq.tools.command.broker.UpdateBrokerConfigSubCommand;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * {@code mqadmin updateBrokerConfig} (Apache 4.9.7's tools, run in-process) against a broker:
 * an allowed key takes effect at once (after {@code brokerPermission=4} the route is read-only
 * within seconds, after 6 writable again) and GET_BROKER_CONFIG reports it; a key
 * that reaches a process or a path is what Apache 4.9.7 accepts and rmq refuses (CVE-2023-33246;
 * listed as intended in known-differences.txt). And a topic an admin creates is in the name
 * server's route by the time the broker answers, as Apache's proxy assumes when it creates its
 * system topics (it reads the route back at once). Contract key: {@code admin-config}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class AdminConfigContract {
    static final String CONTRACT = "admin-config";

    BrokerStack stack;
    Clients clients;
    String topic;
    DefaultMQProducer producer;

    abstract BrokerStack startStack() throws Exception;

    @BeforeAll
    void start() throws Exception {
        stack = startStack();
        clients = new Clients(stack);
        topic = clients.createTopic("AdminCfg", 1);
        producer = clients.producer();
    }

    @AfterAll
    void stop() {
        if (clients != null) {
            clients.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** What {@code mqadmin updateBrokerConfig -b ADDR -k KEY -v VALUE} prints, or the failure's cause. */
    Object mqadmin(String key, String value) throws Exception {
        UpdateBrokerConfigSubCommand cmd = new UpdateBrokerConfigSubCommand();
        Options options = cmd.buildCommandlineOptions(ServerUtil.buildCommandlineOptions(new Options()));
        CommandLine line = ServerUtil.parseCmdLine("mqadmin updateBrokerConfig",
                new String[] {"-b", stack.brokerAddr(), "-k", key, "-v", value}, options, new PosixParser());
        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            cmd.execute(line, options, null);
            return printed.toString(StandardCharsets.UTF_8);
        } catch (SubCommandException e) {
            return e.getCause();
        } finally {
            System.setOut(out);
        }
    }

    /** The broker's answer to one send: 0, its refusal code, or -1 when no answer came. */
    int sendCode() {
        try {
            producer.send(new Message(topic, "t", "k", "admin-config".getBytes(StandardCharsets.UTF_8)),
                    new MessageQueue(topic, stack.brokerName(), 0));
            return ResponseCode.SUCCESS;
        } catch (MQBrokerException e) {
            return e.getResponseCode();
        } catch (Exception e) {
            return -1;
        }
    }

    Properties brokerConfig() throws Exception {
        return clients.admin.getBrokerConfig(stack.brokerAddr());
    }

    /** The permission the name server's route gives the broker's queues of the topic, or -1. */
    int routePerm() {
        try {
            return clients.admin.examineTopicRouteInfo(topic).getQueueDatas().get(0).getPerm();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    @Order(1)
    void anAllowedKeyTakesEffectAtOnceAndIsReported() throws Exception {
        assertEquals(ResponseCode.SUCCESS, sendCode(), "a send before the change");
        Object printed = mqadmin("brokerPermission", "4");
        assertTrue(printed instanceof String && ((String) printed).contains("update broker config success"),
                "mqadmin said " + printed);
        assertEquals("4", brokerConfig().getProperty("brokerPermission"));
        // The broker registers at once: producers see a read-only route.
        assertTrue(Await.until(Duration.ofSeconds(10), () -> routePerm() == 4),
                "the route's permission is 4 within 10 s; it is " + routePerm());
        // Apache 4.9.7 refuses a direct send to a read-only broker only for ordered topics.
        int direct = sendCode();
        clients.check(CONTRACT, "direct-send-accepted-while-read-only", direct == ResponseCode.SUCCESS,
                "a send addressed to the read-only broker answered " + direct);
        assertTrue(mqadmin("brokerPermission", "6") instanceof String);
        assertTrue(Await.until(Duration.ofSeconds(10), () -> routePerm() == 6 && sendCode() == ResponseCode.SUCCESS),
                "route writable and sends accepted again after brokerPermission=6");
    }

    @Test
    @Order(2)
    void filterServerNumsIsAcceptedByApacheOnly() throws Exception {
        // 0 spawns nothing on Apache; the point is whether the key is accepted at all.
        Object answer = mqadmin("filterServerNums", "0");
        boolean accepted = answer instanceof String && ((String) answer).contains("update broker config success");
        clients.check(CONTRACT, "filterServerNums-accepted", accepted, "mqadmin said " + answer);
        if (!clients.reference()) {
            MQBrokerException refused = (MQBrokerException) answer;
            assertEquals(ResponseCode.NO_PERMISSION, refused.getResponseCode());
            assertTrue(refused.getErrorMessage().contains("filterServerNums ("), refused.getErrorMessage());
            assertEquals(ResponseCode.SUCCESS, sendCode(), "the refused request changed nothing");
        }
    }

    @Test
    @Order(3)
    void aCreatedTopicIsRoutedWhenTheCreateIsAnswered() throws Exception {
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String created = Clients.unique("Routed");
            clients.admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(created, 2, 2, 6));
            // One read, no retry: what Apache's proxy does three times in a row, without pausing.
            try {
                TopicRouteData route = clients.admin.examineTopicRouteInfo(created);
                if (route.getQueueDatas().isEmpty() || route.getQueueDatas().get(0).getWriteQueueNums() != 2) {
                    missing.add(created + " (route " + route + ")");
                }
            } catch (Exception e) {
                missing.add(created + " (" + e + ")");
            }
        }
        assertEquals(List.of(), missing, "topics whose route the name server did not have right after the create");
    }
}
