//! `outbox-runtime`: the part of every generated relay that is the same for every config.
//!
//! Generated relays hold their typed mappings (a [`Mapper`]) and one call to [`relay_main`];
//! decoding stream records, batching and publishing to EventBridge, retries, failure reporting,
//! poison records, logs and metrics live here, written and tested once.

pub mod attr;
pub mod batch;
pub mod cond;
pub mod entry;
pub mod error;
pub mod handler;
#[cfg(feature = "local")]
pub mod local;
mod main_loop;
pub mod publish;
pub mod record;
pub mod value;

pub use attr::{Attr, Binary, Fields, ItemExcept, Number};
pub use entry::{EventSpec, MappedEvent, SchemaCell};
pub use error::MapError;
pub use handler::Mapper;
pub use main_loop::{Defaults, relay_main, run};

pub use record::{Image, Operation, Record};

/// JSON text kept as written (constants in generated details).
pub use serde_json::value::RawValue as RawJson;

/// mimalloc serves the many small allocations of a batch faster than the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (`mimalloc.h`); libmimalloc-sys
/// names only the v2 options. The test below checks it against the option's default.
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory a batch freed for the next batch instead of giving it back to the OS.
///
/// mimalloc gives freed memory back after a delay (1 s), so a relay invoked less often than
/// that faults in and zeroes the pages of every batch again; on the 10,000-record batch that
/// is about 36 page faults (some of them 2 MiB pages) and 4-5% of the CPU of a batch, even
/// with batches back to back. A Lambda function's memory is reserved for it whatever it
/// uses, so giving pages back saves nothing. [`run`] calls this first; a no-op without the
/// `mimalloc` feature.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` stores the value; mimalloc reads it when it next purges.
    #[cfg(feature = "mimalloc")]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    }
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and stores an option value.
        let (before, after) = unsafe {
            let before = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
            keep_freed_memory();
            (
                before,
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        assert_eq!(before, 1000, "mimalloc v3's default purge delay (ms)");
        assert_eq!(after, -1);
    }
}
