//! PutEvents on EventBridge's new Custom Event Bus (`eventbridgev2`) speaks Smithy RPC v2
//! CBOR: the request and the answer are CBOR maps with the API's member names. This is that
//! codec for the one operation the relay calls, with `minicbor` (the codec under the AWS SDK's
//! own `aws-smithy-cbor`).

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use crate::entry::Entry;

/// The path of PutEvents under the endpoint.
pub const PATH: &str = "/service/AWSEventsV2/operation/PutEvents";

/// The body of a PutEvents request: the bus ARN and the entries (`Source`, `DetailType`,
/// `Detail`, `Resources`, `Time` as an epoch-seconds timestamp, `SystemMetadata`). The new bus
/// takes no `EventBusName` or `TraceHeader` per entry.
pub fn request_body(bus_arn: &str, entries: &[&Entry], body: &mut Vec<u8>) {
    let mut e = Encoder::new(body);
    // Writing to a Vec cannot fail.
    let _ = encode(&mut e, bus_arn, entries);
}

fn encode(
    e: &mut Encoder<&mut Vec<u8>>,
    bus_arn: &str,
    entries: &[&Entry],
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(2)?.str("EventBusArn")?.str(bus_arn)?;
    e.str("Entries")?.array(entries.len() as u64)?;
    for entry in entries {
        let fields =
            4 + u64::from(entry.time.is_some()) + u64::from(entry.system_metadata.is_some());
        e.map(fields)?;
        e.str("Source")?.str(&entry.source)?;
        e.str("DetailType")?.str(&entry.detail_type)?;
        e.str("Detail")?.str(&entry.detail)?;
        e.str("Resources")?.array(entry.resources.len() as u64)?;
        for resource in &entry.resources {
            e.str(resource)?;
        }
        if let Some(time) = entry.time {
            // Smithy timestamps: tag 1 (epoch seconds), here a whole number of seconds.
            e.str("Time")?.tag(Tag::new(1))?.i64(time)?;
        }
        if let Some(system) = &entry.system_metadata {
            e.str("SystemMetadata")?.map(2)?;
            e.str("EventGroupId")?.str(&system.event_group_id)?;
            e.str("DeduplicationId")?.str(&system.deduplication_id)?;
        }
    }
    Ok(())
}

/// One result entry of an answer: `(ErrorCode, ErrorMessage)`; neither on success (`SuccessCode`
/// `PUBLISHED` or `DEDUPLICATED`).
pub type ResultEntry = (Option<String>, Option<String>);

/// The result entries of a PutEvents answer, in request order.
pub fn decode_output(body: &[u8]) -> Result<Vec<ResultEntry>, String> {
    let mut d = Decoder::new(body);
    let mut results = Vec::new();
    each_member(&mut d, |d, name| {
        if name == "Entries" {
            each_item(d, |d| {
                let (mut code, mut message) = (None, None);
                each_member(d, |d, name| {
                    match name {
                        "ErrorCode" => code = Some(d.str()?.to_owned()),
                        "ErrorMessage" => message = Some(d.str()?.to_owned()),
                        _ => d.skip()?,
                    }
                    Ok(())
                })?;
                results.push((code, message));
                Ok(())
            })
        } else {
            d.skip()
        }
    })
    .map_err(|e| format!("the PutEvents answer is not the CBOR it should be: {e}"))?;
    Ok(results)
}

/// An error answer: `(__type, message)`; empty when the body is not a CBOR map.
pub fn decode_error(body: &[u8]) -> (String, String) {
    let mut d = Decoder::new(body);
    let (mut kind, mut message) = (String::new(), String::new());
    let _ = each_member(&mut d, |d, name| {
        match name {
            "__type" => kind = d.str()?.to_owned(),
            "message" | "Message" => message = d.str()?.to_owned(),
            _ => d.skip()?,
        }
        Ok(())
    });
    (kind, message)
}

/// Calls `member` with each key of a map (definite or indefinite length), the decoder at its
/// value.
fn each_member(
    d: &mut Decoder,
    mut member: impl FnMut(&mut Decoder, &str) -> Result<(), minicbor::decode::Error>,
) -> Result<(), minicbor::decode::Error> {
    match d.map()? {
        Some(n) => {
            for _ in 0..n {
                let name = d.str()?.to_owned();
                member(d, &name)?;
            }
        }
        None => {
            while d.datatype()? != Type::Break {
                let name = d.str()?.to_owned();
                member(d, &name)?;
            }
            d.set_position(d.position() + 1);
        }
    }
    Ok(())
}

/// Calls `item` with the decoder at each item of an array (definite or indefinite length).
fn each_item(
    d: &mut Decoder,
    mut item: impl FnMut(&mut Decoder) -> Result<(), minicbor::decode::Error>,
) -> Result<(), minicbor::decode::Error> {
    match d.array()? {
        Some(n) => {
            for _ in 0..n {
                item(d)?;
            }
        }
        None => {
            while d.datatype()? != Type::Break {
                item(d)?;
            }
            d.set_position(d.position() + 1);
        }
    }
    Ok(())
}
