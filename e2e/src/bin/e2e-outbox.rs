//! The `outbox` command, built with the tests (the same features and artifacts as the
//! workspace's test build), so end-to-end tests run it without a build of their own.

fn main() -> std::process::ExitCode {
    outbox::cli::main()
}
