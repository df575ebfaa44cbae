//! The example's relay with the stack of `examples/ordered` (the same table and events on a
//! Custom Event Bus, a subscriber and dead-letter queue per consumer): `relay` as the tests of
//! the Custom Event Bus's local commands run it, built with the tests like `e2e-relay`.

fn main() -> std::process::ExitCode {
    let defaults = outbox_runtime::Defaults {
        custom_bus: true,
        bus: "myapp-ordered-events",
        local_stack: include_str!("../../../examples/ordered/generated/relay/src/local_stack.json"),
        ..relay::mapping::DEFAULTS
    };
    outbox_ops::run(relay::mapping::Mapping, defaults)
}
