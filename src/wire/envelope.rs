//! The members of an error body that AWS clients read (`__type`, `code`, `message`,
//! `Message`), in one pass and without building the body as a JSON value: an error body is
//! bounded only by its operation's answer bound, and a JSON value costs up to 16 times the
//! bytes it is read from.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{Deserialize, DeserializeSeed, MapAccess, Visitor};

use super::decode::{Scalar, ScalarVisitor, Skip};

/// The string members of an error body's top-level object; `None` where absent or not a
/// string. Of repeated names the last counts, as in a `serde_json::Value`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorMembers {
    pub(crate) error_type: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) message_upper: Option<String>,
}

/// The members of `body`; `None` when it is not JSON (as `serde_json::from_slice` would
/// refuse it); all `None` when it is JSON but not an object.
pub(crate) fn error_members(body: &[u8]) -> Option<ErrorMembers> {
    let text = std::str::from_utf8(body).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let members = match text.trim_start().starts_with('{') {
        true => de.deserialize_map(ObjectVisitor).ok()?,
        false => {
            Skip::deserialize(&mut de).ok()?;
            ErrorMembers::default()
        }
    };
    de.end().ok()?;
    Some(members)
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = ErrorMembers;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorMembers, A::Error> {
        let mut out = ErrorMembers::default();
        while let Some(slot) = map.next_key_seed(Name)? {
            let member = match slot {
                Slot::Type => &mut out.error_type,
                Slot::Code => &mut out.code,
                Slot::Message => &mut out.message,
                Slot::MessageUpper => &mut out.message_upper,
                Slot::Other => {
                    map.next_value::<Skip>()?;
                    continue;
                }
            };
            *member = map.next_value::<Text>()?.0;
        }
        Ok(out)
    }
}

/// Which member a key names.
enum Slot {
    Type,
    Code,
    Message,
    MessageUpper,
    Other,
}

/// Reads a key as its [`Slot`], without keeping it.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Slot;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Slot, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Name {
    type Value = Slot;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Slot, E> {
        Ok(match v {
            "__type" => Slot::Type,
            "code" => Slot::Code,
            "message" => Slot::Message,
            "Message" => Slot::MessageUpper,
            _ => Slot::Other,
        })
    }
}

/// A member's value: the string, or `None` for any other value (read over and checked).
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Ok(Text(match de.deserialize_any(ScalarVisitor)? {
            Scalar::Str(s) => Some(s.into_owned()),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_as_a_json_value_reads_them() {
        let bodies: [&[u8]; 9] = [
            br#"{"__type":"a#B:c","message":"m","Message":"M","code":"C","x":[{"y":1}]}"#,
            br#"{"__type":"A","__type":1}"#,
            br#"{"__type":1,"__type":"A"}"#,
            br#"{"__typ\u0065":"Escaped"}"#,
            br#"[{"__type":"A"}]"#,
            br#""text""#,
            br#"{"__type":"A"} x"#,
            br#"{"__type":"A","bad":"\q"}"#,
            b"\xff",
        ];
        for body in bodies {
            let value = serde_json::from_slice::<serde_json::Value>(body).ok();
            let read = error_members(body);
            assert_eq!(read.is_some(), value.is_some(), "{body:?}");
            let Some(value) = value else { continue };
            let member = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let read = read.unwrap_or_default();
            assert_eq!(read.error_type, member("__type"), "{body:?}");
            assert_eq!(read.code, member("code"), "{body:?}");
            assert_eq!(read.message, member("message"), "{body:?}");
            assert_eq!(read.message_upper, member("Message"), "{body:?}");
        }
    }
}
