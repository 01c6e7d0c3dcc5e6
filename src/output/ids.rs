//! Output file names: an article's id made safe for every file system and
//! unique within a run.

use std::collections::HashSet;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest id, in characters, that [`safe_id`] produces.
pub(crate) const MAX_ID_CHARS: usize = 100;

/// Longest id in bytes: Bengali takes three bytes a character in UTF-8, and
/// file names are limited to 255 bytes with room needed for `-N.json`.
pub(crate) const MAX_ID_BYTES: usize = 200;

/// Id used when nothing usable is left of the raw one.
const FALLBACK_ID: &str = "article";

/// Turns any string (a title, a file stem, a JSON `id` field) into a file
/// name stem that is safe on Linux, macOS and Windows.
///
/// Unicode letters and digits (Bengali included, with its vowel signs and
/// virama), `-`, `_` and `.` are kept; anything else becomes `-`, runs of
/// `-` are collapsed, and leading or trailing `.`/`-` are removed. The result
/// is never empty, at most [`MAX_ID_CHARS`] characters, never a Windows
/// device name, and never clashes with the digest or the manifest. Applying it twice changes
/// nothing.
pub(crate) fn safe_id(raw: &str) -> String {
    let mut id = String::new();
    for c in raw.nfc() {
        let kept = c.is_alphanumeric() || is_combining_mark(c) || matches!(c, '_' | '.' | '-');
        if kept {
            if c == '-' && id.ends_with('-') {
                continue;
            }
            id.push(c);
        } else if matches!(c, '\u{200c}' | '\u{200d}') {
            // Zero-width (non-)joiners only shape Bengali conjuncts; a `-`
            // in their place would split a word.
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let mut id = trim_id_edges(&id).to_string();
    if id.chars().count() > MAX_ID_CHARS || id.len() > MAX_ID_BYTES {
        let mut cut = String::new();
        for c in id.chars().take(MAX_ID_CHARS) {
            if cut.len() + c.len_utf8() > MAX_ID_BYTES {
                break;
            }
            cut.push(c);
        }
        id = trim_id_edges(&cut).to_string();
    }
    if id.is_empty() {
        return FALLBACK_ID.to_string();
    }
    if is_reserved(&id) {
        id.push('_');
    }
    id
}

fn trim_id_edges(id: &str) -> &str {
    id.trim_matches(|c| c == '.' || c == '-')
}

/// Names that would clash with the digest or the manifest, or that Windows
/// refuses as file names, whatever the extension.
fn is_reserved(id: &str) -> bool {
    let lower = id.to_lowercase();
    if lower == "digest" || lower == "manifest" {
        return true;
    }
    let stem = lower.split('.').next().unwrap_or("");
    if matches!(stem, "con" | "prn" | "aux" | "nul") {
        return true;
    }
    ["com", "lpt"].iter().any(|prefix| {
        stem.strip_prefix(prefix).is_some_and(|digit| {
            digit.len() == 1 && digit.chars().all(|d| d.is_ascii_digit() && d != '0')
        })
    })
}

/// Hands out ids that are unique within one run: `x`, `x-2`, `x-3`, …
/// Uniqueness is case-insensitive because macOS and Windows file systems are.
#[derive(Debug, Default)]
pub struct IdAllocator {
    taken: HashSet<String>,
}

impl IdAllocator {
    pub fn new() -> IdAllocator {
        IdAllocator::default()
    }

    /// A safe, not yet used id derived from `raw`.
    pub fn allocate(&mut self, raw: &str) -> String {
        let base = safe_id(raw);
        let mut candidate = base.clone();
        let mut counter = 2_u64;
        while self.taken.contains(&candidate.to_lowercase()) {
            candidate = format!("{base}-{counter}");
            counter += 1;
        }
        self.taken.insert(candidate.to_lowercase());
        candidate
    }
}
