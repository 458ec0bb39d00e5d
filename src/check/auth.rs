//! ROBUST-AUTH: one unsigned BatchGetImage, judged. It must not send anything when the run
//! has no credentials (every request is then unsigned, and the rule is not exercised).

use crate::oracle::{Observed, RuleId, check_unsigned};
use crate::wire::{self, Operation};

use super::session::{CheckError, Session};

/// ROBUST-AUTH (may): an unsigned request is refused with an authentication error.
pub(super) async fn probe_auth(session: &mut Session<'_>) -> Result<(), CheckError> {
    if session.target.credentials().is_none() {
        session.notes.push(
            "ROBUST-AUTH not exercised: no credentials, so every request was unsigned".into(),
        );
        return Ok(());
    }
    let request = wire::BatchGetImageRequest {
        repository_name: Some(session.name("base", "team/app")),
        image_ids: Some(vec![wire::ImageIdentifier::tag("v1")]),
        ..Default::default()
    };
    let exchange = session
        .target
        .send_unsigned(
            Operation::BatchGetImage,
            wire::encode_request(&request).body,
        )
        .await?;
    session.exercised.insert(RuleId::RobustAuth);
    let observed = Observed::from_http(exchange.status, &exchange.headers, &exchange.body);
    for v in check_unsigned(&observed) {
        session.record(v, "unsigned BatchGetImage", &exchange);
    }
    Ok(())
}
