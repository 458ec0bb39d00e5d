//! Fault injection, for client authors' retry logic: throttling, server errors, slow answers
//! and truncated bodies on chosen requests, in the in-process server and the wiremock
//! responder alike.
//!
//! A fault is added to an [`Endpoint`](super::Endpoint) with
//! [`fault_on`](super::Endpoint::fault_on) (one operation) or
//! [`fault_on_any`](super::Endpoint::fault_on_any), and picks its requests with [`When`]:
//! [`nth`], [`first`], [`every`] or [`always`], counted among the requests it matches from the
//! moment it is added. When several faults pick a request, the first one added applies.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::model::OpError;
use crate::wire::Operation;

/// What goes wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 400 with an AWS JSON `ThrottlingException`; the request is not applied.
    Throttle,
    /// HTTP 500 with an AWS JSON `ServerException`; the request is not applied.
    ServerError,
    /// The normal answer, sent after this delay (the request is applied at once).
    Delay(Duration),
    /// The normal status with the first half of the body, with a matching `Content-Length`
    /// (the request is applied: the client cannot tell whether it was).
    Truncate,
}

impl Fault {
    /// The error answered instead of applying the request, for the faults that refuse it.
    pub(crate) fn refusal(self) -> Option<OpError> {
        match self {
            Fault::Throttle => Some(OpError::new("ThrottlingException", "Rate exceeded")),
            Fault::ServerError => Some(OpError::new(
                "ServerException",
                "injected server error (ecr-contract fault)",
            )),
            Fault::Delay(_) | Fault::Truncate => None,
        }
    }
}

/// Which of the requests a fault matches it applies to, counted from 1 since it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    from: u64,
    to: u64,
    every: u64,
}

impl When {
    fn fires(self, k: u64) -> bool {
        (self.from..=self.to).contains(&k) && k.is_multiple_of(self.every)
    }
}

/// Only the `n`-th matching request (from 1).
pub fn nth(n: u64) -> When {
    When {
        from: n,
        to: n,
        every: 1,
    }
}

/// The first `n` matching requests: a client that retries `n` times gets through.
pub fn first(n: u64) -> When {
    When {
        from: 1,
        to: n,
        every: 1,
    }
}

/// Every `n`-th matching request: the `n`-th, the `2n`-th, ... (`every(0)` is never).
pub fn every(n: u64) -> When {
    When {
        from: if n == 0 { u64::MAX } else { 1 },
        to: if n == 0 { 0 } else { u64::MAX },
        every: n.max(1),
    }
}

/// Every matching request.
pub fn always() -> When {
    every(1)
}

#[derive(Debug)]
struct Rule {
    operation: Option<Operation>,
    when: When,
    fault: Fault,
    seen: u64,
}

/// The faults of one endpoint and the requests it has seen, per operation. Without faults a
/// request costs two atomic operations, no lock.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    seen: [AtomicU64; Operation::ALL.len()],
}

impl Faults {
    /// Adds `fault` on the requests of `operation` (any when `None`) that `when` picks.
    pub(crate) fn add(&self, operation: Option<Operation>, when: When, fault: Fault) {
        let mut rules = lock(&self.rules);
        rules.push(Rule {
            operation,
            when,
            fault,
            seen: 0,
        });
        self.armed.store(true, Ordering::Release);
    }

    /// Removes every fault.
    pub(crate) fn clear(&self) {
        let mut rules = lock(&self.rules);
        rules.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// Counts a request of `operation` (`None`: not one of ECR's) and returns its fault.
    pub(crate) fn next(&self, operation: Option<Operation>) -> Option<Fault> {
        if let Some(counter) = operation.and_then(|op| self.counter(op)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut picked = None;
        for rule in lock(&self.rules).iter_mut() {
            if rule.operation.is_none() || rule.operation == operation {
                rule.seen += 1;
                if picked.is_none() && rule.when.fires(rule.seen) {
                    picked = Some(rule.fault);
                }
            }
        }
        picked
    }

    /// Requests of `operation` received so far, faulted or not.
    pub(crate) fn seen(&self, operation: Operation) -> u64 {
        self.counter(operation)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    fn counter(&self, operation: Operation) -> Option<&AtomicU64> {
        let index = Operation::ALL.iter().position(|op| *op == operation)?;
        self.seen.get(index)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
