//! `cargo run -p generator -- ...`: the `outbox` command (see `outbox::cli`).

fn main() -> std::process::ExitCode {
    outbox::cli::main()
}
