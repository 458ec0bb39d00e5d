//! The wall clock, read in one place: nanoseconds since the Unix epoch, for run prefixes,
//! seeds and the time a registry probe asked. It must not be used to time anything (that is
//! `Instant`'s job) or to decide what a run sends.

pub(super) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
