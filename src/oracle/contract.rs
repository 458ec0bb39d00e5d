//! The contract the catalogue comes from, shipped with the code: the documents of
//! `docs/contract/`, embedded so that an installed binary can show them anywhere, the section
//! each rule belongs to, and the contract's version. No I/O.

use super::rules::RuleId;

/// The version of the rule catalogue: bumped whenever a rule is added or removed, or a rule's
/// level or statement changes, so that a verdict that changed because the contract did can be
/// told from one that changed because the server did. A test pins it to a digest of the
/// catalogue.
pub const CONTRACT_VERSION: &str = "3";

/// A document of the contract, in `docs/contract/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Document {
    /// `batch-get-image.md`: BatchGetImage and the calls that build state.
    BatchGetImage,
    /// `registry-api.md`: the pull path, the `REG-*` rules.
    RegistryApi,
}

impl Document {
    /// Every document, in the order the catalogue follows.
    pub const ALL: [Document; 2] = [Document::BatchGetImage, Document::RegistryApi];

    /// Its path, relative to the repository's root.
    pub fn path(self) -> &'static str {
        match self {
            Document::BatchGetImage => "docs/contract/batch-get-image.md",
            Document::RegistryApi => "docs/contract/registry-api.md",
        }
    }

    /// Its text, as the repository holds it.
    pub fn text(self) -> &'static str {
        match self {
            Document::BatchGetImage => include_str!("../../docs/contract/batch-get-image.md"),
            Document::RegistryApi => include_str!("../../docs/contract/registry-api.md"),
        }
    }

    /// The catalogue table's row of `id`, as the document writes it.
    pub fn row(self, id: RuleId) -> Option<&'static str> {
        let start = format!("| {} |", id.as_str());
        self.text().lines().find(|line| line.starts_with(&start))
    }
}

/// A section of a contract document: the one a rule states in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// The document.
    pub document: Document,
    /// Its heading's text, without the `#`s.
    pub heading: &'static str,
}

impl Section {
    /// The heading's anchor, as GitHub computes it (see [`anchor`]).
    pub fn anchor(self) -> String {
        anchor(self.heading)
    }

    /// The link to it, relative to the repository's root: `docs/contract/<file>#<anchor>`.
    pub fn link(self) -> String {
        format!("{}#{}", self.document.path(), self.anchor())
    }

    /// The section's text: its heading line and everything up to the next heading of the same
    /// or a higher level. `None` when the document has no such heading.
    pub fn text(self) -> Option<&'static str> {
        let text = self.document.text();
        let (start, level) = heading_lines(text)
            .find(|(_, _, title)| *title == self.heading)
            .map(|(start, level, _)| (start, level))?;
        let end = heading_lines(&text[start..])
            .skip(1)
            .find(|(_, l, _)| *l <= level)
            .map_or(text.len(), |(offset, _, _)| start + offset);
        Some(text[start..end].trim_end())
    }
}

/// The `(offset, level, title)` of every ATX heading of `text`, outside fenced code blocks.
fn heading_lines(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let (mut offset, mut fenced) = (0, false);
    text.split_inclusive('\n').filter_map(move |line| {
        let here = offset;
        offset += line.len();
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            return None;
        }
        let level = line.bytes().take_while(|b| *b == b'#').count();
        let title = line[level..].strip_prefix(' ')?.trim_end();
        (level > 0).then_some((here, level, title))
    })
}

/// Every heading's anchor in `text`, a repeated one numbered as GitHub numbers it (`-1`, ...).
pub fn anchors(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    heading_lines(text)
        .map(|(_, _, title)| {
            let base = anchor(title);
            let repeats = seen.entry(base.clone()).or_default();
            *repeats += 1;
            match *repeats {
                1 => base,
                n => format!("{base}-{}", n - 1),
            }
        })
        .collect()
}

/// A heading's anchor as GitHub computes it: lower case, every character but letters, digits,
/// spaces, `-` and `_` dropped, spaces turned into `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

impl RuleId {
    /// The section of the contract that states this rule in full.
    pub fn section(self) -> Section {
        let id = self.as_str();
        let (document, heading) = match id {
            "ROBUST-AUTH" => (Document::BatchGetImage, "1. Wire protocol (AWS JSON 1.1)"),
            "ROBUST-NO-5XX" => (Document::BatchGetImage, "6. Errors of the whole request"),
            _ if id.starts_with("REG-") => (Document::RegistryApi, registry_heading(id)),
            _ => (Document::BatchGetImage, batch_get_heading(id)),
        };
        Section { document, heading }
    }

    /// The link to its section, relative to the repository's root.
    pub fn contract_link(self) -> String {
        self.section().link()
    }
}

/// The section of `batch-get-image.md` a rule group belongs to, by its prefix.
fn batch_get_heading(id: &str) -> &'static str {
    const SECTIONS: [(&str, &str); 5] = [
        ("WIRE-", "1. Wire protocol (AWS JSON 1.1)"),
        ("VAL-", "2. Request members and whole-request validation"),
        ("REPO-", "3. Repository lookup"),
        ("ID-", "4. Resolving each image id"),
        ("MAN-", "5. The manifest, its digest and its media type"),
    ];
    SECTIONS
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map_or("7. The operations that build state", |(_, heading)| heading)
}

/// The section of `registry-api.md` a `REG-*` rule belongs to.
fn registry_heading(id: &str) -> &'static str {
    match id {
        "REG-PING" | "REG-AUTH-CHALLENGE" | "REG-AUTH-TOKEN" | "REG-AUTH-DENIED" => {
            "1. Authentication"
        }
        "REG-BLOB-BYTES" | "REG-BLOB-UNKNOWN" | "REG-BLOB-HEAD" => "3. Blobs",
        "REG-TAGS-LIST" | "REG-TAGS-LIMITS" => "4. Listing",
        "REG-SAME-STATE" => "5. Consistency between the two APIs",
        id if id.starts_with("REG-PUSH-") => "6. The push path",
        _ => "2. Manifests",
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::CONTRACT_VERSION;
    use crate::oracle::RULES;

    /// The version of the contract and the SHA-256 of its catalogue's ids, levels and
    /// statements (one `id level statement` line per rule) at that version.
    const PINNED: (&str, &str) = (
        "3",
        "da5a4ec4a23918578e71e7075b14e9f853d38c6467112c0d963df198a368d892",
    );

    #[test]
    fn the_contract_version_changes_with_the_catalogue() {
        let lines: String = RULES
            .iter()
            .map(|r| format!("{} {} {}\n", r.id, r.level, r.statement))
            .collect();
        let digest = format!("{:x}", Sha256::digest(lines.as_bytes()));
        assert_eq!(
            (CONTRACT_VERSION, digest.as_str()),
            PINNED,
            "the catalogue changed: bump CONTRACT_VERSION and pin the new digest beside it"
        );
    }
}
