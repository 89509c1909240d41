use rmq_starter::rocketmq_transaction_listener;

#[derive(Default)]
#[rocketmq_transaction_listener(core_pool_size = 4)]
struct Tx;

fn main() {}
