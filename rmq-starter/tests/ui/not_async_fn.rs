use rmq_starter::rocketmq_listener;

#[rocketmq_listener(topic = "t", consumer_group = "g")]
fn blocking(_message: String) -> Result<(), String> {
    Ok(())
}

fn main() {}
