//! Deleting what a run created: a scope's repositories, the whole run's, or one repository
//! for `ecr-contract cleanup`, and forgetting them in the journal. It must never delete a
//! repository the journal does not hold as this run's.

use crate::model::Call;
use crate::remote::{HttpTarget, TransportError};
use crate::wire;

use super::journal::Entry;
use super::judging::error_code;
use super::session::{CheckError, Session};

impl<'t> Session<'t> {
    /// Forgets `repository`, journalled last under that name: its CreateRepository was
    /// refused, so whatever has that name (RepositoryAlreadyExistsException) is not this
    /// one's to delete. Named, not the last entry: creates are sent several at once.
    pub(super) fn withdraw_created(&mut self, repository: &str) -> Result<(), CheckError> {
        if let Some(at) = self
            .created
            .iter()
            .rposition(|e| e.repository == repository)
        {
            let refused = self.created.remove(at);
            self.journal.forget(std::slice::from_ref(&refused))?;
        }
        Ok(())
    }

    /// Deletes every repository this session created under `scope_prefix` (all of them for
    /// `None`), all at once (force), and forgets in the journal those that are gone, even
    /// when another could not be reached.
    pub(crate) async fn cleanup(&mut self, scope_prefix: Option<&str>) -> Result<(), CheckError> {
        let (mine, others): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.created)
            .into_iter()
            .partition(|e| scope_prefix.is_none_or(|p| e.repository.starts_with(p)));
        self.created = others;
        let target = self.target;
        let deletions = mine
            .iter()
            .map(|entry| delete_repository(target, &entry.repository));
        let deletions = futures_util::future::join_all(deletions).await;
        let (mut removed, mut failed) = (Vec::new(), None);
        for (entry, deletion) in mine.into_iter().zip(deletions) {
            match deletion {
                Err(e) => failed = failed.or(Some(e)),
                Ok(Deletion {
                    kept: None,
                    retries,
                }) => {
                    self.retries += retries;
                    removed.push(entry);
                }
                Ok(Deletion {
                    kept: Some(why),
                    retries,
                }) => {
                    self.retries += retries;
                    self.notes
                        .push(format!("could not delete {}: {why}", entry.repository));
                }
            }
        }
        self.journal.forget(&removed)?;
        failed.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// Deletes the repositories `session` created in `scope` (none for `base`, the shared fixture,
/// which the run's cleanup deletes at its end).
pub(super) async fn cleanup_scope(
    session: &mut Session<'_>,
    scope: &str,
) -> Result<(), CheckError> {
    match scope {
        "base" => Ok(()),
        _ => {
            let prefix = format!("{}/{scope}/", session.prefix);
            session.cleanup(Some(&prefix)).await
        }
    }
}

/// What deleting one repository came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Why the repository is still there (`HTTP <status> <code>`); `None`: it is gone,
    /// deleted now or absent already.
    pub kept: Option<String>,
    /// Throttled attempts retried.
    pub retries: u32,
}

/// Deletes `repository` and the images in it (`force`): how every run cleans up, and
/// `ecr-contract cleanup` after a run that could not. Only ever called on repositories a run
/// journalled as created.
pub async fn delete_repository(
    target: &HttpTarget,
    repository: &str,
) -> Result<Deletion, TransportError> {
    let call = Call::DeleteRepository(wire::DeleteRepositoryRequest {
        repository_name: Some(repository.to_owned()),
        force: Some(true),
        ..Default::default()
    });
    let exchange = target.send(call.operation(), call.body()).await?;
    let code = error_code(&exchange);
    let gone = exchange.status == 200 || code == "RepositoryNotFoundException";
    Ok(Deletion {
        kept: (!gone).then(|| format!("HTTP {} {code}", exchange.status)),
        retries: exchange.retries,
    })
}
