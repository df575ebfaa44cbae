//! The example's relay (`generated/relay`) with its local commands, built with the tests (the
//! same features and artifacts as the workspace's test build, where a `cargo build -p relay`
//! would resolve features for the relay alone and build its dependency tree again): `relay` as
//! the tests run it.

fn main() -> std::process::ExitCode {
    outbox_ops::run(relay::mapping::Mapping, relay::mapping::DEFAULTS)
}
