//! AWS JSON 1.1 for the operations in the spec: typed shapes, request encoding, and a strict
//! but total response decoder.
//!
//! No I/O and no policy: this layer turns bytes into typed values and back. Whether a value
//! breaks the contract is the oracle's business; here a malformed body is a [`DecodeError`]
//! and a member of the wrong type is a [`ShapeIssue`].

pub mod decode;
mod envelope;
mod error;
mod operation;
pub mod registry;
mod request;
mod response;
mod shapes;
mod sign;
mod signer;

pub use decode::{
    Decode, Decoded, Dropped, Kind, MAX_ISSUE_BYTES, MAX_ISSUES, MAX_LIST_ITEMS, MAX_NAME_CHARS,
    ShapeIssue, decode_body,
};
pub(crate) use envelope::error_members;
pub use error::{DecodeError, MAX_BODY_BYTES};
pub use operation::{
    CONTENT_TYPE, HttpRequest, Input, Operation, TARGET_PREFIX, encode_raw, encode_request,
};
pub use request::{MAX_REQUEST_BYTES, Request, RequestError, decode_operation, decode_request};
pub use response::{
    CodeSource, ErrorBody, ErrorReply, MAX_ERROR_VALUE_BYTES, MessageMember, Reply,
    clean_error_name, encode_error, parse_response,
};
pub use shapes::*;
pub use sign::{Credentials, SignError, format_amz_date, parse_amz_date, sign_request};
pub use signer::Signer;
