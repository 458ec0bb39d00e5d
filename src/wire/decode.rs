//! Lenient, single-pass decoding of AWS JSON bodies into typed shapes.
//!
//! A member of the wrong JSON type, or one the model does not define, never fails the decode:
//! it is recorded with its JSON path in [`Decoded`] so that a conformance check can report it.
//! Only bodies that are not JSON at all fail, with a [`DecodeError`]. Nesting is bounded by
//! serde_json's recursion limit, so hostile input cannot exhaust the stack; what is recorded
//! and kept is bounded too ([`MAX_ISSUES`], [`MAX_ISSUE_BYTES`], [`MAX_LIST_ITEMS`],
//! [`MAX_NAME_CHARS`]), with a count of what was dropped ([`Dropped`]), so that a body never
//! costs many times its size.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::DecodeError;

/// The most issues (wrong-typed and unknown members) recorded for one body: a fault repeated in
/// each entry of a whole BatchGetImage answer (at most 100 images and 100 failures, one per
/// requested id, `ImageIdentifierList` `max: 100`) is shown whole; past it, only counted.
pub const MAX_ISSUES: usize = 200;

/// The most bytes of paths and found texts recorded for one body: [`MAX_ISSUES`] issues of
/// 320 bytes (a path of a few modelled members, an unknown name of [`MAX_NAME_CHARS`]
/// characters, a found text of 40 characters), about 10 times what an ordinary issue takes.
pub const MAX_ISSUE_BYTES: usize = 64 * 1024;

/// The most list items kept from one body, all lists together: 100 times the longest list the
/// service model bounds (a page of `MaxResults` `max: 1000`), so no answer ECR gives comes
/// near it. Items past it are read and checked as JSON, but neither kept nor judged.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// The most characters of an unknown member's name kept in its path: the service model's
/// longest member name (`imageScanFindingsSummary`, 24) many times over.
pub const MAX_NAME_CHARS: usize = 128;

/// Reports every scalar as the wrong type, for visitors of arrays and objects.
macro_rules! reject_non_composite {
    ($kind:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, "null"))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, "null"))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, format!("boolean {v}")))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, format!("number {v}")))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, format!("number {v}")))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind($kind, format!("number {v}")))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(self.0.wrong_kind(
                $kind,
                format!("string {:?}", $crate::wire::decode::truncate_str(v)),
            ))
        }
    };
}

/// The JSON kind of a value, as named in shape reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// An integer or a floating-point number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
    /// A string holding base64 data.
    Blob,
    /// An integer.
    Integer,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
            Kind::Blob => "a base64 string",
            Kind::Integer => "an integer",
        };
        f.write_str(name)
    }
}

/// A member whose JSON type is not the modelled one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShapeIssue {
    /// JSON path of the member, such as `images[0].imageId.imageTag`.
    pub path: String,
    /// The modelled kind.
    pub expected: Kind,
    /// What the body held instead.
    pub found: String,
}

/// What the decoder left out of a [`Decoded`] to stay bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Issues (wrong-typed or unknown members) seen but not recorded: past [`MAX_ISSUES`] or
    /// [`MAX_ISSUE_BYTES`].
    pub issues: usize,
    /// List items read but not kept: past [`MAX_LIST_ITEMS`].
    pub items: usize,
}

impl Dropped {
    /// Whether nothing was dropped.
    pub fn is_none(&self) -> bool {
        self.issues == 0 && self.items == 0
    }
}

/// A typed value together with what the decoder noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The typed value; members of the wrong type are `None` in it.
    pub value: T,
    /// Members of the wrong JSON type.
    pub shape_issues: Vec<ShapeIssue>,
    /// JSON paths of members the service model does not define.
    pub unknown_members: Vec<String>,
    /// What was seen but not recorded or kept.
    pub dropped: Dropped,
}

impl<T> Decoded<T> {
    /// Whether the body matched the shape exactly: no wrong types and no unknown members.
    pub fn is_clean(&self) -> bool {
        self.shape_issues.is_empty() && self.unknown_members.is_empty()
    }
}

/// A step of a JSON path.
#[derive(Debug, Clone, Copy)]
enum Step {
    Member(&'static str),
    Index(usize),
}

/// Decoding state: the current path and what was noticed.
#[derive(Debug, Default)]
pub struct Context {
    path: Vec<Step>,
    shape_issues: Vec<ShapeIssue>,
    unknown_members: Vec<String>,
    /// Bytes of the recorded paths and found texts.
    issue_bytes: usize,
    /// List items read so far (kept, or left out for their type).
    items: usize,
    dropped: Dropped,
}

impl Context {
    /// Whether an issue of `bytes` more bytes can still be recorded; counts it dropped if not.
    fn room_for(&mut self, bytes: usize) -> bool {
        let room = !self.full() && self.issue_bytes + bytes <= MAX_ISSUE_BYTES;
        match room {
            true => self.issue_bytes += bytes,
            false => self.dropped.issues += 1,
        }
        room
    }

    /// Whether [`MAX_ISSUES`] issues are recorded.
    fn full(&self) -> bool {
        self.shape_issues.len() + self.unknown_members.len() >= MAX_ISSUES
    }

    fn render(&self, last: Option<&str>) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Member(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if let Some(last) = last {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(last);
        }
        out
    }

    /// Records that the current value is not of the modelled kind.
    pub fn wrong_kind<T>(&mut self, expected: Kind, found: impl Into<String>) -> Option<T> {
        if self.full() {
            self.dropped.issues += 1;
            return None;
        }
        let path = self.render(None);
        let found = found.into();
        if self.room_for(path.len() + found.len()) {
            self.shape_issues.push(ShapeIssue {
                path,
                expected,
                found,
            });
        }
        None
    }

    /// Records an unknown member named `name` under the current path (its first
    /// [`MAX_NAME_CHARS`] characters).
    pub fn unknown(&mut self, name: &str) {
        if self.full() {
            self.dropped.issues += 1;
            return;
        }
        let path = self.render(Some(truncate(name, MAX_NAME_CHARS)));
        if self.room_for(path.len()) {
            self.unknown_members.push(path);
        }
    }

    /// Decodes a member's value with the path extended by `name`.
    pub fn member<'de, T: Decode, A: MapAccess<'de>>(
        &mut self,
        name: &'static str,
        map: &mut A,
    ) -> Result<Option<T>, A::Error> {
        self.path.push(Step::Member(name));
        let value = map.next_value_seed(Seed::<T>(self, PhantomData));
        self.path.pop();
        value
    }
}

/// Types that decode leniently: `Ok(None)` means the value had the wrong type (recorded).
pub trait Decode: Sized {
    /// The modelled JSON kind.
    const KIND: Kind;

    /// Decodes one value from `de`, recording problems in `cx`.
    fn decode<'de, D: Deserializer<'de>>(de: D, cx: &mut Context)
    -> Result<Option<Self>, D::Error>;
}

/// Adapts [`Decode`] to serde's seeds.
pub struct Seed<'c, T>(pub &'c mut Context, pub PhantomData<T>);

impl<'de, T: Decode> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        T::decode(de, self.0)
    }
}

/// Decodes a whole body as `T`, which must be a JSON object.
pub fn decode_body<T: Decode>(body: &[u8]) -> Result<Decoded<T>, DecodeError> {
    // The whole body must be UTF-8, skipped members included: serde_json does not check the
    // bytes of values it skips (a finding of the `differential` fuzz target).
    let text = std::str::from_utf8(body).map_err(|e| DecodeError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut cx = Context::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::decode(&mut de, &mut cx)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| DecodeError::from_json(&e, body))?;
    match value {
        Some(value) => Ok(Decoded {
            value,
            shape_issues: cx.shape_issues,
            unknown_members: cx.unknown_members,
            dropped: cx.dropped,
        }),
        None => {
            let found = cx.shape_issues.pop().map(|i| i.found).unwrap_or_default();
            Err(DecodeError::NotAnObject { found })
        }
    }
}

/// A value skipped over (an unknown member, or a member of the wrong type), validated as it is
/// skipped: strings are decoded, so invalid escapes are refused as a generic JSON parser
/// refuses them, and nesting meets serde_json's recursion limit. (serde's `IgnoredAny` does
/// neither: the `differential` fuzz target found the typed decoder accepting what is not JSON.)
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ScalarVisitor).map(|_| Skip)
    }
}

/// A scalar seen where something else was modelled; arrays and objects are skipped over.
pub(crate) enum Scalar<'de> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(std::borrow::Cow<'de, str>),
    Array,
    Object,
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => format!("boolean {b}"),
            Scalar::Int(n) => format!("number {n}"),
            Scalar::UInt(n) => format!("number {n}"),
            Scalar::Float(n) => format!("number {n}"),
            Scalar::Str(s) => format!("string {:?}", truncate(s, 40)),
            Scalar::Array => "an array".into(),
            Scalar::Object => "an object".into(),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub(crate) struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(std::borrow::Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(std::borrow::Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(std::borrow::Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

impl Decode for String {
    const KIND: Kind = Kind::String;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        Ok(match de.deserialize_any(ScalarVisitor)? {
            Scalar::Str(s) => Some(s.into_owned()),
            other => cx.wrong_kind(Kind::String, other.describe()),
        })
    }
}

impl Decode for bool {
    const KIND: Kind = Kind::Boolean;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        Ok(match de.deserialize_any(ScalarVisitor)? {
            Scalar::Bool(b) => Some(b),
            other => cx.wrong_kind(Kind::Boolean, other.describe()),
        })
    }
}

impl Decode for i64 {
    const KIND: Kind = Kind::Integer;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        Ok(match de.deserialize_any(ScalarVisitor)? {
            Scalar::Int(n) => Some(n),
            Scalar::UInt(n) => match i64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => cx.wrong_kind(Kind::Integer, format!("number {n} (out of range)")),
            },
            other => cx.wrong_kind(Kind::Integer, other.describe()),
        })
    }
}

impl Decode for f64 {
    const KIND: Kind = Kind::Number;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        #[allow(clippy::cast_precision_loss)] // timestamps: precision of f64 is what JSON gives
        Ok(match de.deserialize_any(ScalarVisitor)? {
            Scalar::Int(n) => Some(n as f64),
            Scalar::UInt(n) => Some(n as f64),
            Scalar::Float(n) => Some(n),
            other => cx.wrong_kind(Kind::Number, other.describe()),
        })
    }
}

impl<T: Decode> Decode for Vec<T> {
    const KIND: Kind = Kind::Array;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        de.deserialize_any(ListVisitor::<T>(cx, PhantomData))
    }
}

struct ListVisitor<'c, T>(&'c mut Context, PhantomData<T>);

impl<'de, T: Decode> Visitor<'de> for ListVisitor<'_, T> {
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(128));
        let mut index = 0;
        loop {
            if self.0.items == MAX_LIST_ITEMS {
                // Past the bound: still read (so that the body is checked as JSON), not kept.
                while seq.next_element::<Skip>()?.is_some() {
                    self.0.dropped.items += 1;
                }
                return Ok(Some(out));
            }
            self.0.path.push(Step::Index(index));
            let item = seq.next_element_seed(Seed::<T>(self.0, PhantomData));
            self.0.path.pop();
            match item? {
                Some(Some(item)) => out.push(item),
                Some(None) => {} // wrong type: recorded, left out
                None => return Ok(Some(out)),
            }
            self.0.items += 1;
            index += 1;
        }
    }
    reject_non_composite!(Kind::Array);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let found = ScalarVisitor.visit_map(map)?;
        Ok(self.0.wrong_kind(Kind::Array, found.describe()))
    }
}

/// The first 40 characters of `s`, for messages.
pub(crate) fn truncate_str(s: &str) -> &str {
    truncate(s, 40)
}

/// Reads an object's keys without allocating for known member names.
pub struct KeySeed(pub &'static [&'static str]);

/// A key read by [`KeySeed`].
pub enum Key {
    /// A member the shape defines.
    Known(&'static str),
    /// A member it does not (its first [`MAX_NAME_CHARS`] characters).
    Unknown(String),
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(match self.0.iter().find(|name| **name == v) {
            Some(name) => Key::Known(name),
            // Only what a path shows is copied: a key may be as long as the body.
            None => Key::Unknown(truncate(v, MAX_NAME_CHARS).to_owned()),
        })
    }
}

/// Visits an object for a structure `T`, or reports the wrong type.
pub struct StructVisitor<'c, T>(pub &'c mut Context, pub PhantomData<T>);

/// Structures: their member names and how to read one member.
pub trait Structure: Default {
    /// Member names as they appear in JSON.
    const MEMBERS: &'static [&'static str];
    /// Reads the member `name` into `self`.
    fn read_member<'de, A: MapAccess<'de>>(
        &mut self,
        name: &'static str,
        map: &mut A,
        cx: &mut Context,
    ) -> Result<(), A::Error>;
}

impl<'de, T: Structure> Visitor<'de> for StructVisitor<'_, T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key_seed(KeySeed(T::MEMBERS))? {
            match key {
                Key::Known(name) => out.read_member(name, &mut map, self.0)?,
                Key::Unknown(name) => {
                    self.0.unknown(&name);
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Some(out))
    }
    reject_non_composite!(Kind::Object);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let found = ScalarVisitor.visit_seq(seq)?;
        Ok(self.0.wrong_kind(Kind::Object, found.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BatchGetImageResponse;

    fn decode(body: &str) -> Decoded<BatchGetImageResponse> {
        decode_body::<BatchGetImageResponse>(body.as_bytes()).expect("a JSON object")
    }

    /// `{"images":[x,x,...]}` with `n` copies of `item`.
    fn images_of(item: &str, n: usize) -> String {
        format!("{{\"images\":[{}]}}", vec![item; n].join(","))
    }

    #[test]
    fn issues_are_recorded_up_to_max_issues_and_the_rest_counted() {
        let at = decode(&images_of("1", MAX_ISSUES));
        assert_eq!(
            (at.shape_issues.len(), at.dropped),
            (MAX_ISSUES, Dropped::default())
        );
        let past = decode(&images_of("1", MAX_ISSUES + 1));
        assert_eq!(past.shape_issues.len(), MAX_ISSUES);
        assert_eq!(past.dropped.issues, 1);
        assert_eq!(
            past.shape_issues[MAX_ISSUES - 1].path,
            format!("images[{}]", MAX_ISSUES - 1)
        );
    }

    #[test]
    fn issues_are_recorded_up_to_max_issue_bytes_and_the_rest_counted() {
        // An unknown member named by MAX_NAME_CHARS four-byte characters: a path of 512 bytes.
        let name = "\u{1D11E}".repeat(MAX_NAME_CHARS);
        let fits = MAX_ISSUE_BYTES / name.len();
        assert_eq!(fits * name.len(), MAX_ISSUE_BYTES);
        assert!(fits < MAX_ISSUES, "the byte bound binds first");
        let body = |n: usize| format!("{{{}}}", vec![format!("\"{name}\":0"); n].join(","));
        let at = decode(&body(fits));
        assert_eq!((at.unknown_members.len(), at.dropped.issues), (fits, 0));
        let past = decode(&body(fits + 1));
        assert_eq!((past.unknown_members.len(), past.dropped.issues), (fits, 1));
        let bytes: usize = past.unknown_members.iter().map(String::len).sum();
        assert_eq!(bytes, MAX_ISSUE_BYTES);
    }

    #[test]
    fn an_unknown_members_name_is_kept_to_max_name_chars() {
        let at = "n".repeat(MAX_NAME_CHARS);
        assert_eq!(
            decode(&format!("{{\"{at}\":0}}")).unknown_members,
            [at.as_str()]
        );
        let long = "n".repeat(1 << 20);
        assert_eq!(decode(&format!("{{\"{long}\":0}}")).unknown_members, [at]);
    }

    #[test]
    fn list_items_are_kept_up_to_max_list_items_and_the_rest_counted() {
        let at = decode(&images_of("{}", MAX_LIST_ITEMS));
        let kept = at.value.images.as_ref().map(Vec::len);
        assert_eq!(
            (kept, at.dropped),
            (Some(MAX_LIST_ITEMS), Dropped::default())
        );
        let past = decode(&(images_of("{}", MAX_LIST_ITEMS + 1)));
        assert_eq!(past.value.images.map(|i| i.len()), Some(MAX_LIST_ITEMS));
        assert_eq!(past.dropped.items, 1);
        // Items past the bound are still checked as JSON.
        let bad = images_of("{}", MAX_LIST_ITEMS + 1).replace("{}]", "{]");
        assert!(decode_body::<BatchGetImageResponse>(bad.as_bytes()).is_err());
    }

    /// The flood of issue 23: a 28 MB answer of wrong-typed items keeps MAX_ISSUES issues
    /// within MAX_ISSUE_BYTES, and counts exactly what it left out.
    #[test]
    fn a_28_mb_member_flood_stays_at_the_caps_with_exact_dropped_counts() {
        let n = 14_000_000;
        let decoded = decode(&images_of("1", n));
        assert_eq!(decoded.shape_issues.len(), MAX_ISSUES);
        let bytes: usize = decoded
            .shape_issues
            .iter()
            .map(|i| i.path.len() + i.found.len())
            .sum();
        assert!(bytes <= MAX_ISSUE_BYTES, "{bytes}");
        assert_eq!(decoded.dropped.issues, MAX_LIST_ITEMS - MAX_ISSUES);
        assert_eq!(decoded.dropped.items, n - MAX_LIST_ITEMS);
    }
}
