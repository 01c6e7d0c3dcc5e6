//! English word knowledge the stages share: month and weekday names, number
//! words, and the rules that tell a capitalised name from a word capitalised
//! by grammar. Each table is written once; a reader that accepts more (the
//! dateline reader's "Sept" and "Thurs", the summary check's "According")
//! adds that on its own side.

// ---------------------------------------------------------------------------
// Months and weekdays

/// The months, January first: full name and the three-letter abbreviation
/// ("1 Dec 2024", "Dec 1"). May is too short to shorten.
pub(crate) const MONTHS: [(&str, &str); 12] = [
    ("January", "Jan"),
    ("February", "Feb"),
    ("March", "Mar"),
    ("April", "Apr"),
    ("May", "May"),
    ("June", "Jun"),
    ("July", "Jul"),
    ("August", "Aug"),
    ("September", "Sep"),
    ("October", "Oct"),
    ("November", "Nov"),
    ("December", "Dec"),
];

/// September's four-letter abbreviation, which Bangladeshi sites print on
/// datelines beside "Sep".
const SEPT: (&str, u32) = ("Sept", 9);

/// The month (1–12) a full month name or its three-letter abbreviation
/// names, in any ASCII case: "December", "dec", "MAY".
pub(crate) fn month_number(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|(name, abbreviation)| {
            name.eq_ignore_ascii_case(word) || abbreviation.eq_ignore_ascii_case(word)
        })
        .map(|index| index as u32 + 1)
}

/// As [`month_number`], and also "Sept".
pub(crate) fn month_number_or_sept(word: &str) -> Option<u32> {
    month_number(word).or_else(|| SEPT.0.eq_ignore_ascii_case(word).then_some(SEPT.1))
}

/// Whether a word shortens a month name ("Dec", "Sept"), in any ASCII case.
/// "May" is the full name, so it is no abbreviation.
pub(crate) fn is_month_abbreviation(word: &str) -> bool {
    let shortened = MONTHS.iter().any(|(name, abbreviation)| {
        abbreviation != name && abbreviation.eq_ignore_ascii_case(word)
    });
    shortened || SEPT.0.eq_ignore_ascii_case(word)
}

/// The weekdays, Monday first: full name and the three-letter abbreviation.
pub(crate) const WEEKDAYS: [(&str, &str); 7] = [
    ("Monday", "Mon"),
    ("Tuesday", "Tue"),
    ("Wednesday", "Wed"),
    ("Thursday", "Thu"),
    ("Friday", "Fri"),
    ("Saturday", "Sat"),
    ("Sunday", "Sun"),
];

/// Whether a word is a weekday's full name, in any ASCII case.
pub(crate) fn is_weekday_name(word: &str) -> bool {
    WEEKDAYS
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(word))
}

/// Whether a word is a weekday's full name or three-letter abbreviation, in
/// any ASCII case.
pub(crate) fn is_weekday(word: &str) -> bool {
    is_weekday_name(word)
        || WEEKDAYS
            .iter()
            .any(|(_, abbreviation)| abbreviation.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_in_full_and_abbreviated_in_any_case() {
        assert_eq!(month_number("December"), Some(12));
        assert_eq!(month_number("dec"), Some(12));
        assert_eq!(month_number("MAY"), Some(5));
        assert_eq!(month_number_or_sept("Sept"), Some(9));
        assert_eq!(month_number_or_sept("Mayday"), None);
    }

    /// "Dec." does not end a sentence; "in May." does.
    #[test]
    fn may_is_no_abbreviation() {
        assert!(is_month_abbreviation("Dec") && is_month_abbreviation("sept"));
        assert!(!is_month_abbreviation("May") && !is_month_abbreviation("January"));
    }
}
