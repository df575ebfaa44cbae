//! `outbox-runtime`: the part of every generated relay that is the same for every config.
//!
//! Decoding DynamoDB stream records, batching and publishing to EventBridge, retries, failure
//! reporting and the local stream poller live here, written and tested once; generated relays
//! hold only their typed mappings and one call into this crate. The relay runtime is tracked as
//! its own issue; until it lands this crate is empty and no relay is generated.
