//! How many requests a target has in flight at once, writes and reads apart: a write (any
//! call or registry request that may change the server's state) waits for one of the write
//! slots, a read for one of the wider read slots. Shared by every clone of a target, so the
//! limits hold for a whole run however its parts are scheduled. Pacing (`pace`) bounds the
//! rate of each operation; this bounds the concurrency.

use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

/// The write and read slots of a target.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    writes: Arc<Semaphore>,
    reads: Arc<Semaphore>,
}

impl InFlight {
    /// At most `writes` writes and `reads` reads in flight at once (each at least 1).
    pub(crate) fn new(writes: usize, reads: usize) -> Self {
        let slots = |n: usize| Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS)));
        Self {
            writes: slots(writes),
            reads: slots(reads),
        }
    }

    /// No limit.
    pub(crate) fn unlimited() -> Self {
        Self::new(Semaphore::MAX_PERMITS, Semaphore::MAX_PERMITS)
    }

    /// A slot for one request, held until the permit is dropped.
    pub(crate) async fn enter(&self, write: bool) -> SemaphorePermit<'_> {
        let slots = match write {
            true => &self.writes,
            false => &self.reads,
        };
        // The semaphores are never closed.
        slots
            .acquire()
            .await
            .unwrap_or_else(|_| unreachable!("a target's slots are never closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Runs `writes` writes and `reads` reads at once through `flight`, each holding its slot
    /// a moment; the most writes and reads seen in flight together.
    async fn most_at_once(flight: &InFlight, writes: usize, reads: usize) -> (usize, usize) {
        let counters = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let most = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let one = |write: bool| {
            let (now, most) = (&counters[usize::from(write)], &most[usize::from(write)]);
            async move {
                let _slot = flight.enter(write).await;
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let all = (0..writes)
            .map(|_| one(true))
            .chain((0..reads).map(|_| one(false)));
        futures_util::future::join_all(all).await;
        (
            most[1].load(Ordering::SeqCst),
            most[0].load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn writes_and_reads_each_stay_within_their_own_limit() {
        let flight = InFlight::new(2, 6);
        let (writes, reads) = most_at_once(&flight, 20, 20).await;
        assert_eq!((writes, reads), (2, 6));
        let (writes, reads) = most_at_once(&InFlight::unlimited(), 20, 20).await;
        assert_eq!((writes, reads), (20, 20));
    }
}
