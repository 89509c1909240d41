//! Mistakes in `#[rocketmq_listener]` / `#[rocketmq_transaction_listener]` are compile errors
//! pointing at the attribute (expected messages in tests/ui/*.stderr).

#[test]
fn listener_attribute_mistakes_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
