//! The `outbox` command line (see `--help`): the installed `outbox` binary and, in this
//! repository, `cargo run -p generator` both run [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use crate::validate::{SchemaSet, Verdict};
use crate::{GenerateError, write};
use clap::{Parser, Subcommand};

/// Generate the outbox relay, event schemas, infrastructure and docs from outbox.yaml.
///
/// With no arguments, reads ./outbox.yaml and writes ./generated/. Files that did not change
/// are not rewritten; files no longer generated are removed; on any error nothing in the
/// output directory is touched.
///
/// Exit codes: 0 ok, 1 a check failed (--check found stale output), 2 bad input or usage.
#[derive(Debug, Parser)]
#[command(name = "outbox", version, about, long_about)]
struct Cli {
    /// The config file to read (every command; `init` writes it).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "outbox.yaml",
        global = true
    )]
    config: PathBuf,
    /// The directory to generate into (every command that reads the generated tree).
    #[arg(long, value_name = "DIR", default_value = "generated", global = true)]
    out: PathBuf,
    /// Write nothing; exit 1 and print a unified diff if the output directory is stale
    /// (changed, missing or extra files), exit 0 if it is current. For CI.
    #[arg(long)]
    check: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a repository: write a commented starter outbox.yaml (at --config) into the current
    /// directory, the .gitignore lines for what building the generated tree leaves behind, and
    /// a CI workflow running `outbox --check`. Never overwrites: refuses when the config
    /// exists, keeps an existing workflow, only adds missing .gitignore lines.
    ///
    /// With --from-table, the config is proposed from a live table instead (read only:
    /// DescribeTable and a Scan of --sample items): an entity per key prefix with the attributes
    /// and DynamoDB types its items had, an event per entity, every inferred line marked
    /// `# REVIEW:`; `outbox` generates nothing until the marks are deleted.
    Init {
        /// The table to propose the config from.
        #[arg(long, value_name = "NAME")]
        from_table: Option<String>,
        /// The DynamoDB endpoint (default: the standard AWS configuration).
        #[arg(long, value_name = "URL", requires = "from_table")]
        endpoint: Option<String>,
        /// How many items to sample.
        #[arg(long, value_name = "N", default_value_t = 200, requires = "from_table")]
        sample: usize,
    },
    /// Validate events against the generated schemas (in DIR/schemas): exit 0 if all are
    /// valid, 1 if any breaks its schema (each violation with its JSON pointer), 2 if an input
    /// is not an event.
    ///
    /// An event is an EventBridge envelope as consumers receive it, or a PutEvents entry
    /// (Detail as a JSON string); its schema is chosen by source and detail-type.
    Validate {
        /// Event files (JSON); `-` reads standard input.
        #[arg(long = "event", value_name = "FILE", required = true, num_args = 1..)]
        events: Vec<String>,
    },
    /// Compare the event schemas of the config with an earlier version's and list the changes
    /// that break consumers: exit 1 if there are any (unless the event's schema-version was
    /// bumped), 0 if all changes are compatible.
    Breaking {
        /// A directory of earlier schemas (or an output directory holding `schemas/`), or a git
        /// revision (its `DIR/schemas` is read), e.g. `main` or `HEAD~1`.
        #[arg(long, value_name = "DIR_OR_REV")]
        against: String,
    },
    /// Test an EventBridge event pattern against an event, with EventBridge's matching rules
    /// (like `aws events test-event-pattern`, offline): prints `true` or `false` and exits 0;
    /// exits 2 with the reason when the pattern is one EventBridge would refuse.
    TestPattern {
        /// The event pattern (JSON); `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        pattern: String,
        /// The event (JSON, as the bus delivers it); `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        event: String,
    },
    /// Run a DynamoDB Streams Lambda event through the declared flow, offline: per record,
    /// whether the stream filters pass it, the events the generated relay (in OUT/relay, run
    /// with --dry-run) produces, the consumers whose rules match each event, and what each
    /// of them receives (its `input`). Numbers are shown as 64-bit floats (the relay itself
    /// sends every digit; its dry run shows them).
    Simulate {
        /// A DynamoDB Streams Lambda event (JSON); `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        event_file: String,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the flow on this machine: generate, stand the stack up on a local AWS endpoint
    /// (tables with streams, bus, rules, a queue per consumer; a Lambda consumer is
    /// represented by a local queue), run the relay's stream poller and print each event as
    /// it reaches a consumer. Starts moto_server when nothing answers at the default endpoint.
    /// Write items with any DynamoDB client; Ctrl-C stops.
    Dev {
        /// The local endpoint for every AWS service.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:5000")]
        endpoint: String,
        /// Stand the stack up, then exit.
        #[arg(long)]
        provision_only: bool,
    },
}

/// Parses the command line and runs it; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Init {
            from_table,
            endpoint,
            sample,
        }) => return init(&cli, from_table.as_deref(), endpoint.as_deref(), *sample),
        Some(Command::Validate { events }) => return validate(&cli, events),
        Some(Command::Breaking { against }) => return breaking(&cli, against),
        Some(Command::TestPattern { pattern, event }) => return test_pattern(pattern, event),
        Some(Command::Simulate { event_file, json }) => return simulate(&cli, event_file, *json),
        Some(Command::Dev {
            endpoint,
            provision_only,
        }) => {
            let generated = generate(&cli);
            if generated != ExitCode::SUCCESS {
                return generated;
            }
            return match crate::local_relay::run(&cli.out, endpoint, *provision_only) {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        None => {}
    }
    generate(&cli)
}

/// The default command: generate into the output directory (or `--check` it).
fn init(cli: &Cli, table: Option<&str>, endpoint: Option<&str>, sample: usize) -> ExitCode {
    if cli.config.exists() {
        eprintln!(
            "error: {}",
            crate::init::InitError::Exists(cli.config.clone())
        );
        return ExitCode::from(2);
    }
    let text = match table {
        None => crate::init::STARTER.to_owned(),
        Some(table) => match from_table(table, endpoint, sample) {
            Ok(text) => text,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        },
    };
    match crate::init::write(std::path::Path::new("."), &cli.config, &cli.out, &text) {
        Ok(report) => {
            for line in report {
                println!("{line}");
            }
            println!(
                "next: {}run `outbox` to generate {}/, and commit both",
                if table.is_some() {
                    format!(
                        "review every `{}` line in {} and delete its mark, then ",
                        crate::load::REVIEW_MARK,
                        cli.config.display()
                    )
                } else {
                    format!("edit {}, then ", cli.config.display())
                },
                cli.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "from-table")]
fn from_table(table: &str, endpoint: Option<&str>, sample: usize) -> Result<String, String> {
    let (info, items) =
        crate::init::read::read(table, endpoint, sample).map_err(|e| e.to_string())?;
    Ok(crate::init::propose::propose(&info, &items))
}

#[cfg(not(feature = "from-table"))]
fn from_table(_: &str, _: Option<&str>, _: usize) -> Result<String, String> {
    Err("this outbox was built without its `from-table` feature; reinstall it with default features (`cargo install --locked outbox`)".into())
}

fn generate(cli: &Cli) -> ExitCode {
    let generated = match crate::generate_in(&cli.config, &cli.out) {
        Ok((generated, _)) => generated,
        Err(GenerateError::Config(diagnostics)) => {
            eprint!("{diagnostics}");
            let errors = diagnostics.error_count();
            eprintln!(
                "error: {errors} error{} in {}; nothing in {} was changed",
                if errors == 1 { "" } else { "s" },
                cli.config.display(),
                cli.out.display()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    eprint!("{}", generated.warnings);
    if cli.check {
        return check(cli, &generated.files);
    }
    match write::write(&cli.out, &generated.files) {
        Ok(written) => {
            for (path, change) in &written.changes {
                eprintln!("{:>9} {}", change.label(), cli.out.join(path).display());
            }
            for path in &written.foreign {
                eprintln!(
                    "warning: {} is not generated from {}; left in place",
                    cli.out.join(path).display(),
                    cli.config.display()
                );
            }
            eprintln!(
                "{}: {} files generated, {} changed",
                cli.out.display(),
                generated.files.len(),
                written.changes.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}; nothing in {} was changed", cli.out.display());
            ExitCode::from(2)
        }
    }
}

fn check(cli: &Cli, files: &crate::render::Files) -> ExitCode {
    match write::diff(&cli.out, files) {
        Ok(diff) if diff.changes.is_empty() => {
            eprintln!(
                "{} is up to date with {}",
                cli.out.display(),
                cli.config.display()
            );
            ExitCode::SUCCESS
        }
        Ok(diff) => {
            print!("{}", diff.unified);
            for (path, change) in &diff.changes {
                let what = match change {
                    write::Change::Added => "missing",
                    write::Change::Modified => "stale",
                    write::Change::Removed => "extra",
                };
                eprintln!("{what:>9} {}", cli.out.join(path).display());
            }
            eprintln!(
                "error: {} is out of date with {}: run `outbox` and commit the result",
                cli.out.display(),
                cli.config.display()
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", cli.out.display());
            ExitCode::from(2)
        }
    }
}

fn validate(cli: &Cli, events: &[String]) -> ExitCode {
    let schemas = match SchemaSet::load(&cli.out.join("schemas")) {
        Ok(schemas) => schemas,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut worst = 0;
    for name in events {
        let verdict = read_input(name)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|t| schemas.check(&t));
        match verdict {
            Ok(Verdict::Valid { event }) => println!("{name}: valid {event}"),
            Ok(Verdict::Invalid { event, violations }) => {
                worst = worst.max(1);
                match event {
                    Some(event) => println!("{name}: invalid {event}"),
                    None => println!("{name}: invalid"),
                }
                for (pointer, message) in violations {
                    let pointer = if pointer.is_empty() {
                        "/".to_owned()
                    } else {
                        pointer
                    };
                    println!("  {pointer}: {message}");
                }
            }
            Err(e) => {
                worst = 2;
                eprintln!("{name}: error: {e}");
            }
        }
    }
    ExitCode::from(worst)
}

/// A file's text, or standard input's for `-`.
fn read_input(name: &str) -> std::io::Result<String> {
    if name == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(name)
    }
}

fn test_pattern(pattern: &str, event: &str) -> ExitCode {
    let result = read_input(pattern)
        .map_err(|e| format!("{pattern}: cannot read: {e}"))
        .and_then(|text| {
            crate::pattern::Pattern::parse(&text)
                .map_err(|e| format!("{pattern}: invalid event pattern: {e}"))
        });
    let pattern = match result {
        Ok(pattern) => pattern,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let event = match read_input(event)
        .map_err(|e| format!("{event}: cannot read: {e}"))
        .and_then(|text| {
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| format!("{event}: not JSON: {e}"))
        }) {
        Ok(serde_json::Value::Object(event)) => serde_json::Value::Object(event),
        Ok(_) => {
            eprintln!("error: {event}: an event is a JSON object");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", pattern.matches(&event));
    ExitCode::SUCCESS
}

fn simulate(cli: &Cli, event_file: &str, json: bool) -> ExitCode {
    let (generated, plan) = match crate::generate_in(&cli.config, &cli.out) {
        Ok(planned) => planned,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    match write::diff(&cli.out, &generated.files) {
        Ok(diff) if diff.changes.is_empty() => {}
        Ok(_) => {
            eprintln!(
                "error: {} is not current with {}: run the generator first, so the relay simulated is the one that deploys",
                cli.out.display(),
                cli.config.display()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", cli.out.display());
            return ExitCode::from(2);
        }
    }
    let result = read_input(event_file)
        .map_err(|e| format!("{event_file}: cannot read: {e}"))
        .and_then(|text| crate::simulate::simulate(&plan, &cli.out, &text));
    match result {
        Ok(result) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(result) => {
            print!("{}", crate::simulate::text(&result));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn breaking(cli: &Cli, against: &str) -> ExitCode {
    use crate::breaking::{Snapshot, Snapshots, compare, load_earlier};
    let generated = match crate::generate(&cli.config) {
        Ok(generated) => generated,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    let current: Snapshots = generated
        .files
        .iter()
        .filter(|(path, _)| path.parent() == Some(std::path::Path::new("schemas")))
        .filter_map(|(_, text)| serde_json::from_str(text).ok())
        .filter_map(|schema: serde_json::Value| Snapshot::from_schema(&schema))
        .collect();
    let earlier = match load_earlier(against, &cli.out) {
        Ok(earlier) => earlier,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let reports = compare(&earlier, &current);
    let mut breaking_events = 0;
    for (event, report) in &reports {
        let verdict = match (report.breaking.is_empty(), report.bumped) {
            (true, _) => "compatible".to_owned(),
            (false, Some((old, new))) => {
                format!("changed deliberately (schema version {old} -> {new})")
            }
            (false, None) => {
                breaking_events += 1;
                "BREAKING".to_owned()
            }
        };
        println!("{event}: {verdict}");
        for change in &report.breaking {
            println!("  - {change}");
        }
        for change in &report.compatible {
            println!("  + {change}");
        }
    }
    if breaking_events > 0 {
        println!(
            "{breaking_events} event(s) with breaking changes; bump their `schema-version` in {} if the change is deliberate",
            cli.config.display()
        );
        ExitCode::from(1)
    } else {
        println!("no breaking changes against {against}");
        ExitCode::SUCCESS
    }
}
