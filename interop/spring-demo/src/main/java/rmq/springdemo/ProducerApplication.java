package rmq.springdemo;

import org.apache.rocketmq.spring.core.RocketMQTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** The Spring Boot producer demo: GET /product/msg sends one message to first-topic. */
@SpringBootApplication
@RestController
public class ProducerApplication {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerApplication.class);

    private final RocketMQTemplate template;

    public ProducerApplication(RocketMQTemplate template) {
        this.template = template;
    }

    @GetMapping("/product/msg")
    public String produce() {
        String message = Thread.currentThread().getName() + "使用rocketmq生产了一条消息";
        try {
            template.syncSend("first-topic", message);
            LOG.info(message);
            return "发送成功！";
        } catch (RuntimeException e) {
            LOG.error(message + ": 发送失败", e);
            return "发送失败";
        }
    }

    public static void main(String[] args) {
        SpringApplication.run(ProducerApplication.class, args);
    }
}
