//! `outbox-runtime`: the part of every generated relay that is the same for every config.
//!
//! Generated relays hold their typed mappings (a [`Mapper`]) and one call to [`run`];
//! decoding stream records, batching and publishing to EventBridge, retries, failure reporting,
//! poison records, logs and metrics live here, written and tested once.

pub mod attr;
pub mod cli;
pub mod cond;
pub mod entry;
pub mod error;
pub mod handler;
mod lambda;
mod observe;
pub mod pack;
pub mod publish;
pub mod record;
pub mod settings;
pub mod value;

pub use attr::{Attr, Binary, Fields, ItemExcept, Number};
pub use cli::{relay_main, run};
pub use entry::{Drift, EventSpec, Group, MappedEvent, SchemaCell};
pub use error::MapError;
pub use handler::Mapper;
pub use settings::Defaults;

pub use record::{Image, Operation, Record};

/// JSON text kept as written (constants in generated details).
pub use serde_json::value::RawValue as RawJson;

/// mimalloc serves the many small allocations of a batch faster than the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
