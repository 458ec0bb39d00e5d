//! The error a state transition answers with, as the service names it.

use super::names::ConstraintError;

/// A whole-request error: the exception name and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{code}: {message}")]
pub struct OpError {
    /// The exception's name, such as `RepositoryNotFoundException`.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl OpError {
    /// An error named `code` with `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The outcome of an operation as AWS JSON 1.1 sends it: HTTP 200 with the output, or the
    /// error's status with its `__type`/`message` envelope.
    pub fn to_http<T: serde::Serialize>(outcome: &Result<T, OpError>) -> (u16, Vec<u8>) {
        match outcome {
            Ok(output) => (200, serde_json::to_vec(output).unwrap_or_default()),
            Err(e) => (e.status(), crate::wire::encode_error(e.code, &e.message)),
        }
    }

    /// HTTP status: 500 for `ServerException`, 400 for every other ECR error.
    pub fn status(&self) -> u16 {
        if self.code == "ServerException" {
            500
        } else {
            400
        }
    }

    /// `InvalidParameterException` for a missing required member.
    pub fn missing(member: &str) -> Self {
        Self::invalid(format!(
            "Invalid parameter at '{member}' failed to satisfy constraint: 'Member must not be null'"
        ))
    }

    /// `InvalidParameterException` with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    /// `RepositoryNotFoundException` for `name` in `registry`.
    pub fn repository_not_found(name: &str, registry: &str) -> Self {
        Self::new(
            "RepositoryNotFoundException",
            format!(
                "The repository with name '{name}' does not exist in the registry with id '{registry}'"
            ),
        )
    }
}

/// The value of a required member, or `InvalidParameterException` naming it.
pub(crate) fn required<'a, T: ?Sized>(
    value: Option<&'a T>,
    member: &str,
) -> Result<&'a T, OpError> {
    value.ok_or_else(|| OpError::missing(member))
}

impl From<ConstraintError> for OpError {
    fn from(e: ConstraintError) -> Self {
        Self::invalid(e.to_string())
    }
}
