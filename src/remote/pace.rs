//! Pacing: a client-side limit on requests per second for each operation, so that a run
//! against real ECR stays under its quotas, and slows down further where it is throttled all
//! the same (other clients of the account share the quota).
//!
//! [`Rates`] says how many requests per second each operation may send; the pacer spaces
//! the requests of a limited operation evenly at its current rate, halves that rate when an
//! answer is throttling, and gives it back in small steps with each answer that is not.
//! The pacer is `Send + Sync` and reserves a slot under a lock before it sleeps, so
//! concurrent requests share one schedule. It reads tokio's clock, so tests run it on paused
//! time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::wire::Operation;

/// Amazon ECR's default rate quotas per account and region, in requests per second, from
/// the Amazon ECR User Guide, "Amazon ECR service quotas"
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html>): "Rate of
/// BatchGetImage requests" 2,000, BatchCheckLayerAvailability 1,000, UploadLayerPart 500,
/// GetAuthorizationToken 500, InitiateLayerUpload 100, CompleteLayerUpload 100, PutImage 10.
/// (Older versions of that page gave 10 for InitiateLayerUpload and CompleteLayerUpload.)
///
/// The page gives no rate for CreateRepository, DeleteRepository, BatchDeleteImage,
/// DescribeRepositories, ListImages and DescribeImages: they get 10, the lowest published
/// figure, as a conservative choice.
const ECR_QUOTAS: [(Operation, f64); 13] = [
    (Operation::BatchGetImage, 2000.0),
    (Operation::CreateRepository, UNPUBLISHED),
    (Operation::InitiateLayerUpload, 100.0),
    (Operation::UploadLayerPart, 500.0),
    (Operation::CompleteLayerUpload, 100.0),
    (Operation::PutImage, 10.0),
    (Operation::BatchDeleteImage, UNPUBLISHED),
    (Operation::DeleteRepository, UNPUBLISHED),
    (Operation::DescribeRepositories, UNPUBLISHED),
    (Operation::ListImages, UNPUBLISHED),
    (Operation::DescribeImages, UNPUBLISHED),
    (Operation::BatchCheckLayerAvailability, 1000.0),
    (Operation::GetAuthorizationToken, 500.0),
];

/// The rate of an operation whose quota ECR does not publish.
const UNPUBLISHED: f64 = 10.0;

/// The lowest rate back-off goes down to: one request every ten seconds.
const FLOOR: f64 = 0.1;

/// Each answer that is not throttling gives back this share of the configured rate.
const RECOVERY: f64 = 0.05;

/// Requests per second for each operation; `None`: unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    per_operation: [Option<f64>; 13],
}

impl Rates {
    /// No limit for any operation.
    pub fn unlimited() -> Self {
        Self {
            per_operation: [None; 13],
        }
    }

    /// Amazon ECR's default rate quotas (see the source in the code).
    pub fn ecr_quotas() -> Self {
        let mut rates = Self::unlimited();
        for (operation, rate) in ECR_QUOTAS {
            rates = rates.with(operation, Some(rate));
        }
        rates
    }

    /// The default for an endpoint: no limit on this machine (a local server has no
    /// quotas, and a run there stays fast), ECR's quotas anywhere else.
    pub fn default_for(loopback: bool) -> Self {
        match loopback {
            true => Self::unlimited(),
            false => Self::ecr_quotas(),
        }
    }

    /// The same rate, or no limit, for every operation.
    pub fn uniform(rate: Option<f64>) -> Self {
        Self {
            per_operation: [rate; 13],
        }
    }

    /// These rates, with `operation` at `rate` (`None`: unlimited).
    pub fn with(mut self, operation: Operation, rate: Option<f64>) -> Self {
        self.per_operation[index(operation)] = rate;
        self
    }

    /// The rate of `operation`, `None` when unlimited.
    pub fn of(&self, operation: Operation) -> Option<f64> {
        self.per_operation[index(operation)]
    }

    /// These rates changed by `rules`, in order: a rule for every operation replaces all
    /// rates, a rule for one operation replaces its rate.
    pub fn apply(self, rules: &[RateRule]) -> Self {
        rules.iter().fold(self, |rates, rule| match rule.operation {
            None => Self::uniform(rule.rate),
            Some(operation) => rates.with(operation, rule.rate),
        })
    }
}

fn index(operation: Operation) -> usize {
    Operation::ALL
        .iter()
        .position(|o| *o == operation)
        .unwrap_or_else(|| unreachable!("ALL lists every operation"))
}

/// One `--rate` value: `50` (every operation, per second), `PutImage=5` (one operation), and
/// `none` or `unlimited` (no limit) in either place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRule {
    operation: Option<Operation>,
    rate: Option<f64>,
}

/// Why a `--rate` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rate {0:?}: expected requests per second (such as 50), OPERATION=RATE (such as PutImage=5), or none"
)]
pub struct RateError(String);

impl std::str::FromStr for RateRule {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Self, RateError> {
        let bad = || RateError(text.to_owned());
        let (operation, rate) = match text.split_once('=') {
            Some((name, rate)) => {
                let operation = Operation::ALL
                    .into_iter()
                    .find(|o| o.name() == name.trim())
                    .ok_or_else(bad)?;
                (Some(operation), rate)
            }
            None => (None, text),
        };
        let rate = match rate.trim() {
            "none" | "unlimited" => None,
            number => Some(
                number
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(bad)?,
            ),
        };
        Ok(Self { operation, rate })
    }
}

/// Paces requests per operation at [`Rates`], adapting to throttling.
#[derive(Debug)]
pub(crate) struct Pacer {
    buckets: [Mutex<Bucket>; 13],
}

/// The schedule of one operation.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The configured rate; `None`: unlimited, never paced.
    ceiling: Option<f64>,
    /// The rate now: the ceiling, or lower after throttling.
    rate: f64,
    /// When the next request may go.
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer at `rates`.
    pub(crate) fn new(rates: &Rates) -> Self {
        Self {
            buckets: std::array::from_fn(|i| {
                let ceiling = rates.per_operation[i];
                Mutex::new(Bucket {
                    ceiling,
                    rate: ceiling.unwrap_or(f64::INFINITY),
                    next: None,
                })
            }),
        }
    }

    fn bucket(&self, operation: Operation) -> std::sync::MutexGuard<'_, Bucket> {
        self.buckets[index(operation)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the next slot of `operation` (at once when it is unlimited).
    pub(crate) async fn acquire(&self, operation: Operation) {
        let slot = {
            let mut bucket = self.bucket(operation);
            if bucket.ceiling.is_none() {
                return;
            }
            let now = Instant::now();
            let slot = bucket.next.map_or(now, |next| next.max(now));
            bucket.next = Some(slot + interval(bucket.rate));
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// `operation` was throttled: halve its rate (down to one request every ten seconds) and
    /// push its next slot one new interval away.
    pub(crate) fn throttled(&self, operation: Operation) {
        let mut bucket = self.bucket(operation);
        if bucket.ceiling.is_none() {
            return;
        }
        bucket.rate = (bucket.rate / 2.0).max(FLOOR);
        let later = Instant::now() + interval(bucket.rate);
        bucket.next = Some(bucket.next.map_or(later, |next| next.max(later)));
    }

    /// `operation` was answered without throttling: give back a twentieth of its configured
    /// rate.
    pub(crate) fn answered(&self, operation: Operation) {
        let mut bucket = self.bucket(operation);
        if let Some(ceiling) = bucket.ceiling {
            bucket.rate = (bucket.rate + ceiling * RECOVERY).min(ceiling);
        }
    }

    /// The rate `operation` is paced at now; `None` when unlimited.
    #[cfg(test)]
    fn rate(&self, operation: Operation) -> Option<f64> {
        let bucket = self.bucket(operation);
        bucket.ceiling.map(|_| bucket.rate)
    }
}

fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Sends `n` requests of `operation` from `tasks` concurrent tasks and returns when each
    /// went, relative to the start.
    async fn send_times(
        pacer: Arc<Pacer>,
        operation: Operation,
        tasks: usize,
        n: usize,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let pacer = Arc::clone(&pacer);
                tokio::spawn(async move {
                    let mut times = Vec::new();
                    for _ in 0..n / tasks {
                        pacer.acquire(operation).await;
                        times.push(start.elapsed());
                    }
                    times
                })
            })
            .collect();
        let mut times = Vec::new();
        for handle in handles {
            times.extend(handle.await.expect("the task ends"));
        }
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_of_one_operation_go_at_its_rate() {
        let pacer = Arc::new(Pacer::new(&Rates::ecr_quotas()));
        let times = send_times(pacer, Operation::PutImage, 4, 40).await;
        assert_eq!(times.len(), 40);
        // 40 requests at 10 per second: the last one 3.9 s after the first, none sooner.
        for (k, t) in times.iter().enumerate() {
            assert!(
                *t >= Duration::from_millis(100) * k as u32,
                "request {k} at {t:?}"
            );
        }
        assert!(times[39] < Duration::from_millis(3950), "{:?}", times[39]);
        // No window of one second holds more than ten.
        for w in times.windows(11) {
            assert!(w[10] - w[0] >= Duration::from_secs(1), "{w:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn operations_are_paced_apart_and_unlimited_ones_not_at_all() {
        let rates = Rates::unlimited().with(Operation::PutImage, Some(2.0));
        let pacer = Arc::new(Pacer::new(&rates));
        let start = Instant::now();
        for _ in 0..1000 {
            pacer.acquire(Operation::BatchGetImage).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        let puts = send_times(Arc::clone(&pacer), Operation::PutImage, 1, 3).await;
        assert_eq!(puts, [0, 500, 1000].map(Duration::from_millis));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_rate_and_answers_give_it_back_slowly() {
        let pacer = Pacer::new(&Rates::ecr_quotas());
        pacer.acquire(Operation::PutImage).await;
        pacer.throttled(Operation::PutImage);
        assert_eq!(pacer.rate(Operation::PutImage), Some(5.0));
        // The next request waits one interval of the new rate from the throttling answer.
        let start = Instant::now();
        pacer.acquire(Operation::PutImage).await;
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        pacer.throttled(Operation::PutImage);
        assert_eq!(pacer.rate(Operation::PutImage), Some(2.5));
        for _ in 0..10 {
            pacer.answered(Operation::PutImage);
        }
        // Ten answers give back half of the ceiling: 2.5 + 10 * 0.5.
        let rate = pacer.rate(Operation::PutImage).expect("limited");
        assert!((rate - 7.5).abs() < 1e-9, "{rate}");
        for _ in 0..100 {
            pacer.answered(Operation::PutImage);
        }
        assert_eq!(pacer.rate(Operation::PutImage), Some(10.0));
        // Other operations were not slowed.
        assert_eq!(pacer.rate(Operation::BatchGetImage), Some(2000.0));
    }

    #[tokio::test(start_paused = true)]
    async fn back_off_stops_at_one_request_every_ten_seconds() {
        let pacer = Pacer::new(&Rates::ecr_quotas());
        for _ in 0..20 {
            pacer.throttled(Operation::CreateRepository);
        }
        assert_eq!(pacer.rate(Operation::CreateRepository), Some(FLOOR));
        let unlimited = Pacer::new(&Rates::unlimited());
        unlimited.throttled(Operation::PutImage);
        assert_eq!(unlimited.rate(Operation::PutImage), None);
    }

    #[test]
    fn rate_rules_read_numbers_operations_and_none() {
        let rule = |s: &str| s.parse::<RateRule>();
        let rates = Rates::ecr_quotas().apply(&[rule("50").unwrap(), rule("PutImage=5").unwrap()]);
        assert_eq!(rates.of(Operation::BatchGetImage), Some(50.0));
        assert_eq!(rates.of(Operation::PutImage), Some(5.0));
        let rates = Rates::ecr_quotas().apply(&[rule("unlimited").unwrap()]);
        assert_eq!(rates, Rates::unlimited());
        let rates = Rates::ecr_quotas().apply(&[rule("PutImage=none").unwrap()]);
        assert_eq!(rates.of(Operation::PutImage), None);
        assert_eq!(rates.of(Operation::UploadLayerPart), Some(500.0));
        for bad in [
            "",
            "0",
            "-1",
            "fast",
            "Put=5",
            "PutImage=",
            "PutImage=inf",
            "NaN",
        ] {
            assert!(rule(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn loopback_is_unlimited_by_default_and_other_endpoints_get_the_quotas() {
        assert_eq!(Rates::default_for(true), Rates::unlimited());
        let remote = Rates::default_for(false);
        assert_eq!(remote.of(Operation::BatchGetImage), Some(2000.0));
        assert_eq!(remote.of(Operation::PutImage), Some(10.0));
        assert_eq!(remote.of(Operation::DeleteRepository), Some(UNPUBLISHED));
    }
}
