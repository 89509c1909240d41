use rmq_starter::rocketmq_listener;

#[derive(Default)]
#[rocketmq_listener(topic = "t", consumer_group = "g")]
struct Generic<T>(T);

fn main() {}
