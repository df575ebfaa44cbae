//! DynamoDB attribute values, both ways: [`read`] takes them as a stream event writes them
//! (`{"S": "..."}`, borrowed from the event's text), [`write`] puts them in event JSON exactly
//! and gives generated mappings their typed accessors.

pub mod read;
pub mod write;
