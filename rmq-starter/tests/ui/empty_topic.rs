use rmq_starter::{rocketmq_listener, ConsumeResult, RocketMQListener};

#[derive(Default)]
#[rocketmq_listener(topic = "", consumer_group = "g")]
struct L;

impl RocketMQListener<String> for L {
    async fn on_message(&self, _m: String) -> ConsumeResult {
        Ok(())
    }
}

fn main() {}
