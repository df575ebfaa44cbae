//! `relay poll` and `relay dev` (the relay binary's local subcommands).

use std::path::Path;
use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata as _;
use futures_util::future::{BoxFuture, FutureExt as _, try_join_all};

use outbox_runtime::handler::{Mapper, Options};
use outbox_runtime::publish::EventBridgePublisher;
use outbox_runtime::settings::{Defaults, attempt_timeout};

use crate::checkpoint::CheckpointFile;
use crate::dev;
use crate::poll::{PollOptions, Poller};
use crate::redrive::{RedriveQueue, Redriver};
use crate::{
    BackfillArgs, CompareArgs, DevArgs, LocalError, LocalStack, PollArgs, RedriveArgs, ReplayArgs,
    aws_error, sdk_config,
};

/// Why a local subcommand stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Usage: an unknown table, a missing queue, a bad checkpoint (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The stack or the poller failed (exit 1).
    #[error(transparent)]
    Local(#[from] LocalError),
    /// `relay compare` found differences (exit 1).
    #[error("the two sides differ (above)")]
    Differ,
    /// `relay redrive` left messages in their queues (exit 1).
    #[error(
        "{0} message(s) could not be redriven and stay in their queues (the reasons are above)"
    )]
    Kept(usize),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Local(LocalError::NoStream(_) | LocalError::Checkpoint(_)) => 2,
            CliError::Local(_) | CliError::Kept(_) | CliError::Differ => 1,
        }
    }
}

fn stack(defaults: Defaults) -> Result<LocalStack, CliError> {
    LocalStack::parse(defaults.local_stack)
        .map_err(|e| CliError::Usage(format!("the relay's local stack description: {e}")))
}

fn poll_options(
    stack: &LocalStack,
    table: &str,
    failure_queue_url: String,
) -> Result<PollOptions, CliError> {
    let filters = stack
        .table(table)
        .map(|t| t.filters.as_slice())
        .unwrap_or_default()
        .iter()
        .map(outbox_pattern::Pattern::from_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Usage(format!("a stream filter of table {table}: {e}")))?;
    Ok(PollOptions {
        table: table.to_owned(),
        settings: stack.streams.clone(),
        filters,
        until_idle: None,
        failure_queue_url,
        poll_interval: Duration::from_millis(250),
        retry_delay: Duration::from_millis(50),
        invocation_timeout: Duration::from_secs(60),
        print_metrics: false,
    })
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `relay poll --table NAME [--checkpoint FILE] [--until-idle]`: prints the run's counts as one
/// JSON line when it stops.
pub(crate) async fn poll(
    args: PollArgs,
    mapper: &impl Mapper,
    defaults: Defaults,
    relay: Options,
) -> Result<(), CliError> {
    let stack = stack(defaults)?;
    if stack.table(&args.table).is_none() {
        let known: Vec<&str> = stack.tables.iter().map(|t| t.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "--table {}: this relay reads no such table (it reads: {})",
            args.table,
            known.join(", ")
        )));
    }
    let config = sdk_config(args.endpoint.as_deref()).await;
    let failure_queue = args
        .failure_queue
        .as_deref()
        .unwrap_or(&stack.failure_queue);
    let failure_queue_url = queue_url(&config, failure_queue).await?;
    let mut options = poll_options(&stack, &args.table, failure_queue_url)?;
    if let Some(n) = args.batch_size.filter(|n| *n > 0) {
        options.settings.batch_size = n;
    }
    if let Some(n) = args.maximum_retry_attempts {
        options.settings.maximum_retry_attempts = n;
    }
    if let Some(seconds) = args.maximum_record_age {
        options.settings.maximum_record_age = seconds;
    }
    options.until_idle = args.until_idle.then(|| Duration::from_millis(args.idle_ms));
    let publisher = publisher(&config).await;
    let checkpoint = CheckpointFile::open(args.checkpoint.as_deref()).map_err(LocalError::from)?;
    let poller = Poller::new(mapper, &publisher, &relay, &config, options, checkpoint).await?;
    tracing::info!(stream = poller.stream_arn(), "polling");
    let stats = poller.run(ctrl_c()).await?;
    println!("{}", serde_json::to_string(&stats).unwrap_or_default());
    Ok(())
}

/// The relay's publisher: the SDK configuration's endpoints, except that EventBridge's own
/// (`AWS_ENDPOINT_URL_EVENTBRIDGEV2` for a Custom Event Bus, `AWS_ENDPOINT_URL_EVENTBRIDGE`) win
/// over `--endpoint` (a bus elsewhere than the tables and queues, say a fake on this machine).
async fn publisher(config: &aws_config::SdkConfig) -> EventBridgePublisher {
    let own = std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGEV2")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE"));
    match own {
        Ok(url) => {
            let config = sdk_config(Some(&url)).await;
            EventBridgePublisher::from_sdk_config(&config, attempt_timeout()).await
        }
        Err(_) => EventBridgePublisher::from_sdk_config(config, attempt_timeout()).await,
    }
}

/// A queue's URL from its URL or name.
async fn queue_url(config: &aws_config::SdkConfig, queue: &str) -> Result<String, CliError> {
    find_queue(config, queue).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "the on-failure destination queue {queue} does not exist: run `relay dev \
             --provision-only` first, or pass --failure-queue NAME_OR_URL"
        ))
    })
}

/// A queue's URL from its URL or name; `None` when no queue has that name.
async fn find_queue(
    config: &aws_config::SdkConfig,
    queue: &str,
) -> Result<Option<String>, CliError> {
    if queue.starts_with("https://") || queue.starts_with("http://") {
        return Ok(Some(queue.to_owned()));
    }
    let sqs = aws_sdk_sqs::Client::new(config);
    match sqs.get_queue_url().queue_name(queue).send().await {
        Ok(output) => Ok(Some(output.queue_url().unwrap_or_default().to_owned())),
        Err(e)
            if e.code() == Some("AWS.SimpleQueueService.NonExistentQueue")
                || e.code() == Some("QueueDoesNotExist") =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("GetQueueUrl")(e).into()),
    }
}

/// `relay redrive [--dry-run]`: prints the run's counts as one JSON line when done; exit 1
/// when a message had to be kept.
pub(crate) async fn redrive(
    args: RedriveArgs,
    mapper: &impl Mapper,
    defaults: Defaults,
    mut relay: Options,
) -> Result<(), CliError> {
    let stack = stack(defaults)?;
    let config = sdk_config(args.endpoint.as_deref()).await;
    if let Some(consumer) = &args.subscriber {
        return redrive_subscriber(&args, consumer, &stack, &config).await;
    }
    // A Custom Event Bus is addressed by its ARN (EVENT_BUS_ARN, read with the settings).
    if std::env::var_os("EVENT_BUS_NAME").is_none() && !relay.system_metadata {
        relay.bus = stack.bus.clone();
    }
    // An event that still drifts fails and its message stays, instead of a second dead letter.
    relay.drift_override = Some(outbox_runtime::Drift::Stop);
    relay.poison = outbox_runtime::handler::PoisonPolicy::Fail;
    let dead_letters = stack
        .consumers
        .iter()
        .find(|c| c.name == outbox_stack::DEAD_LETTERS)
        .map(|c| c.queue.clone());
    let wanted = [
        (
            "failure queue",
            args.failure_queue.clone(),
            Some(stack.failure_queue.clone()),
            "--failure-queue (a deployed stack's RelayFailureQueueUrl output)",
        ),
        (
            "dead letters",
            args.dead_letters.clone(),
            dead_letters,
            "--dead-letters",
        ),
    ];
    let mut queues = Vec::new();
    for (label, given, default, flag) in wanted {
        let Some(name) = given.clone().or(default) else {
            continue;
        };
        match find_queue(&config, &name).await? {
            Some(url) => queues.push(RedriveQueue { label, url }),
            None if given.is_some() => {
                return Err(CliError::Usage(format!(
                    "the {label} queue {name} does not exist"
                )));
            }
            None => eprintln!("redrive: no queue {name}: the {label} skipped; name it with {flag}"),
        }
    }
    let publisher = publisher(&config).await;
    let redriver = Redriver {
        mapper,
        publisher: &publisher,
        relay,
        config: &config,
        stack: &stack,
        dry_run: args.dry_run,
    };
    let summary = redriver.run(&queues).await?;
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    if summary.kept > 0 {
        return Err(CliError::Kept(summary.kept));
    }
    Ok(())
}

/// `relay redrive --subscriber CONSUMER [--dry-run]`: the run's counts as one JSON line; exit 1
/// when a record had to be kept.
async fn redrive_subscriber(
    args: &RedriveArgs,
    name: &str,
    stack: &LocalStack,
    config: &aws_config::SdkConfig,
) -> Result<(), CliError> {
    if !stack.custom_bus {
        return Err(CliError::Usage(
            "--subscriber: this relay publishes to a Classic bus, whose rules keep their dead letters as events: move them back with `aws sqs start-message-move-task`".into(),
        ));
    }
    let consumer = stack
        .consumers
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = stack.consumers.iter().map(|c| c.name.as_str()).collect();
            CliError::Usage(format!(
                "--subscriber {name}: no such consumer (there are: {})",
                known.join(", ")
            ))
        })?;
    let queue = args
        .dead_letter_queue
        .clone()
        .or_else(|| consumer.dead_letter_queue.clone())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--subscriber {name}: the consumer has no dead-letter queue (`dead-letter-queue: false`)"
            ))
        })?;
    let url = find_queue(config, &queue).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "the dead-letter queue {queue} does not exist: pass --dead-letter-queue NAME_OR_URL"
        ))
    })?;
    let bus_config = match std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGEV2") {
        Ok(endpoint) => sdk_config(Some(&endpoint)).await,
        Err(_) => config.clone(),
    };
    let run = crate::subscriber_redrive::SubscriberRedrive {
        sqs: &aws_sdk_sqs::Client::new(config),
        bus: &aws_sdk_eventbridgev2::Client::new(&bus_config),
        subscriber: &consumer.rule_name,
        subscriber_arn: args.subscriber_arn.as_deref(),
        dead_letters: &url,
        dry_run: args.dry_run,
        wait: Duration::from_secs(args.wait_seconds),
    };
    let summary = run.run().await?;
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    if summary.kept > 0 && !summary.dry_run {
        return Err(CliError::Kept(summary.kept));
    }
    Ok(())
}

/// `relay backfill --table NAME ...`: progress on stderr, the counts as one JSON line last.
pub(crate) async fn backfill(
    args: BackfillArgs,
    mapper: &impl Mapper,
    defaults: Defaults,
    mut relay: Options,
) -> Result<(), CliError> {
    let stack = stack(defaults)?;
    let Some(table) = stack.table(&args.table).cloned() else {
        let known: Vec<&str> = stack.tables.iter().map(|t| t.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "--table {}: this relay reads no such table (it reads: {})",
            args.table,
            known.join(", ")
        )));
    };
    if !(1..=1_000_000).contains(&args.segments) {
        return Err(CliError::Usage(format!(
            "--segments {}: a scan takes 1 to 1,000,000 segments",
            args.segments
        )));
    }
    let consumer = match &args.consumer {
        None => None,
        Some(name) => {
            let consumer = stack
                .consumers
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        stack.consumers.iter().map(|c| c.name.as_str()).collect();
                    CliError::Usage(format!(
                        "--consumer {name}: no such consumer (there are: {})",
                        known.join(", ")
                    ))
                })?;
            Some(
                outbox_pattern::Pattern::from_value(&consumer.pattern)
                    .map_err(|e| CliError::Usage(format!("consumer {name}'s pattern: {e}")))?,
            )
        }
    };
    let config = sdk_config(args.endpoint.as_deref()).await;
    if std::env::var_os("EVENT_BUS_NAME").is_none() && !relay.system_metadata {
        relay.bus = stack.bus.clone();
    }
    let publisher = publisher(&config).await;
    let run = crate::backfill::Backfill {
        mapper,
        publisher: &publisher,
        relay,
        config: &config,
        options: crate::backfill::BackfillOptions {
            table,
            segments: args.segments,
            rate: args.rate,
            event: args.event,
            consumer,
            dry_run: args.dry_run,
            checkpoint: args.checkpoint,
        },
    };
    let summary = run.run().await?;
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    Ok(())
}

/// `relay replay --consumer NAME --from T --to T`: the replay's outcome as one JSON line; exit
/// 1 unless it completed.
pub(crate) async fn replay(args: ReplayArgs, defaults: Defaults) -> Result<(), CliError> {
    let stack = stack(defaults)?;
    if !stack.consumers.iter().any(|c| c.name == args.consumer) {
        let known: Vec<&str> = stack.consumers.iter().map(|c| c.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "--consumer {}: no such consumer (there are: {})",
            args.consumer,
            known.join(", ")
        )));
    }
    let time = |flag: &str, text: &str| {
        crate::replay::parse_time(text).ok_or_else(|| {
            CliError::Usage(format!(
                "{flag} {text}: not a time like 2026-12-01T00:00:00Z"
            ))
        })
    };
    let (from, to) = (time("--from", &args.from)?, time("--to", &args.to)?);
    if from.secs() >= to.secs() {
        return Err(CliError::Usage(format!(
            "--from {} is not before --to {}",
            args.from, args.to
        )));
    }
    let config = sdk_config(args.endpoint.as_deref()).await;
    let summary = crate::replay::replay(&config, &stack, &args.consumer, from, to).await?;
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    if summary.state != "COMPLETED" {
        return Err(CliError::Local(LocalError::Aws {
            operation: "replay",
            message: format!(
                "{} ended {}: {}",
                summary.replay,
                summary.state,
                summary.reason.unwrap_or_default()
            ),
        }));
    }
    Ok(())
}

/// `relay dev`: provisions, then polls every table and prints what each consumer receives
/// until interrupted.
pub(crate) async fn dev(
    args: DevArgs,
    mapper: &impl Mapper,
    defaults: Defaults,
    mut relay: Options,
) -> Result<(), CliError> {
    let stack = stack(defaults)?;
    let config = sdk_config(Some(&args.endpoint)).await;
    let provisioned = dev::provision(&config, &stack).await.map_err(|e| {
        CliError::Usage(format!(
            "cannot set up the local stack at {}: {e}\nhint: start a local AWS server first, \
             e.g. `moto_server -H 127.0.0.1 -p 5000` (pip install 'moto[server]'), or pass \
             --endpoint URL",
            args.endpoint
        ))
    })?;
    print_banner(&stack, &args.endpoint);
    if args.provision_only {
        return Ok(());
    }
    let sqs = aws_sdk_sqs::Client::new(&config);
    // A Custom Event Bus runs in process (moto has none); the relay publishes to it.
    let (publisher, _bus, deliveries) = if stack.custom_bus {
        if std::env::var_os("EVENT_BUS_ARN").is_none() {
            relay.bus = crate::bus::local_bus_arn(stack.bus_name());
        }
        let bus = crate::bus::start(
            &relay.bus,
            &stack.consumers,
            &provisioned.consumer_queues,
            &sqs,
            outbox_local_bus::Faults::default(),
        )
        .await?;
        println!(
            "  the Custom Event Bus runs in process at {} as {}",
            bus.fake.endpoint(),
            relay.bus
        );
        let publisher_config = sdk_config(Some(&bus.fake.endpoint())).await;
        let publisher =
            EventBridgePublisher::from_sdk_config(&publisher_config, attempt_timeout()).await;
        (
            dev::Recording::new(publisher),
            Some(bus.fake),
            bus.deliveries,
        )
    } else {
        if std::env::var_os("EVENT_BUS_NAME").is_none() {
            relay.bus = stack.bus_name().to_owned();
        }
        let publisher = EventBridgePublisher::from_sdk_config(&config, attempt_timeout()).await;
        (dev::Recording::new(publisher), None, Vec::new())
    };
    let mut tasks: Vec<BoxFuture<'_, Result<(), LocalError>>> = deliveries;
    for table in &stack.tables {
        let path = checkpoint_path(&args.checkpoint_dir, &table.name);
        let checkpoint = CheckpointFile::open(Some(&path)).map_err(LocalError::from)?;
        let mut options = poll_options(&stack, &table.name, provisioned.failure_queue_url.clone())?;
        options.print_metrics = true;
        let poller = Poller::new(mapper, &publisher, &relay, &config, options, checkpoint).await?;
        tasks.push(
            poller
                .run(std::future::pending())
                .map(|r| r.map(|_| ()))
                .boxed(),
        );
    }
    for (consumer, url) in &provisioned.consumer_queues {
        let input = stack
            .consumers
            .iter()
            .find(|c| &c.name == consumer)
            .and_then(|c| c.input.as_ref());
        let (published, custom) = (publisher.published(), stack.custom_bus);
        tasks.push(dev::watch(&sqs, consumer, url, input, published, custom).boxed());
    }
    tasks.push(
        dev::watch(
            &sqs,
            "on-failure destination",
            &provisioned.failure_queue_url,
            None,
            publisher.published(),
            false,
        )
        .boxed(),
    );
    tokio::select! {
        result = try_join_all(tasks) => result.map(|_| ()).map_err(CliError::from),
        () = ctrl_c() => Ok(()),
    }
}

fn checkpoint_path(dir: &Path, table: &str) -> std::path::PathBuf {
    dir.join(format!("{table}.checkpoint.json"))
}

fn print_banner(stack: &LocalStack, endpoint: &str) {
    println!("outbox dev: the stack is up at {endpoint}");
    for table in &stack.tables {
        println!("  table {} (stream: {})", table.name, table.stream);
    }
    let kind = if stack.custom_bus {
        " (Custom Event Bus)"
    } else {
        ""
    };
    println!("  bus {}{kind}", stack.bus_name());
    for consumer in &stack.consumers {
        let stand_in = consumer
            .stands_in_for
            .as_deref()
            .map_or_else(String::new, |t| format!(", standing in for {t}"));
        let route = match (stack.custom_bus, consumer.ordered) {
            (false, _) => "rule",
            (true, false) => "subscriber",
            (true, true) => "FIFO subscriber",
        };
        println!(
            "  consumer {} <- {route} {}: queue {}{stand_in}",
            consumer.name, consumer.rule_name, consumer.queue
        );
    }
    println!("  on-failure destination: queue {}", stack.failure_queue);
    if !stack.custom_bus {
        // moto parses each event with Python's json: integers stay exact, fractions are floats.
        println!(
            "  each event's detail is shown as the relay published it: moto's bus delivers a \
             number with a fraction rounded to a double (AWS keeps every digit)"
        );
    }
    if let Some(table) = stack.tables.first() {
        println!(
            "write an item, e.g.: aws dynamodb put-item --endpoint-url {endpoint} --table-name {} --item file://item.json",
            table.name
        );
    }
}

/// `relay compare --classic-queue Q --custom-queue Q`: the comparison as one JSON line, a
/// summary on stderr; exit 1 when the sides differ.
pub(crate) async fn compare(args: CompareArgs) -> Result<(), CliError> {
    if let Some(path) = &args.group
        && outbox_stack::input::path_segments(path).is_none()
    {
        return Err(CliError::Usage(format!(
            "--group {path}: not a path into the event, like `$.detail.orderId`"
        )));
    }
    let config = sdk_config(args.endpoint.as_deref()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let idle = Duration::from_millis(args.idle_ms);
    let visibility = Duration::from_secs(args.visibility_timeout);
    let mut sides = Vec::new();
    for (flag, queue) in [
        ("--classic-queue", &args.classic_queue),
        ("--custom-queue", &args.custom_queue),
    ] {
        let url = find_queue(&config, queue)
            .await?
            .ok_or_else(|| CliError::Usage(format!("{flag} {queue}: no such queue")))?;
        let received =
            crate::compare::read_queue(&sqs, &url, idle, visibility, args.group.as_deref()).await?;
        sides.push(received);
    }
    let comparison = crate::compare::compare(&sides[0], &sides[1]);
    eprintln!(
        "compare: {} message(s) from the Classic bus, {} from the Custom Event Bus: {} only on the Classic side, {} only on the Custom side, {} with other bodies, {} group(s) in another order, {}/{} repeated",
        comparison.classic,
        comparison.custom,
        comparison.only_classic.len(),
        comparison.only_custom.len(),
        comparison.differing.len(),
        comparison.reordered.len(),
        comparison.repeated.classic,
        comparison.repeated.custom,
    );
    println!("{}", serde_json::to_string(&comparison).unwrap_or_default());
    if comparison.same() {
        Ok(())
    } else {
        Err(CliError::Differ)
    }
}
