//! The byte layout of fuzz inputs that carry an HTTP message: a small header, then the body.
//!
//! ```text
//! status: 2 bytes (big-endian, taken modulo 500, plus 100) | selector: 1 byte |
//! header count: 1 byte (modulo 5) | per header: name length, name, value length, value |
//! body: the rest
//! ```
//! Header names are looked up in [`HEADER_NAMES`] when their length byte is 0xff.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Header names a fuzzer reaches by index (length byte 0xff, then the index).
pub const HEADER_NAMES: [&str; 4] = [
    "content-type",
    "x-amzn-errortype",
    "x-amz-target",
    "x-amzn-requestid",
];

/// An HTTP message decoded from fuzz bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    /// Status, 100 to 599.
    pub status: u16,
    /// A free byte for the target to choose what to decode.
    pub selector: u8,
    /// Headers (invalid names or values are left out).
    pub headers: HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// Reads a message; any bytes give one.
pub fn read(data: &[u8]) -> Message<'_> {
    let mut cursor = Cursor(data);
    let status = 100 + u16::from_be_bytes([cursor.byte(), cursor.byte()]) % 500;
    let selector = cursor.byte();
    let mut headers = HeaderMap::new();
    for _ in 0..cursor.byte() % 5 {
        let name = match cursor.byte() {
            0xff => HEADER_NAMES[usize::from(cursor.byte()) % HEADER_NAMES.len()].as_bytes(),
            len => cursor.take(usize::from(len)),
        };
        let len = usize::from(cursor.byte());
        let value = cursor.take(len);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    Message {
        status,
        selector,
        headers,
        body: cursor.0,
    }
}

/// Writes a message in the layout [`read`] reads; headers must be shorter than 255 bytes.
pub fn write(status: u16, selector: u8, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = (status.saturating_sub(100) % 500).to_be_bytes().to_vec();
    out.push(selector);
    out.push(u8::try_from(headers.len().min(4)).unwrap_or(4));
    for (name, value) in headers.iter().take(4) {
        match HEADER_NAMES.iter().position(|n| n == name) {
            Some(i) => out.extend([0xff, u8::try_from(i).unwrap_or(0)]),
            None => {
                out.push(u8::try_from(name.len()).unwrap_or(0));
                out.extend(name.as_bytes());
            }
        }
        out.push(u8::try_from(value.len()).unwrap_or(0));
        out.extend(value.as_bytes());
    }
    out.extend(body);
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}
