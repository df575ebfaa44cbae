//! Decoding real stream event shapes: the examples shipped with aws_lambda_events, and every
//! attribute type and edge case of ours.

mod support;

use outbox_runtime::attribute::read::Item;
use outbox_runtime::entry::EventSpec;
use outbox_runtime::handler::{self, Options};
use outbox_runtime::record::{RawBatch, ReadsImages, Record};
use outbox_runtime::{Attr, Image, ItemExcept, Operation};

fn decode_all(text: &str) -> Vec<Result<Record<'_>, outbox_runtime::error::RecordError>> {
    RawBatch::parse(text)
        .unwrap()
        .records
        .into_iter()
        .map(Record::decode)
        .collect()
}

#[test]
fn aws_lambda_events_examples_decode() {
    let records = decode_all(include_str!("fixtures/example-dynamodb-event.json"));
    assert_eq!(records.len(), 2);
    let first = records[0].as_ref().unwrap();
    assert_eq!(first.operation, Operation::Insert);
    assert_eq!(first.table, "Example-Table");
    assert_eq!(
        first.sequence_number.as_deref(),
        Some("1405400000000002063282832")
    );
    assert_eq!(first.time, Some(1_480_642_020));
    let image = serde_json::to_value(ItemExcept {
        item: first.image(Image::New),
        except: &[],
    })
    .unwrap();
    assert_eq!(
        image,
        serde_json::json!({"asdf1": "AAEqQQ==", "asdf2": ["AAEqQQ==", "QSoBAA=="], "key": "binary", "val": "data"})
    );

    for record in decode_all(include_str!(
        "fixtures/example-dynamodb-event-null-items.json"
    )) {
        let record = record.unwrap();
        assert!(record.image(Image::New).is_empty() || record.image(Image::Old).is_empty());
    }

    let single = include_str!("fixtures/example-dynamodb-event-record-with-optional-fields.json");
    let record = Record::decode(serde_json::from_str(single).unwrap()).unwrap();
    assert_eq!(
        record.table, "examples",
        "tableName stands in for eventSourceARN"
    );
    assert_eq!(record.sequence_number, None);
    assert_eq!(record.time, None);
}

const EVERY_TYPE: &str = r#"{"Records": [{
  "eventID": "e1", "eventName": "MODIFY",
  "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/app-table/stream/2026-01-01T00:00:00.000",
  "dynamodb": {
    "ApproximateCreationDateTime": 1700000000.206,
    "SequenceNumber": "42",
    "Keys": {"pk": {"S": "USER#1"}},
    "NewImage": {
      "pk": {"S": "USER#1"},
      "exact": {"N": "12345678901234567890.123456789012345678"},
      "price": {"N": "129.95"},
      "negative": {"N": "-0.000000000000000000000000000000000001"},
      "big": {"N": "9223372036854775807"},
      "empty": {"S": ""},
      "unicode": {"S": "Zoë 🚀 \u0000 \"quoted\""},
      "yes": {"BOOL": true},
      "nothing": {"NULL": true},
      "blob": {"B": "AAEqQQ=="},
      "names": {"SS": ["a", "b"]},
      "numbers": {"NS": ["1", "2.5"]},
      "blobs": {"BS": ["AAEqQQ=="]},
      "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"BOOL": false}}}]},
      "map": {"M": {"z": {"S": "last"}, "a": {"L": []}, "m": {"M": {}}}}
    }
  }
}]}"#;

#[test]
fn every_attribute_type_becomes_exact_json() {
    let record = decode_all(EVERY_TYPE).pop().unwrap().unwrap();
    assert_eq!(
        record.time,
        Some(1_700_000_000),
        "fractional seconds are seconds, not microseconds"
    );
    let text = serde_json::to_string(&ItemExcept {
        item: record.image(Image::New),
        except: &["pk"],
    })
    .unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"big":9223372036854775807,"blob":"AAEqQQ==","blobs":["AAEqQQ=="],"empty":"","#,
            r#""exact":12345678901234567890.123456789012345678,"list":["x",1,{"k":false}],"#,
            r#""map":{"a":[],"m":{},"z":"last"},"names":["a","b"],"#,
            r#""negative":-0.000000000000000000000000000000000001,"nothing":null,"numbers":[1,2.5],"#,
            r#""price":129.95,"unicode":"Zoë 🚀 \u0000 \"quoted\"","yes":true}"#
        )
    );
}

#[test]
fn integers_beyond_what_eventbridge_accepts_are_an_error_not_a_rounding() {
    let value = outbox_runtime::attribute::read::AttributeValue::N(
        "12345678901234567890123456789012345678".into(),
    );
    let error = serde_json::to_string(&Attr(&value))
        .unwrap_err()
        .to_string();
    assert!(error.contains("38 digits"), "{error}");
    assert!(error.contains("type: string"), "{error}");
}

#[test]
fn an_integer_too_large_inside_a_copied_item_names_its_place_and_a_fix_that_can_be_declared() {
    let record = support::record(
        0,
        "INSERT",
        "ITEM#0",
        0,
        r#", "address": {"M": {"zip": {"N": "123456789012345678901234"}}},
           "lines": {"L": [{"M": {"qty": {"N": "1"}}}, {"M": {"qty": {"N": "99999999999999999999"}}}]}"#,
    );
    let batch = serde_json::json!({"Records": [record]}).to_string();
    let (record, _) = RawBatch::parse(&batch)
        .map(|b| b.records)
        .map(|r| Record::decode(r[0]).unwrap())
        .map(|r| (r, ()))
        .unwrap();
    let rest = ItemExcept {
        item: record.image(Image::New),
        except: &["lines"],
    };
    let error = serde_json::to_string(&rest).unwrap_err().to_string();
    assert!(
        error.starts_with("at `address.zip`: the integer has 24 digits"),
        "{error}"
    );
    assert!(
        error.contains("with `except` and declare it as a field"),
        "{error}"
    );
    let rest = ItemExcept {
        item: record.image(Image::New),
        except: &["address"],
    };
    let error = serde_json::to_string(&rest).unwrap_err().to_string();
    assert!(
        error.starts_with("at `lines.1.qty`: the integer has 20 digits"),
        "{error}"
    );
}

#[test]
fn a_malformed_record_is_an_error_of_that_record_only() {
    let good = support::record(1, "INSERT", "ITEM#1", 1, "");
    let mut bad_b64 = support::record(2, "INSERT", "ITEM#2", 2, r#", "b": {"B": "not base64!"}"#);
    bad_b64["dynamodb"]["NewImage"]["b"] = serde_json::json!({"B": "***"});
    let no_name = serde_json::json!({"eventID": "x", "dynamodb": {"SequenceNumber": "77"}});
    let batch =
        serde_json::json!({"Records": [good, bad_b64, no_name, {"garbage": true}]}).to_string();
    let results = decode_all(&batch);
    assert!(results[0].is_ok());
    // Images decode when read: reading the malformed one gives nothing and keeps the reason.
    let second = results[1].as_ref().unwrap();
    assert!(second.image_error().is_none());
    assert!(second.image(Image::New).is_empty());
    let reason = second.image_error().unwrap();
    assert!(
        reason.contains("NewImage") && reason.contains("base64"),
        "{reason}"
    );
    assert_eq!(
        results[2].as_ref().unwrap_err().sequence_number.as_deref(),
        Some("77")
    );
    assert_eq!(results[3].as_ref().unwrap_err().sequence_number, None);

    // The handler reports a record whose image its mapping read and could not decode.
    let prepared =
        handler::prepare(&support::TestMapper, &batch, &Options::new("bus"), None).unwrap();
    let (index, failure) = prepared.failure.unwrap();
    assert_eq!(index, 1);
    assert_eq!(failure.kind, outbox_runtime::error::FailureKind::Decode);
    assert_eq!(
        failure.sequence_number.as_deref(),
        Some(support::sequence_number(2).as_str())
    );
    assert!(failure.reason.contains("base64"), "{}", failure.reason);
    assert_eq!(prepared.entries.len(), 1, "the record before it is mapped");
}

#[test]
fn missing_images_are_empty_not_a_panic() {
    let batch = support::batch(7, 7);
    let remove = decode_all(&batch).pop().unwrap().unwrap();
    assert_eq!(remove.operation, Operation::Remove);
    assert!(remove.image(Image::New).is_empty());
    assert!(remove.get(Image::New, "pk").is_none());
}

#[test]
fn a_poison_record_fails_the_batch_at_itself_under_the_fail_policy() {
    let records = vec![
        support::record(0, "INSERT", "ITEM#0", 0, ""),
        support::record(1, "INSERT", "ITEM#1", 1, r#", "poison": {"BOOL": true}"#),
        support::record(2, "INSERT", "ITEM#2", 2, ""),
    ];
    let batch = serde_json::json!({"Records": records}).to_string();
    let prepared =
        handler::prepare(&support::TestMapper, &batch, &Options::new("bus"), None).unwrap();
    assert_eq!(
        prepared.entries.len(),
        1,
        "only the record before the poison one is mapped"
    );
    let (index, error) = prepared.failure.unwrap();
    assert_eq!(index, 1);
    assert_eq!(
        error.sequence_number.as_deref(),
        Some(support::sequence_number(1).as_str())
    );
    assert!(
        error.reason.contains("ItemChanged.poison"),
        "{}",
        error.reason
    );
}

#[test]
fn a_detail_that_breaks_its_schema_is_a_poison_record_without_its_contents() {
    let records = vec![
        support::record(0, "INSERT", "ITEM#0", 0, ""),
        serde_json::from_str::<serde_json::Value>(
            &support::record(1, "INSERT", "ITEM#1", 1, "")
                .to_string()
                .replace(r#"{"N":"1"}"#, r#"{"N":"1.5"}"#),
        )
        .unwrap(),
    ];
    let batch = serde_json::json!({"Records": records}).to_string();
    let prepared =
        handler::prepare(&support::TestMapper, &batch, &Options::new("bus"), None).unwrap();
    let (index, error) = prepared.failure.expect("n = 1.5 is not an integer");
    assert_eq!(index, 1);
    assert_eq!(error.kind, outbox_runtime::error::FailureKind::Schema);
    assert_eq!(
        error.reason,
        "the ItemChanged detail breaks its schema: /n: violates `type` (expected integer)"
    );

    let mut off = Options::new("bus");
    off.validate = false;
    let prepared = handler::prepare(&support::TestMapper, &batch, &off, None).unwrap();
    assert!(
        prepared.failure.is_none(),
        "OUTBOX_VALIDATE=off publishes it"
    );
}

#[test]
fn a_well_formed_batch_decodes_in_one_pass_and_a_malformed_one_record_by_record() {
    let never = |_: Operation, _: &Item| false;
    let always = |_: Operation, _: &Item| true;
    let good = support::batch(20, 7);
    let decoded: Vec<_> = outbox_runtime::record::decode_batch(&good, &never)
        .unwrap()
        .collect();
    assert_eq!(decoded.len(), 20);
    assert!(
        decoded.iter().all(|(r, raw)| r.is_ok() && raw.is_none()),
        "one pass"
    );

    let mut records: serde_json::Value = serde_json::from_str(&good).unwrap();
    records["Records"][5]["eventName"] = "UPSERT".into();
    let bad = records.to_string();
    let decoded: Vec<_> = outbox_runtime::record::decode_batch(&bad, &always)
        .unwrap()
        .collect();
    assert!(
        decoded.iter().all(|(_, raw)| raw.is_some()),
        "record by record"
    );
    // Record by record, and in one pass with the images kept as text or decoded in the pass:
    // the same records.
    for reads_images in [&never as ReadsImages, &always] {
        let one_pass: Vec<_> = outbox_runtime::record::decode_batch(&good, reads_images)
            .unwrap()
            .collect();
        for (i, ((a, _), (b, _))) in decoded.iter().zip(&one_pass).enumerate() {
            if i == 5 {
                assert!(a.as_ref().unwrap_err().reason.contains("UPSERT"));
                continue;
            }
            let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
            assert_eq!(
                (
                    &a.event_id,
                    a.operation,
                    &a.table,
                    &a.sequence_number,
                    a.time,
                    &a.keys,
                    a.ttl_expiry,
                    &a.aws_region,
                    &a.event_source_arn
                ),
                (
                    &b.event_id,
                    b.operation,
                    &b.table,
                    &b.sequence_number,
                    b.time,
                    &b.keys,
                    b.ttl_expiry,
                    &b.aws_region,
                    &b.event_source_arn
                )
            );
            assert_eq!(a.image(Image::New), b.image(Image::New));
            assert_eq!(a.image(Image::Old), b.image(Image::Old));
        }
    }
}

#[test]
fn images_decoded_in_the_one_pass_are_the_images_read_later() {
    // AWS's order (keys before images), keys after the images, escapes, nulls, unknown fields:
    // whatever the predicate says, each record reads the same; it is asked only when the
    // operation and the keys came first.
    let event = r#"{"Records":[
        {"eventID":"1","eventName":"MODIFY","awsRegion":"eu-west-1","eventVersion":"1.1",
         "dynamodb":{"ApproximateCreationDateTime":1700000000.5,"Keys":{"pk":{"S":"ORDER#1"}},
           "NewImage":{"pk":{"S":"ORDER#1"},"status":{"S":"PAID"},"n":{"N":"12345678901234567890123456789012345678"}},
           "OldImage":{"pk":{"S":"ORDER#1"},"status":{"S":"PEND\u0049NG"}},
           "SequenceNumber":"10","SizeBytes":9,"StreamViewType":"NEW_AND_OLD_IMAGES"},
         "eventSourceARN":"arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x"},
        {"eventID":"2","dynamodb":{"NewImage":{"pk":{"S":"USER#\u00e9"},"tags":{"SS":["a","b"]}},
           "Keys":{"pk":{"S":"USER#\u00e9"}},"OldImage":null,"SequenceNumber":"11"},
         "eventName":"INSERT","tableName":"t","userIdentity":null},
        {"eventID":"3","eventName":"REMOVE","dynamodb":{"Keys":{"pk":{"S":"USER#2"}},
           "OldImage":{"pk":{"S":"USER#2"}},"SequenceNumber":"12"},"tableName":"t",
         "userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}}
    ]}"#;
    let asked = std::sync::Mutex::new(Vec::new());
    let reads = |operation: Operation, keys: &Item| {
        asked.lock().unwrap().push(operation);
        keys.get("pk").is_some()
    };
    let eager: Vec<_> = outbox_runtime::record::decode_batch(event, &reads)
        .unwrap()
        .map(|(r, raw)| {
            assert!(raw.is_none(), "one pass");
            r.unwrap()
        })
        .collect();
    assert_eq!(
        *asked.lock().unwrap(),
        [Operation::Modify, Operation::Remove],
        "record 2 names its operation and keys after its images"
    );
    let never = |_: Operation, _: &Item| false;
    let lazy: Vec<_> = outbox_runtime::record::decode_batch(event, &never)
        .unwrap()
        .map(|(r, _)| r.unwrap())
        .collect();
    assert_eq!(eager.len(), 3);
    for (a, b) in eager.iter().zip(&lazy) {
        for image in [Image::New, Image::Old] {
            assert_eq!(a.image(image), b.image(image));
        }
        assert_eq!((a.image_error(), b.image_error()), (None, None));
    }
    assert_eq!(
        eager[0].get(Image::Old, "status"),
        Some(&outbox_runtime::attribute::read::AttributeValue::S(
            "PENDING".into()
        ))
    );
    assert!(eager[2].ttl_expiry && eager[2].image(Image::New).is_empty());
}

#[test]
fn a_malformed_image_decoded_in_the_one_pass_is_its_records_error_as_before() {
    // A `BOOL` that is a string: the image does not decode. Read in the pass, it sends the
    // batch record by record, where the record reads it when asked and reports it as before.
    let event = r#"{"Records":[
        {"eventID":"1","eventName":"INSERT","tableName":"t","dynamodb":{"Keys":{"pk":{"S":"A"}},
           "NewImage":{"pk":{"S":"A"},"ok":{"BOOL":"yes"}},"SequenceNumber":"1"}},
        {"eventID":"2","eventName":"INSERT","tableName":"t","dynamodb":{"Keys":{"pk":{"S":"B"}},
           "NewImage":{"pk":{"S":"B"}},"SequenceNumber":"2"}}
    ]}"#;
    let always = |_: Operation, _: &Item| true;
    let never = |_: Operation, _: &Item| false;
    let eager: Vec<_> = outbox_runtime::record::decode_batch(event, &always)
        .unwrap()
        .collect();
    assert!(
        eager.iter().all(|(_, raw)| raw.is_some()),
        "record by record"
    );
    let lazy: Vec<_> = outbox_runtime::record::decode_batch(event, &never)
        .unwrap()
        .collect();
    assert!(lazy.iter().all(|(_, raw)| raw.is_none()), "one pass");
    for ((a, _), (b, _)) in eager.iter().zip(&lazy) {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        assert_eq!(a.image(Image::New), b.image(Image::New));
        assert_eq!(a.image_error(), b.image_error());
    }
    assert!(
        eager[0]
            .0
            .as_ref()
            .unwrap()
            .image_error()
            .unwrap()
            .starts_with("NewImage: ")
    );
}

#[test]
fn a_detail_checked_as_built_gets_the_verdict_its_text_gets() {
    // `MappedEvent::new` hands the check the value built from the typed detail; a detail
    // without it is parsed back from its text. Both must say the same, reasons included.
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        id: &'a str,
        n: outbox_runtime::Number<'a>,
    }
    let numbers = ["7", "1.5", "-0", "1e400", "1.0e2", "9007199254740993"];
    for n in numbers {
        let detail = Detail {
            id: "x",
            n: outbox_runtime::Number::parse(n).unwrap(),
        };
        let built = outbox_runtime::MappedEvent::new(&support::CHANGED, &detail).unwrap();
        let parsed =
            serde_json::from_str::<serde_json::Value>(&built.detail).map_err(|e| e.to_string());
        let by_text = parsed.and_then(|value| support::CHANGED.check(&value));
        let by_value = match &built.value {
            Some(value) => support::CHANGED.check(value),
            // Not representable as a value (1e400): the check parses the text, as before.
            None => {
                assert_eq!(n, "1e400");
                by_text.clone()
            }
        };
        assert_eq!(by_value, by_text, "n = {n}");
    }
    let ok = outbox_runtime::MappedEvent::new(
        &support::CHANGED,
        &serde_json::json!({"id": "x", "n": 7}),
    );
    assert_eq!(
        support::CHANGED.check(ok.unwrap().value.as_ref().unwrap()),
        Ok(())
    );
    let bad = serde_json::json!({"id": 1, "n": 1.5});
    assert_eq!(
        support::CHANGED.check(&bad),
        Err(
            "the ItemChanged detail breaks its schema: /id: violates `type` (expected string); \
             /n: violates `type` (expected integer)"
                .into()
        )
    );
}

#[test]
fn a_schema_violation_names_the_missing_or_unexpected_field_never_a_value() {
    static CLOSED: EventSpec = EventSpec {
        name: "UserCreated",
        id_key: "UserCreated",
        source: "app.users",
        detail_type: "UserCreated",
        schema: r#"{"type": "object", "required": ["email", "a/b~c"], "additionalProperties": false,
            "properties": {"email": {"type": "string", "format": "email"}, "a/b~c": {"type": "string"},
            "address": {"type": "object", "required": ["city"]}}}"#,
        drift: outbox_runtime::Drift::Stop,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    let reason = CLOSED
        .check(&serde_json::json!({"address": {}, "secretField": "s3cr3t value"}))
        .unwrap_err();
    assert_eq!(
        reason,
        "the UserCreated detail breaks its schema: /email: missing (violates `required`); \
         /a~1b~0c: missing (violates `required`); /address/city: missing (violates `required`); \
         /: unexpected `secretField` (violates `additionalProperties`)"
    );
    assert!(!reason.contains("s3cr3t"));

    // What the schema asks for is named (its types and allowed values), the value found never.
    static STATUS: EventSpec = EventSpec {
        name: "OrderPlaced",
        id_key: "OrderPlaced",
        source: "app.orders",
        detail_type: "OrderPlaced",
        schema: r#"{"type": "object", "properties": {"status": {"enum": ["PLACED", "PAID"]},
            "total": {"type": ["number", "string"]}}}"#,
        drift: outbox_runtime::Drift::Stop,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    let reason = STATUS
        .check(&serde_json::json!({"status": "s3cr3t", "total": true}))
        .unwrap_err();
    assert_eq!(
        reason,
        "the OrderPlaced detail breaks its schema: \
         /status: violates `enum` (expected one of \"PLACED\", \"PAID\"); \
         /total: violates `type` (expected number or string)"
    );
}

#[test]
fn an_internationalized_address_needs_idn_email() {
    static ASCII: EventSpec = EventSpec {
        name: "A",
        id_key: "A",
        source: "s",
        detail_type: "A",
        schema: r#"{"properties": {"email": {"type": "string", "format": "email"}, "host": {"type": "string", "format": "hostname"}}}"#,
        drift: outbox_runtime::Drift::Stop,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    static IDN: EventSpec = EventSpec {
        name: "B",
        id_key: "B",
        source: "s",
        detail_type: "B",
        schema: r#"{"properties": {"email": {"type": "string", "format": "idn-email"}, "host": {"type": "string", "format": "idn-hostname"}}}"#,
        drift: outbox_runtime::Drift::Stop,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    let international =
        serde_json::json!({"email": "radia.müller@example.org", "host": "bücher.example"});
    let reason = ASCII.check(&international).unwrap_err();
    assert!(
        reason.contains("/email: violates `format` (expected email)"),
        "{reason}"
    );
    assert!(
        reason.contains("/host: violates `format` (expected hostname)"),
        "{reason}"
    );
    assert!(
        !reason.contains("müller"),
        "never the value found: {reason}"
    );
    assert_eq!(IDN.check(&international), Ok(()));
    assert!(
        IDN.check(&serde_json::json!({"email": "not an address"}))
            .is_err()
    );
}

/// Maps like the test mapper, under an event spec with the given drift policy.
struct DriftMapper(&'static EventSpec);

impl outbox_runtime::Mapper for DriftMapper {
    fn map(
        &self,
        record: &Record,
        out: &mut Vec<outbox_runtime::MappedEvent>,
    ) -> Result<(), outbox_runtime::MapError> {
        let f = outbox_runtime::Fields { event: self.0.name };
        let id = f.required("id", f.string("id", record.get(Image::New, "pk"))?)?;
        let n = f.required("n", f.number("n", record.get(Image::New, "n"))?)?;
        out.push(outbox_runtime::MappedEvent::new(
            self.0,
            &serde_json::json!({ "id": id, "n": serde_json::to_value(n).unwrap() }),
        )?);
        Ok(())
    }
}

#[test]
fn a_drifted_detail_follows_its_events_drift_policy() {
    const SCHEMA: &str = r#"{"type": "object", "required": ["id", "n"], "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}}"#;
    static DEAD_LETTER: EventSpec = EventSpec {
        name: "ItemChanged",
        id_key: "ItemChanged",
        source: "test.items",
        detail_type: "ItemChanged",
        schema: SCHEMA,
        drift: outbox_runtime::Drift::DeadLetter,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    static PUBLISH: EventSpec = EventSpec {
        name: "ItemChanged",
        id_key: "ItemChanged",
        source: "test.items",
        detail_type: "ItemChanged",
        schema: SCHEMA,
        drift: outbox_runtime::Drift::Publish,
        group: outbox_runtime::Group::Key("pk"),
        snapshot: false,
        compiled: outbox_runtime::SchemaCell::new(),
    };
    // Record 1's n is 1.5, not an integer: its detail drifted from the schema.
    let records: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            let record = support::record(i, "INSERT", &format!("ITEM#{i}"), i, "");
            if i == 1 {
                serde_json::from_str(&record.to_string().replace(r#"{"N":"1"}"#, r#"{"N":"1.5"}"#))
                    .unwrap()
            } else {
                record
            }
        })
        .collect();
    let batch = serde_json::json!({"Records": records}).to_string();
    let mut options = Options::new("bus");
    options.dead_letter_source = "test.outbox".into();

    // Dead-letter: the stream goes on; the drifted event becomes a dead letter with the keys
    // and the reason, never the detail.
    let prepared = handler::prepare(&DriftMapper(&DEAD_LETTER), &batch, &options, None).unwrap();
    assert!(prepared.failure.is_none(), "{:?}", prepared.failure);
    assert_eq!(prepared.stats.dead_lettered, 1);
    assert_eq!(prepared.entries.len(), 3);
    let letter = &prepared.entries[1];
    assert_eq!(letter.detail_type, "Outbox Poison Record");
    assert_eq!(letter.source, "test.outbox");
    assert_eq!(
        letter.resources,
        [format!(
            "urn:outbox:event:{}:ItemChanged:dead-letter",
            records[1]["eventID"].as_str().unwrap()
        )]
    );
    let detail: serde_json::Value = serde_json::from_str(&letter.detail).unwrap();
    assert_eq!(detail["kind"], "schema");
    assert_eq!(detail["event"], "ItemChanged");
    assert_eq!(detail["keys"], serde_json::json!({"pk": "ITEM#1"}));
    assert_eq!(
        detail["sequenceNumber"],
        records[1]["dynamodb"]["SequenceNumber"]
    );
    assert!(
        detail["reason"]
            .as_str()
            .unwrap()
            .contains("/n: violates `type`"),
        "{detail}"
    );
    assert!(!letter.detail.contains("1.5"), "{}", letter.detail);
    assert_eq!(prepared.entries[2].detail_type, "ItemChanged");

    // Publish: the event goes out as it is, counted.
    let prepared = handler::prepare(&DriftMapper(&PUBLISH), &batch, &options, None).unwrap();
    assert!(prepared.failure.is_none());
    assert_eq!(prepared.stats.drifted, 1);
    assert_eq!(prepared.stats.dead_lettered, 0);
    assert!(
        prepared
            .entries
            .iter()
            .all(|e| e.detail_type == "ItemChanged")
    );
    assert!(prepared.entries[1].detail.contains("1.5"));

    // Stop: the record is poison (the default poison policy fails it).
    let prepared = handler::prepare(&support::TestMapper, &batch, &options, None).unwrap();
    assert_eq!(prepared.failure.map(|(i, _)| i), Some(1));
}
