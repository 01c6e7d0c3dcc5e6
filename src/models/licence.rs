//! What a user should know about a model's licence before publishing what
//! it wrote: a preset's licence is shown with every run, and anything short
//! of a plainly permissive licence gets a note.

/// What a user should know about a model's licence before using its output,
/// if anything.
pub fn licence_note(licence: &str) -> Option<&'static str> {
    const PERMISSIVE: &[&str] = &["APACHE-2.0", "MIT", "BSD-3-CLAUSE", "CC-BY-4.0"];
    let upper = licence.to_ascii_uppercase();
    if upper.contains("-NC") {
        Some("non-commercial use only")
    } else if PERMISSIVE.contains(&upper.as_str()) {
        None
    } else {
        Some("read its terms of use before publishing its output")
    }
}
