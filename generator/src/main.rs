//! `outbox`: the installed command (`cargo install --locked --path generator`).

fn main() -> std::process::ExitCode {
    outbox::cli::main()
}
