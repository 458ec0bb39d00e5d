//! Lenient, single-pass decoding of AWS JSON bodies into typed shapes.
//!
//! A member of the wrong JSON type, or one the model does not define, never fails the decode:
//! it is recorded with its JSON path in [`Decoded`] so that a conformance check can report it.
//! Only bodies that are not JSON at all fail, with a [`DecodeError`]. Nesting is bounded by
//! serde_json's recursion limit, so hostile input cannot exhaust the stack.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::DecodeError;

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

/// A typed value together with what the decoder noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The typed value; members of the wrong type are `None` in it.
    pub value: T,
    /// Members of the wrong JSON type.
    pub shape_issues: Vec<ShapeIssue>,
    /// JSON paths of members the service model does not define.
    pub unknown_members: Vec<String>,
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
}

impl Context {
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
        let path = self.render(None);
        self.shape_issues.push(ShapeIssue {
            path,
            expected,
            found: found.into(),
        });
        None
    }

    /// Records an unknown member named `name` under the current path.
    pub fn unknown(&mut self, name: &str) {
        let path = self.render(Some(name));
        self.unknown_members.push(path);
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
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ScalarVisitor).map(|_| Skip)
    }
}

/// A scalar seen where something else was modelled; arrays and objects are skipped over.
enum Scalar<'de> {
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

struct ScalarVisitor;

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
            self.0.path.push(Step::Index(index));
            let item = seq.next_element_seed(Seed::<T>(self.0, PhantomData));
            self.0.path.pop();
            match item? {
                Some(Some(item)) => out.push(item),
                Some(None) => {} // wrong type: recorded, left out
                None => return Ok(Some(out)),
            }
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
    /// A member it does not.
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
            None => Key::Unknown(v.to_owned()),
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
