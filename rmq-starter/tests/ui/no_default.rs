use rmq_starter::{rocketmq_listener, ConsumeResult, RocketMQListener};

#[rocketmq_listener(topic = "t", consumer_group = "g")]
struct NoDefault {
    _state: u8,
}

impl RocketMQListener<String> for NoDefault {
    async fn on_message(&self, _m: String) -> ConsumeResult {
        Ok(())
    }
}

fn main() {}
