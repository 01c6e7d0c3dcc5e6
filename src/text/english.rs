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

// ---------------------------------------------------------------------------
// Number words

/// The part an English number word plays in the number it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberWordKind {
    /// 0–9
    Unit,
    /// 10–19
    Teen,
    /// 20, 30 … 90
    Tens,
    Hundred,
    /// thousand and up
    Scale,
}

/// How a number word is written: "thousand", "thousands" or "thousandth".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberWordForm {
    Cardinal,
    /// "hundreds", "thousands"
    Plural,
    Ordinal,
}

/// One English number word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberWord {
    pub(crate) kind: NumberWordKind,
    /// The value of a unit, teen or tens word; the power of ten of a
    /// hundred or scale word (`hundred` 2, `lakh` 5, `million` 6).
    pub(crate) value: u32,
    pub(crate) form: NumberWordForm,
}

impl NumberWord {
    /// Whether the word multiplies the count before it ("two hundred",
    /// "ten lakh") rather than adding to it.
    pub(crate) fn is_multiplier(self) -> bool {
        matches!(self.kind, NumberWordKind::Hundred | NumberWordKind::Scale)
    }
}

/// English number words, lower case, with their kind, value and form.
const NUMBER_WORDS: &[(&str, NumberWordKind, u32, NumberWordForm)] = {
    use NumberWordForm::{Cardinal, Ordinal, Plural};
    use NumberWordKind::{Hundred, Scale, Teen, Tens, Unit};
    &[
        ("zero", Unit, 0, Cardinal),
        ("one", Unit, 1, Cardinal),
        ("two", Unit, 2, Cardinal),
        ("three", Unit, 3, Cardinal),
        ("four", Unit, 4, Cardinal),
        ("five", Unit, 5, Cardinal),
        ("six", Unit, 6, Cardinal),
        ("seven", Unit, 7, Cardinal),
        ("eight", Unit, 8, Cardinal),
        ("nine", Unit, 9, Cardinal),
        ("ten", Teen, 10, Cardinal),
        ("eleven", Teen, 11, Cardinal),
        ("twelve", Teen, 12, Cardinal),
        ("thirteen", Teen, 13, Cardinal),
        ("fourteen", Teen, 14, Cardinal),
        ("fifteen", Teen, 15, Cardinal),
        ("sixteen", Teen, 16, Cardinal),
        ("seventeen", Teen, 17, Cardinal),
        ("eighteen", Teen, 18, Cardinal),
        ("nineteen", Teen, 19, Cardinal),
        ("twenty", Tens, 20, Cardinal),
        ("thirty", Tens, 30, Cardinal),
        ("forty", Tens, 40, Cardinal),
        ("fifty", Tens, 50, Cardinal),
        ("sixty", Tens, 60, Cardinal),
        ("seventy", Tens, 70, Cardinal),
        ("eighty", Tens, 80, Cardinal),
        ("ninety", Tens, 90, Cardinal),
        ("hundred", Hundred, 2, Cardinal),
        ("hundreds", Hundred, 2, Plural),
        ("thousand", Scale, 3, Cardinal),
        ("thousands", Scale, 3, Plural),
        ("lakh", Scale, 5, Cardinal),
        ("lakhs", Scale, 5, Plural),
        ("million", Scale, 6, Cardinal),
        ("millions", Scale, 6, Plural),
        ("crore", Scale, 7, Cardinal),
        ("crores", Scale, 7, Plural),
        ("billion", Scale, 9, Cardinal),
        ("billions", Scale, 9, Plural),
        ("trillion", Scale, 12, Cardinal),
        ("first", Unit, 1, Ordinal),
        ("second", Unit, 2, Ordinal),
        ("third", Unit, 3, Ordinal),
        ("fourth", Unit, 4, Ordinal),
        ("fifth", Unit, 5, Ordinal),
        ("sixth", Unit, 6, Ordinal),
        ("seventh", Unit, 7, Ordinal),
        ("eighth", Unit, 8, Ordinal),
        ("ninth", Unit, 9, Ordinal),
        ("tenth", Teen, 10, Ordinal),
        ("eleventh", Teen, 11, Ordinal),
        ("twelfth", Teen, 12, Ordinal),
        ("thirteenth", Teen, 13, Ordinal),
        ("fourteenth", Teen, 14, Ordinal),
        ("fifteenth", Teen, 15, Ordinal),
        ("sixteenth", Teen, 16, Ordinal),
        ("seventeenth", Teen, 17, Ordinal),
        ("eighteenth", Teen, 18, Ordinal),
        ("nineteenth", Teen, 19, Ordinal),
        ("twentieth", Tens, 20, Ordinal),
        ("thirtieth", Tens, 30, Ordinal),
        ("fortieth", Tens, 40, Ordinal),
        ("fiftieth", Tens, 50, Ordinal),
        ("sixtieth", Tens, 60, Ordinal),
        ("seventieth", Tens, 70, Ordinal),
        ("eightieth", Tens, 80, Ordinal),
        ("ninetieth", Tens, 90, Ordinal),
        ("hundredth", Hundred, 2, Ordinal),
        ("thousandth", Scale, 3, Ordinal),
        ("millionth", Scale, 6, Ordinal),
    ]
};

/// The number word a lower-case word is, if any.
pub(crate) fn number_word(word: &str) -> Option<NumberWord> {
    NUMBER_WORDS
        .iter()
        .find(|(name, ..)| *name == word)
        .map(|&(_, kind, value, form)| NumberWord { kind, value, form })
}

/// Every number word, for checks on how the tables are written.
#[cfg(test)]
pub(crate) fn number_word_spellings() -> impl Iterator<Item = &'static str> {
    NUMBER_WORDS.iter().map(|&(name, ..)| name)
}

// ---------------------------------------------------------------------------
// Capitalised names

/// Whether a word opens with a capital letter.
pub(crate) fn is_capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// A word without its possessive ending: "Hasina's" and "Hasina’s" are
/// "Hasina", "Joneses'" is "Joneses".
pub(crate) fn strip_possessive(word: &str) -> &str {
    word.strip_suffix("'s")
        .or_else(|| word.strip_suffix("’s"))
        .or_else(|| word.strip_suffix('\''))
        .or_else(|| word.strip_suffix('’'))
        .unwrap_or(word)
}

/// Whether a word is written in capitals, as an acronym is ("KCNA", "BNP",
/// "RAB-7"): two letters or more, all capitals, digits and hyphens.
pub(crate) fn is_acronym(word: &str) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && word
            .chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '-')
}

/// Function words that often open a sentence, capitalised there while
/// naming nothing ("The", "In", "Meanwhile"), in lower case. Every name check
/// skips them; each adds the words its own text opens with.
pub(crate) const OPENING_FUNCTION_WORDS: [&str; 34] = [
    "a",
    "after",
    "an",
    "and",
    "as",
    "at",
    "before",
    "but",
    "by",
    "during",
    "for",
    "from",
    "he",
    "her",
    "his",
    "i",
    "in",
    "it",
    "its",
    "meanwhile",
    "on",
    "she",
    "the",
    "their",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "we",
    "when",
    "while",
    "with",
];

/// Lower-case words that join two capitalised words into one name ("Bank
/// of England", "Osama bin Laden") but never start or end one.
pub(crate) const NAME_CONNECTORS: [&str; 8] = ["of", "al", "bin", "de", "del", "da", "van", "von"];

/// Titles before a name that are not part of it ("President Putin" is
/// "Putin"), in lower case.
pub(crate) const HONORIFICS: [&str; 15] = [
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "president",
    "prime",
    "minister",
    "foreign",
    "chief",
    "leader",
    "general",
    "gen",
    "adviser",
    "advisor",
];

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
