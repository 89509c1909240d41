use rmq_starter::{rocketmq_listener, ConsumeResult, RocketMQListener};

#[derive(Default)]
#[rocketmq_listener(topic = "t", consumer_group = "g", delay_level_when_next_consume = 19)]
struct L;

impl RocketMQListener<String> for L {
    async fn on_message(&self, _m: String) -> ConsumeResult {
        Ok(())
    }
}

fn main() {}
