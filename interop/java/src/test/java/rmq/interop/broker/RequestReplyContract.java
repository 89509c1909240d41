package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.exception.RequestTimeoutException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.admin.TopicOffset;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.Locations;

/**
 * Request-reply across implementations: Java 4.9.7's {@code DefaultMQProducer.request} answered
 * by an rmq-client replier, an rmq-client requester answered by a Java replier
 * ({@code MessageUtil.createReplyMessage} + {@code DefaultMQProducer.send}), a request nobody
 * answers, and a reply to a requester that is gone (refused with Apache's code and remark, and
 * still stored in the reply topic). The rmq side is rmq-client's {@code request_reply} example
 * ({@code RMQ_REQUEST_REPLY_BIN}, default {@code target/debug/examples/request_reply}).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class RequestReplyContract extends StackContract {
    private static final long TIMEOUT_MS = 10_000;

    @Test
    void javaRequestsAreAnsweredByAnRmqReplier() throws Exception {
        String topic = clients.createTopic("rr_rmq_replier", 4);
        try (Example replier = Example.start("replier", "reply", stack.namesrvAddr(), topic, Clients.unique("rr_cg"))) {
            replier.awaitLine("replier ready");
            DefaultMQProducer producer = clients.producer();
            for (int i = 0; i < 5; i++) {
                Message reply = producer.request(new Message(topic, bytes("java-sync-" + i)), TIMEOUT_MS);
                assertEquals("rmq-reply:java-sync-" + i, text(reply), "sync request " + i);
                assertEquals(replyTopic(), reply.getTopic());
                assertEquals(MixAll.REPLY_MESSAGE_FLAG, reply.getProperty(MessageConst.PROPERTY_MESSAGE_TYPE));
            }
            int n = 30;
            Map<String, String> replies = new ConcurrentHashMap<>();
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(n);
            for (int i = 0; i < n; i++) {
                String body = "java-async-" + i;
                producer.request(new Message(topic, bytes(body)), new RequestCallback() {
                    @Override
                    public void onSuccess(Message message) {
                        replies.merge(body, text(message), (a, b) -> a + "|" + b);
                        done.countDown();
                    }

                    @Override
                    public void onException(Throwable e) {
                        failures.add(e);
                        done.countDown();
                    }
                }, TIMEOUT_MS);
            }
            assertTrue(done.await(30, TimeUnit.SECONDS), "every callback ran");
            assertEquals(List.of(), failures);
            Map<String, String> expected = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                expected.put("java-async-" + i, "rmq-reply:java-async-" + i);
            }
            assertEquals(expected, new TreeMap<>(replies), "each request got its own reply, once");
        }
    }

    @Test
    void rmqRequestsAreAnsweredByAJavaReplier() throws Exception {
        String topic = clients.createTopic("rr_java_replier", 4);
        DefaultMQProducer replies = clients.producer();
        DefaultMQPushConsumer replier = clients.pushConsumer(Clients.unique("rr_java_cg"), topic, "*", MessageModel.CLUSTERING);
        List<String> failures = new CopyOnWriteArrayList<>();
        replier.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt request : msgs) {
                try {
                    replies.send(MessageUtil.createReplyMessage(request, bytes("java-reply:" + text(request))));
                } catch (Exception e) {
                    failures.add(text(request) + ": " + e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        replier.start();
        assertTrue(Await.until(java.time.Duration.ofSeconds(20), () -> !Clients.owned(replier, topic).isEmpty()),
                "the Java replier owns queues");
        int n = 20;
        try (Example requester = Example.start("requester", "request", stack.namesrvAddr(), topic,
                String.valueOf(n), String.valueOf(TIMEOUT_MS))) {
            int exit = requester.awaitExit(60);
            List<String> answered = new ArrayList<>();
            for (String line : requester.lines()) {
                if (line.startsWith("reply ")) {
                    answered.add(line);
                }
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                expected.add("reply rmq-req-" + i + " -> java-reply:rmq-req-" + i + " MSG_TYPE=reply TOPIC=" + replyTopic());
            }
            assertEquals(expected, answered, "requester output:\n" + String.join("\n", requester.lines()));
            assertEquals(0, exit, "the requester's exit code");
        }
        assertEquals(List.of(), failures, "the Java replier's sends");
    }

    @Test
    void aRequestNobodyAnswersTimesOut() throws Exception {
        String topic = clients.createTopic("rr_silent", 2);
        DefaultMQProducer producer = clients.producer();
        long started = System.currentTimeMillis();
        RequestTimeoutException e = assertThrows(RequestTimeoutException.class,
                () -> producer.request(new Message(topic, bytes("anyone?")), 1500));
        long waited = System.currentTimeMillis() - started;
        assertTrue(waited >= 1400 && waited < 10_000, "waited " + waited + " ms: " + e);
    }

    @Test
    void aReplyToARequesterThatIsGoneIsRefusedAndStillStored() throws Exception {
        DefaultMQProducer producer = clients.producer();
        producer.setRetryTimesWhenSendFailed(0);
        long before = storedReplies();
        Message reply = new Message(replyTopic(), bytes("late"));
        MessageAccessor.putProperty(reply, MessageConst.PROPERTY_MESSAGE_TYPE, MixAll.REPLY_MESSAGE_FLAG);
        MessageAccessor.putProperty(reply, MessageConst.PROPERTY_CORRELATION_ID, "00000000-0000-4000-8000-000000000001");
        MessageAccessor.putProperty(reply, MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT, "10.9.9.9@gone");
        MessageAccessor.putProperty(reply, MessageConst.PROPERTY_MESSAGE_TTL, "3000");
        // The one attempt's broker error, wrapped by sendDefaultImpl ("Send [1] times, still failed").
        MQClientException failed = assertThrows(MQClientException.class, () -> producer.send(reply));
        assertTrue(failed.getCause() instanceof MQBrokerException, "the broker refused it: " + failed);
        MQBrokerException refused = (MQBrokerException) failed.getCause();
        assertEquals(1, refused.getResponseCode(), "SYSTEM_ERROR: " + refused);
        assertEquals("push reply message fail, channel of <10.9.9.9@gone> not found.", refused.getErrorMessage());
        assertTrue(Await.until(java.time.Duration.ofSeconds(10), () -> storedReplies() == before + 1),
                "the refused reply is stored in " + replyTopic() + " (storeReplyMessageEnable=true): "
                        + before + " then " + storedReplies());
    }

    private String replyTopic() {
        return stack.clusterName() + "_" + MixAll.REPLY_TOPIC_POSTFIX;
    }

    /** Messages in the reply topic, from the broker's queue offsets. */
    private long storedReplies() {
        try {
            long sum = 0;
            for (TopicOffset offset : clients.admin.examineTopicStats(replyTopic()).getOffsetTable().values()) {
                sum += offset.getMaxOffset();
            }
            return sum;
        } catch (Exception e) {
            throw new AssertionError("examineTopicStats(" + replyTopic() + ")", e);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Message m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    /** rmq-client's request_reply example as a child process, its output kept line by line. */
    private static final class Example implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();

        private Example(Process process, Path log) {
            this.process = process;
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                        Files.writeString(log, line + "\n", StandardCharsets.UTF_8,
                                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    }
                } catch (IOException e) {
                    lines.add("(output lost: " + e + ")");
                }
            }, "request-reply-example");
            pump.setDaemon(true);
            pump.start();
        }

        static Example start(String label, String... args) throws IOException {
            Path bin = Locations.binary("RMQ_REQUEST_REPLY_BIN", "examples/request_reply");
            if (!Files.isExecutable(bin)) {
                String msg = "rmq-client's request_reply example is missing: " + bin
                        + " — build it with `cargo build -p rmq-client --example request_reply` (interop/run.sh does)";
                if (Locations.isCi()) {
                    Assertions.fail(msg + " [CI=true: missing binaries are failures]");
                }
                Assumptions.abort(msg + " [skipped locally; with CI=true this fails]");
            }
            List<String> command = new ArrayList<>();
            command.add(bin.toString());
            command.addAll(List.of(args));
            Path log = Locations.scratchDir().resolve("request-reply-" + label + "-" + ProcessHandle.current().pid()
                    + "-" + System.nanoTime() + ".log");
            Files.createDirectories(log.getParent());
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putIfAbsent("RUST_LOG", "warn");
            return new Example(pb.start(), log);
        }

        void awaitLine(String wanted) {
            boolean seen = Await.until(java.time.Duration.ofSeconds(30), () -> lines.contains(wanted));
            if (!seen) {
                throw new AssertionError("no '" + wanted + "' within 30 s; output:\n" + String.join("\n", lines));
            }
        }

        int awaitExit(int seconds) throws InterruptedException {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError("still running after " + seconds + " s; output:\n" + String.join("\n", lines));
            }
            // Let the pump read what was written last.
            Await.until(java.time.Duration.ofSeconds(5), () -> lines.stream().anyMatch(l -> l.startsWith("done ")));
            return process.exitValue();
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
