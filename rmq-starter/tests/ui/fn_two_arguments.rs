use rmq_starter::rocketmq_listener;

#[rocketmq_listener(topic = "t", consumer_group = "g")]
async fn two(_a: String, _b: String) -> Result<(), String> {
    Ok(())
}

fn main() {}
