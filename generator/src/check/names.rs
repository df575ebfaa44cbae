//! The naming rules AWS enforces, checked at generate time instead of at deploy time. Each
//! check returns what is wrong, phrased to follow the name in a diagnostic.

/// The AWS partitions an ARN can name: commercial, China, GovCloud, the isolated ones and the
/// European Sovereign Cloud.
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

fn is_partition(text: &str) -> bool {
    PARTITIONS.contains(&text)
}

/// Checks a name against a length range and an allowed character set described in words.
fn check(
    name: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
    allowed_text: &str,
) -> Result<(), String> {
    let len = name.chars().count();
    if len < min || len > max {
        return Err(if min == max {
            format!("must be {min} characters long, not {len}")
        } else {
            format!("must be {min} to {max} characters long, not {len}")
        });
    }
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!("contains {bad:?}; allowed are {allowed_text}"));
    }
    Ok(())
}

fn alnum_or(extra: &'static str) -> impl Fn(char) -> bool {
    move |c| c.is_ascii_alphanumeric() || extra.contains(c)
}

/// The service name: the CloudFormation stack name and the prefix of rule and queue names.
pub fn service(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        40,
        |c| c.is_ascii_alphanumeric() || c == '-',
        "letters, digits and `-`",
    )?;
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter (it names the CloudFormation stack)".into());
    }
    Ok(())
}

/// A bus the stack creates.
pub fn bus(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        256,
        |c| c.is_ascii_alphanumeric() || "/._-".contains(c),
        "letters, digits, `/`, `.`, `_` and `-`",
    )?;
    if name == "default" {
        return Err("names the account's default bus, which a stack cannot create".into());
    }
    if name.starts_with("aws.") {
        return Err("starts with `aws.`, which AWS reserves for partner buses".into());
    }
    Ok(())
}

/// An existing bus: a name or an event bus ARN.
pub fn existing_bus(name: &str) -> Result<(), String> {
    match name.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let ok = parts.len() == 5
                && is_partition(parts[0])
                && parts[1] == "events"
                && !parts[2].is_empty()
                && parts[3].len() == 12
                && parts[3].chars().all(|c| c.is_ascii_digit())
                && parts[4]
                    .strip_prefix("event-bus/")
                    .is_some_and(|n| bus_chars(n).is_ok());
            if ok {
                Ok(())
            } else {
                Err("is not an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)".into())
            }
        }
        None => bus_chars(name),
    }
}

fn bus_chars(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        256,
        |c| c.is_ascii_alphanumeric() || "/._-".contains(c),
        "letters, digits, `/`, `.`, `_` and `-`",
    )
}

/// A DynamoDB table name.
pub fn table(name: &str) -> Result<(), String> {
    check(
        name,
        3,
        255,
        alnum_or("_.-"),
        "letters, digits, `_`, `.` and `-`",
    )
}

/// Text EventBridge accepts in `Source` and `DetailType`: no control characters.
fn printable(name: &str, max: usize) -> Result<(), String> {
    check(name, 1, max, |c| !c.is_control(), "printable characters")
}

/// An event's `Source`.
pub fn source(name: &str) -> Result<(), String> {
    printable(name, 256)?;
    if name.starts_with("aws.") {
        return Err("starts with `aws.`, which is reserved for events from AWS services".into());
    }
    Ok(())
}

/// An event's `DetailType`.
pub fn detail_type(name: &str) -> Result<(), String> {
    printable(name, 128)
}

/// An event, consumer, entity or field name: anything printable (the generator makes valid
/// identifiers of it), not too long.
pub fn config_name(name: &str) -> Result<(), String> {
    printable(name, 128)
}

/// An EventBridge rule name.
pub fn rule(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        64,
        alnum_or("._-"),
        "letters, digits, `.`, `_` and `-`",
    )
}

/// An SQS queue name (`.fifo` included).
pub fn queue(name: &str) -> Result<(), String> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    check(
        base,
        1,
        80 - (name.len() - base.len()),
        alnum_or("_-"),
        "letters, digits, `_` and `-` (and a `.fifo` suffix)",
    )
}

/// A Lambda function name or ARN.
pub fn lambda_function(name: &str) -> Result<(), String> {
    match name.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.split(':').collect();
            let ok = (6..=7).contains(&parts.len())
                && is_partition(parts[0])
                && parts[1] == "lambda"
                && !parts[2].is_empty()
                && parts[3].len() == 12
                && parts[3].chars().all(|c| c.is_ascii_digit())
                && parts[4] == "function"
                && check(parts[5], 1, 64, alnum_or("_-"), "").is_ok();
            if ok {
                Ok(())
            } else {
                Err(
                    "is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
                        .into(),
                )
            }
        }
        None => check(name, 1, 64, alnum_or("_-"), "letters, digits, `_` and `-`"),
    }
}

/// The resource part of an ARN of `service` (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`,
/// a known partition, a region, a 12-digit account), or `None`.
fn arn_resource<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && is_partition(parts[1])
        && parts[2] == service
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit());
    ok.then(|| parts[5])
}

/// The stream ARN of an existing table named `table`.
pub fn stream_arn(arn: &str, table: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let resource = parts.get(5).copied().unwrap_or_default();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && is_partition(parts[1])
        && parts[2] == "dynamodb"
        && parts[4].len() == 12
        && resource
            .strip_prefix("table/")
            .and_then(|r| r.split_once("/stream/"))
            .is_some_and(|(name, label)| !label.is_empty() && name == table);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "is not the stream ARN of table `{table}` (arn:aws:dynamodb:REGION:ACCOUNT:table/{table}/stream/LABEL)"
        ))
    }
}

/// The regions that have the new Custom Event Bus (as of cfn-lint 1.58 and AWS's announcement
/// of 2026-09).
pub const CUSTOM_BUS_REGIONS: [&str; 14] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-north-1",
    "eu-south-2",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-south-1",
    "ap-east-1",
];

/// A Custom Event Bus the stack creates: a letter or digit, then letters, digits, `.`, `-`, `_`.
pub fn custom_bus(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        256,
        alnum_or(".-_"),
        "letters, digits, `.`, `-` and `_`",
    )?;
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    Ok(())
}

/// An existing Custom Event Bus, by ARN: `arn:PARTITION:events:REGION:ACCOUNT:event-busv2/NAME/ID`
/// with the 25-character id AWS generated.
pub fn custom_bus_arn(arn: &str) -> Result<(), String> {
    let ok = arn_resource(arn, "events")
        .and_then(|resource| resource.strip_prefix("event-busv2/"))
        .is_some_and(|rest| {
            let mut pieces = rest.split('/');
            let name = pieces.next().unwrap_or_default();
            let id = pieces.next().unwrap_or_default();
            custom_bus(name).is_ok()
                && id.len() == 25
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && pieces.next().is_none()
        });
    if ok {
        Ok(())
    } else {
        Err("is not the ARN of a Custom Event Bus (arn:aws:events:REGION:ACCOUNT:event-busv2/NAME/ID, ID 25 lowercase letters and digits)".into())
    }
}

/// An AWS region name (`eu-west-1`, `us-gov-west-1`, `cn-north-1`).
pub fn region(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err("is not an AWS region name (like `eu-west-1`)".into())
    }
}

/// An SNS topic the stack creates (standard, not FIFO).
pub fn topic(name: &str) -> Result<(), String> {
    check(name, 1, 256, alnum_or("_-"), "letters, digits, `_` and `-`")
}

/// An existing SNS topic, by ARN.
pub fn existing_topic(arn: &str) -> Result<(), String> {
    let ok =
        arn_resource(arn, "sns").is_some_and(|name| topic(name.trim_end_matches(".fifo")).is_ok());
    if ok {
        Ok(())
    } else {
        Err("is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)".into())
    }
}

/// An ARN of `service` whose resource starts with `resource` (`stateMachine:`,
/// `deliverystream/`, ...) and names something after it; `example` shows the form.
pub fn arn(arn: &str, service: &str, resource: &str, example: &str) -> Result<(), String> {
    let ok = arn_resource(arn, service)
        .is_some_and(|name| name.len() > resource.len() && name.starts_with(resource));
    if ok {
        Ok(())
    } else {
        Err(format!("is not an ARN of the form {example}"))
    }
}

/// A Step Functions state machine name.
pub fn state_machine(name: &str) -> Result<(), String> {
    check(name, 1, 80, alnum_or("_-"), "letters, digits, `_` and `-`")
}

/// A Kinesis data stream name.
pub fn kinesis_stream(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        128,
        alnum_or("_.-"),
        "letters, digits, `_`, `.` and `-`",
    )
}

/// A Firehose delivery stream name.
pub fn delivery_stream(name: &str) -> Result<(), String> {
    check(
        name,
        1,
        64,
        alnum_or("_.-"),
        "letters, digits, `_`, `.` and `-`",
    )
}

/// An S3 bucket's ARN (`arn:aws:s3:::NAME`).
pub fn bucket_arn(arn: &str) -> Result<(), String> {
    let name = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":s3:::"))
        .filter(|(partition, _)| is_partition(partition))
        .map(|(_, name)| name)
        .ok_or_else(|| "is not an S3 bucket ARN (arn:aws:s3:::NAME)".to_owned())?;
    check(
        name,
        3,
        63,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c),
        "lowercase letters, digits, `.` and `-`",
    )
}

/// A log group the stack creates as an EventBridge target (EventBridge writes only to groups
/// under `/aws/events/`).
pub fn event_log_group(name: &str) -> Result<(), String> {
    let Some(rest) = name.strip_prefix("/aws/events/") else {
        return Err("must start with `/aws/events/` (EventBridge writes only there)".into());
    };
    check(
        rest,
        1,
        512 - "/aws/events/".len(),
        alnum_or("_-/.#"),
        "letters, digits, `_`, `-`, `/`, `.` and `#`",
    )
}

/// The retention periods CloudWatch Logs takes, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_a_real_partition() {
        for partition in PARTITIONS {
            assert_eq!(
                existing_bus(&format!(
                    "arn:{partition}:events:us-east-1:123456789012:event-bus/b"
                )),
                Ok(())
            );
            assert_eq!(
                lambda_function(&format!(
                    "arn:{partition}:lambda:us-east-1:123456789012:function:f"
                )),
                Ok(())
            );
            assert_eq!(
                stream_arn(
                    &format!("arn:{partition}:dynamodb:us-east-1:123456789012:table/t/stream/2026"),
                    "t"
                ),
                Ok(())
            );
            assert_eq!(
                existing_topic(&format!("arn:{partition}:sns:us-east-1:123456789012:pager")),
                Ok(())
            );
        }
        for region in [
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-5",
            "eu-central-2",
        ] {
            assert_eq!(super::region(region), Ok(()));
        }
        for region in [
            "eu-west",
            "EU-west-1",
            "europe-west-1",
            "eu--1",
            "eu-west-1a",
            "",
        ] {
            assert!(super::region(region).is_err(), "{region}");
        }
        for arn in [
            "arn:aws:sqs:us-east-1:123456789012:pager",
            "arn:aws:sns:us-east-1:12345:pager",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a b",
            "pager",
        ] {
            assert!(existing_topic(arn).is_err(), "{arn}");
        }
        for partition in ["awsx", "aws-fake", "AWS", "aws-cn-x", ""] {
            assert!(
                existing_bus(&format!(
                    "arn:{partition}:events:us-east-1:123456789012:event-bus/b"
                ))
                .is_err(),
                "{partition}"
            );
            assert!(
                lambda_function(&format!(
                    "arn:{partition}:lambda:us-east-1:123456789012:function:f"
                ))
                .is_err(),
                "{partition}"
            );
            assert!(
                stream_arn(
                    &format!("arn:{partition}:dynamodb:us-east-1:123456789012:table/t/stream/2026"),
                    "t"
                )
                .is_err(),
                "{partition}"
            );
        }
    }
}
