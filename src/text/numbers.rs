//! The number check after translation: every number in a Bengali sentence
//! must survive into its English translation.
//!
//! Translation models are known to change numbers (231 → 239), drop them, or
//! misread Bengali multipliers (`১৫ লাখ` is 1.5 million, not 15 million).
//! [`check_numbers`] reads each number of the Bengali sentence to its value
//! and looks for that value anywhere in the English one, in whatever form an
//! English writer may use: `10,000`, `10000`, `10 thousand`, `ten thousand`,
//! `1 lakh`, `1.5 million`, `1 crore`. It is a presence check: a number the
//! Bengali writes twice needs to appear once.
//!
//! Bengali number words on their own (`এক`, `দুই` … `দশ`) are not checked:
//! `এক` is also the indefinite article (`এক বৈঠকে`, "in a meeting") and
//! `একে অপরকে` means "each other", so requiring "one" in English would flag
//! correct translations. Number words with a multiplier (`দুই হাজার`,
//! `দেড় লাখ`, `সাড়ে তিন কোটি`) are quantities and are checked.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::text::dates::{
    date_at, joined, punct_at, time_at, tokenize, word_at, word_in, Token, TokenKind,
};
use crate::text::english::{self, NumberWord, NumberWordForm, NumberWordKind};

/// Longer digit runs (card or phone numbers run together) are left unchecked;
/// this keeps every value and its scaling within `u128`.
const MAX_DIGITS: usize = 36;

/// A number of the Bengali sentence that the English translation lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NumberMismatch {
    /// The number as written in the Bengali sentence, e.g. `১০ হাজার`.
    pub(crate) source: String,
    /// Its value: `10000`, `3.5`, a clock time `13:28`, or an ISO date for a
    /// numeric date such as `১৩/০৭/২০২৫`.
    pub(crate) value: String,
}

/// The numbers of `bengali` that `english` does not carry, in order of first
/// appearance and each value once.
///
/// Numbers are digit runs (Bengali or ASCII) with `,` thousands separators in
/// Western (`১০,০০০`) or Indian (`১০,০০,০০০`) grouping, decimals (`৩.৫`),
/// multipliers (`হাজার`, `লাখ`/`লক্ষ`, `কোটি`, also with endings such as
/// `হাজারেরও`), ordinals (`২য়`, matched by `2nd`, `2` or `second`), years,
/// days of dates (`১৩ জুলাই` needs `13`), digits inside words (`কোভিড-১৯`),
/// clock times (`০১:২৮ অপরাহ্ন` matches `1:28 pm` or `13:28`) and numeric
/// dates (`১৩/০৭/২০২৫` matches any written form of 13 July 2025). English
/// may write a value in digits with or without separators, scaled
/// (`10 thousand`, `1.5 million`, `1 crore`, `2 billion`) or in words
/// (`twenty-one`, `ten thousand`, `one hundred and five`, `first`).
pub(crate) fn check_numbers(bengali: &str, english: &str) -> Vec<NumberMismatch> {
    let evidence = Evidence::read(english);
    let mut reported: Vec<Expected> = Vec::new();
    let mut mismatches = Vec::new();
    for mention in mentions(bengali) {
        if evidence.carries(&mention.expected) || reported.contains(&mention.expected) {
            continue;
        }
        reported.push(mention.expected);
        mismatches.push(NumberMismatch {
            source: bengali.get(mention.range).unwrap_or_default().to_string(),
            value: mention.expected.to_string(),
        });
    }
    mismatches
}

/// How many distinct numbers `bengali` holds: the most [`check_numbers`]
/// can report for it, so a set's numbers kept can be counted.
pub(crate) fn count_numbers(bengali: &str) -> usize {
    let mut distinct: Vec<Expected> = Vec::new();
    for mention in mentions(bengali) {
        if !distinct.contains(&mention.expected) {
            distinct.push(mention.expected);
        }
    }
    distinct.len()
}

// ---------------------------------------------------------------------------
// Exact decimal values

/// `mantissa / 10^scale`, with no trailing zeros after the point, so equal
/// values compare equal however they were written (`1.50 lakh` = `150000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    fn new(mut mantissa: u128, mut scale: u32) -> Self {
        while scale > 0 && mantissa.is_multiple_of(10) {
            mantissa /= 10;
            scale -= 1;
        }
        Decimal { mantissa, scale }
    }

    /// From ASCII digit strings for the whole and fractional parts.
    fn from_digits(whole: &str, fraction: &str) -> Option<Self> {
        if whole.len() + fraction.len() > MAX_DIGITS {
            return None;
        }
        let mantissa = format!("{whole}{fraction}").parse().ok()?;
        Some(Self::new(mantissa, u32::try_from(fraction.len()).ok()?))
    }

    fn times_power_of_ten(self, power: u32) -> Option<Self> {
        if power <= self.scale {
            return Some(Self::new(self.mantissa, self.scale - power));
        }
        let factor = 10u128.checked_pow(power - self.scale)?;
        Some(Self::new(self.mantissa.checked_mul(factor)?, 0))
    }

    fn checked_add(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let widen = |value: Self| {
            value
                .mantissa
                .checked_mul(10u128.checked_pow(scale - value.scale)?)
        };
        Some(Self::new(widen(self)?.checked_add(widen(other)?)?, scale))
    }

    fn is_below_power_of_ten(self, power: u32) -> bool {
        // A bound beyond u128 is above every mantissa.
        10u128
            .checked_pow(power + self.scale)
            .is_none_or(|bound| self.mantissa < bound)
    }

    fn plus_half(self) -> Option<Self> {
        let scale = self.scale.max(1);
        let widened = self
            .mantissa
            .checked_mul(10u128.checked_pow(scale - self.scale)?)?;
        let half = 5u128.checked_mul(10u128.checked_pow(scale - 1)?)?;
        Some(Self::new(widened.checked_add(half)?, scale))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{whole}.{fraction}")
    }
}

// ---------------------------------------------------------------------------
// What the Bengali sentence says

/// A value the English sentence has to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Value(Decimal),
    /// 24-hour clock time; English may write it on either clock.
    Time {
        hour: u32,
        minute: u32,
        second: u32,
    },
    Date {
        year: u32,
        month: u32,
        day: u32,
    },
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Expected::Value(value) => value.fmt(f),
            Expected::Time {
                hour,
                minute,
                second: 0,
            } => write!(f, "{hour:02}:{minute:02}"),
            Expected::Time {
                hour,
                minute,
                second,
            } => write!(f, "{hour:02}:{minute:02}:{second:02}"),
            Expected::Date { year, month, day } => write!(f, "{year:04}-{month:02}-{day:02}"),
        }
    }
}

struct Mention {
    expected: Expected,
    /// Byte range of the number in the sentence.
    range: Range<usize>,
}

fn mentions(text: &str) -> Vec<Mention> {
    let tokens = tokenize(text);
    let mut found = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let Some((reading, end)) = reading_at(&tokens, index) else {
            index += 1;
            continue;
        };
        let (expected, first) = match reading {
            Reading::Quantity(values) => match values.last() {
                Some(&value) => (Expected::Value(value), index),
                None => {
                    index += 1;
                    continue;
                }
            },
            Reading::Time(expected, first) => (expected, first.min(index)),
            Reading::Date(expected) => (expected, index),
        };
        let end = end.max(index + 1);
        let end = if word_at(&tokens, end).is_some_and(|word| word_in(word, ORDINAL_ENDINGS))
            && joined(&tokens, end)
        {
            end + 1
        } else {
            end
        };
        let start_byte = tokens[first].start;
        let end_byte = tokens.get(end - 1).map_or(start_byte, |token| token.end);
        found.push(Mention {
            expected,
            range: start_byte..end_byte,
        });
        index = end;
    }
    found
}

/// A number as read from text: a quantity with its partial values (the last
/// is the whole), a clock time, or a numeric date.
enum Reading {
    Quantity(Vec<Decimal>),
    /// The clock time and the index of its first token (a part of the day
    /// before the hour belongs to it).
    Time(Expected, usize),
    Date(Expected),
}

/// The number starting at `index` and the index after it. Both sentences
/// are read with this, so a sentence copied over with ASCII digits carries
/// every number.
fn reading_at(tokens: &[Token], index: usize) -> Option<(Reading, usize)> {
    // `সাড়ে ১০টা` is half past ten, not 10.5.
    if word_at(tokens, index).is_some_and(|word| word_in(word, HOUR_FRACTIONS)) {
        if let Some((time, end)) = time_at(tokens, index + 1) {
            if let Some(clock) = time.clock.filter(|_| time.has_fraction) {
                return Some((Reading::Time(clock_expected(clock), time.first_token), end));
            }
        }
    }
    if let Some((time, end)) = time_at(tokens, index) {
        if let Some(clock) = time.clock {
            return Some((Reading::Time(clock_expected(clock), time.first_token), end));
        }
    }
    if let Some((date, end)) = date_at(tokens, index) {
        if let Some((year, month, day)) = date.full_valid().filter(|_| date.numeric) {
            return Some((Reading::Date(Expected::Date { year, month, day }), end));
        }
    }
    let (values, end) = quantity_at(tokens, index)?;
    Some((Reading::Quantity(values), end))
}

fn clock_expected(clock: crate::text::dates::Clock) -> Expected {
    Expected::Time {
        hour: clock.hour,
        minute: clock.minute,
        second: clock.second,
    }
}

const HOUR_FRACTIONS: &[&str] = &["সাড়ে", "সোয়া", "পৌনে"];
const HALF_MORE: &str = "সাড়ে";

/// Endings that make a numeral an ordinal (`১ম`, `২য়`, `৪র্থ`, `৬ষ্ঠ`, `২১তম`)
/// or a day (`১৩ই`); the value is the same.
const ORDINAL_ENDINGS: &[&str] = &[
    "ম",
    "য়",
    "র্থ",
    "ষ্ঠ",
    "তম",
    "ই",
    "লা",
    "রা",
    "ঠা",
    "শে",
    "st",
    "nd",
    "rd",
    "th",
];

/// Multipliers and their powers of ten: Bengali, and the English spellings
/// after digits (`৫ lac`, `1.5 mn`) that are no number words; English
/// number words multiply as well (`10 thousand`, `2 hundreds`).
const SCALE_WORDS: &[(&str, u32)] = &[
    ("হাজার", 3),
    ("লাখ", 5),
    ("লক্ষ", 5),
    ("কোটি", 7),
    ("মিলিয়ন", 6),
    ("বিলিয়ন", 9),
    ("ট্রিলিয়ন", 12),
    ("lac", 5),
    ("lacs", 5),
    ("mn", 6),
    ("bn", 9),
    ("trillions", 12),
];

/// Endings a Bengali multiplier takes (`হাজারেরও`, `কোটির`, `লক্ষাধিক`).
/// `লক্ষ্য` ("aim") and `শতাংশ` ("percent") must not read as multipliers.
const SCALE_ENDINGS: &[&str] = &[
    "ও",
    "ের",
    "েরও",
    "এর",
    "ে",
    "র",
    "রও",
    "টি",
    "টা",
    "তে",
    "াধিক",
];

/// "Hundred" in Bengali, only as whole words (`শের` is "tiger's").
const BENGALI_HUNDREDS: &[&str] = &["শ", "শত", "শো"];

/// Bengali number words, counted only before a multiplier: (word, mantissa, scale).
const BENGALI_NUMBER_WORDS: &[(&str, u128, u32)] = &[
    ("এক", 1, 0),
    ("দুই", 2, 0),
    ("দু", 2, 0),
    ("তিন", 3, 0),
    ("চার", 4, 0),
    ("পাঁচ", 5, 0),
    ("ছয়", 6, 0),
    ("ছয়", 6, 0),
    ("সাত", 7, 0),
    ("আট", 8, 0),
    ("নয়", 9, 0),
    ("দশ", 10, 0),
    ("বিশ", 20, 0),
    ("ত্রিশ", 30, 0),
    ("চল্লিশ", 40, 0),
    ("পঞ্চাশ", 50, 0),
    ("ষাট", 60, 0),
    ("সত্তর", 70, 0),
    ("আশি", 80, 0),
    ("নব্বই", 90, 0),
    ("একশ", 100, 0),
    ("একশো", 100, 0),
    ("দেড়", 15, 1),
    ("আড়াই", 25, 1),
];

fn scale_power(word: &str) -> Option<u32> {
    if word_in(word, BENGALI_HUNDREDS) {
        return Some(2);
    }
    let english_multiplier = english::number_word(word)
        .filter(|number| number.is_multiplier() && number.form != NumberWordForm::Ordinal);
    if let Some(number) = english_multiplier {
        return Some(number.value);
    }
    SCALE_WORDS.iter().find_map(|&(name, power)| {
        if word == name {
            return Some(power);
        }
        let rest = word.strip_prefix(name).filter(|_| !name.is_ascii())?;
        word_in(rest, SCALE_ENDINGS).then_some(power)
    })
}

/// Digits with optional thousands separators and decimal part at `index`,
/// and the index after them.
fn numeral_at(tokens: &[Token], index: usize) -> Option<(Decimal, usize)> {
    let first = digits_at(tokens, index)?;
    let mut groups = vec![first];
    let mut next = index + 1;
    while punct_at(tokens, next) == Some(',') && joined(tokens, next) && joined(tokens, next + 1) {
        let Some(group) = digits_at(tokens, next + 1) else {
            break;
        };
        groups.push(group);
        next += 2;
    }
    let (whole, mut end) = if is_thousands_grouping(&groups) {
        (groups.concat(), next)
    } else {
        // `১০,২০` is a list of two numbers, not a grouping.
        (first.to_string(), index + 1)
    };
    let mut fraction = "";
    if punct_at(tokens, end) == Some('.') && joined(tokens, end) && joined(tokens, end + 1) {
        if let Some(digits) = digits_at(tokens, end + 1) {
            fraction = digits;
            end += 2;
        }
    }
    Some((Decimal::from_digits(&whole, fraction)?, end))
}

fn digits_at(tokens: &[Token], index: usize) -> Option<&str> {
    match &tokens.get(index)?.kind {
        TokenKind::Number(digits) => Some(digits),
        _ => None,
    }
}

/// Western (`1,234,567`) or Indian (`12,34,567`) grouping: a lead of 1–3
/// digits, middle groups all of 3 or all of 2, a last group of 3.
fn is_thousands_grouping(groups: &[&str]) -> bool {
    let [lead, middle @ .., last] = groups else {
        return false;
    };
    (1..=3).contains(&lead.len())
        && last.len() == 3
        && (middle.iter().all(|group| group.len() == 3)
            || middle.iter().all(|group| group.len() == 2))
}

/// How many smaller quantities may follow a larger one to add up
/// (`১ কোটি ২০ লাখ ৫০ হাজার ৫০০`); bounds the recursion on hostile input.
const MAX_COMPOUND_PARTS: usize = 6;

/// A quantity at `index`: a numeral, or a Bengali number word before a
/// multiplier, optionally after `সাড়ে` (+½), followed by any chain of
/// multipliers, plus a smaller quantity that follows (`২ লাখ ৫০ হাজার` is
/// 250,000, `১০ হাজার ৫০০` is 10,500). Returns the unscaled value, each
/// successive scaling and the sum (the last is the quantity), and the index
/// after it.
fn quantity_at(tokens: &[Token], index: usize) -> Option<(Vec<Decimal>, usize)> {
    quantity_within(tokens, index, MAX_COMPOUND_PARTS)
}

fn quantity_within(
    tokens: &[Token],
    index: usize,
    parts_left: usize,
) -> Option<(Vec<Decimal>, usize)> {
    let half_more = word_at(tokens, index).is_some_and(|word| word == HALF_MORE);
    let start = if half_more { index + 1 } else { index };
    let (mut value, mut end, from_word) = match numeral_at(tokens, start) {
        Some((value, end)) => (value, end, false),
        None => {
            let word = word_at(tokens, start)?;
            let &(_, mantissa, scale) = BENGALI_NUMBER_WORDS
                .iter()
                .find(|(name, _, _)| *name == word)?;
            (Decimal::new(mantissa, scale), start + 1, true)
        }
    };
    if half_more {
        value = value.plus_half()?;
    }
    let mut values = vec![value];
    let mut last_power = None;
    while let Some(power) = word_at(tokens, end).and_then(scale_power) {
        value = value.times_power_of_ten(power)?;
        values.push(value);
        last_power = Some(power);
        end += 1;
    }
    // Bare number words are not checked (see the module documentation).
    if from_word && last_power.is_none() {
        return None;
    }
    let smaller_part = match last_power {
        Some(power) if parts_left > 0 && tokens.get(end).is_some_and(|token| token.spaced) => {
            quantity_within(tokens, end, parts_left - 1).and_then(|(part_values, part_end)| {
                let part = *part_values.last()?;
                part.is_below_power_of_ten(power)
                    .then_some((part_values, part, part_end))
            })
        }
        _ => None,
    };
    if let Some((part_values, part, part_end)) = smaller_part {
        values.extend(part_values);
        values.push(value.checked_add(part)?);
        end = part_end;
    }
    Some((values, end))
}

// ---------------------------------------------------------------------------
// What the English sentence carries

#[derive(Debug, Default)]
struct Evidence {
    values: HashSet<Decimal>,
    /// Clock times as (hour on the 12-hour clock, minute).
    times: Vec<(u32, u32)>,
    dates: Vec<(u32, u32, u32)>,
}

impl Evidence {
    fn read(english: &str) -> Self {
        let tokens = tokenize(english);
        let mut evidence = Evidence::default();
        // Times and dates can start anywhere; look everywhere.
        for index in 0..tokens.len() {
            if let Some(clock) = time_at(&tokens, index).and_then(|(time, _)| time.clock) {
                evidence.times.push((clock.hour % 12, clock.minute));
            }
            if let Some(date) = date_at(&tokens, index).and_then(|(date, _)| date.full_valid()) {
                evidence.dates.push(date);
            }
        }
        // Numbers are read left to right, as in the Bengali sentence, so
        // `10,000` does not also offer `000`.
        let mut index = 0;
        while index < tokens.len() {
            if let Some((reading, end)) = reading_at(&tokens, index) {
                match reading {
                    Reading::Quantity(values) => evidence.values.extend(values),
                    Reading::Time(Expected::Time { hour, minute, .. }, _) => {
                        evidence.times.push((hour % 12, minute));
                    }
                    Reading::Date(Expected::Date { year, month, day }) => {
                        evidence.dates.push((year, month, day));
                    }
                    Reading::Time(..) | Reading::Date(_) => {}
                }
                index = end.max(index + 1);
            } else if let Some((value, end)) = english_number_words_at(&tokens, index) {
                evidence.values.insert(value);
                index = end;
            } else {
                index += 1;
            }
        }
        evidence
    }

    fn carries(&self, expected: &Expected) -> bool {
        match *expected {
            Expected::Value(value) => self.values.contains(&value),
            Expected::Time {
                hour,
                minute,
                second,
            } => {
                // `সন্ধ্যা ৭টায়` may come out as "7 pm", "19:00" or "seven in the evening".
                let whole_hour = minute == 0 && second == 0;
                let spoken_hour = if hour % 12 == 0 { 12 } else { hour % 12 };
                self.times.contains(&(hour % 12, minute))
                    || (whole_hour
                        && [spoken_hour, hour]
                            .iter()
                            .any(|&h| self.values.contains(&Decimal::new(u128::from(h), 0))))
            }
            Expected::Date { year, month, day } => self.dates.contains(&(year, month, day)),
        }
    }
}

/// A number in English words at `index` (`twenty-one`, `a hundred`,
/// `two hundred and thirty-one`, `ten thousand`, `one lakh crore`, `first`)
/// and the index after it.
fn english_number_words_at(tokens: &[Token], index: usize) -> Option<(Decimal, usize)> {
    let mut total: u128 = 0;
    let mut current: u128 = 0;
    let mut last: Option<NumberWordKind> = None;
    let mut next = index;
    let mut end = None;
    loop {
        let is_number_word = |at: usize| word_at(tokens, at).and_then(english::number_word);
        if punct_at(tokens, next) == Some('-') {
            let unit_follows =
                is_number_word(next + 1).is_some_and(|number| number.kind == NumberWordKind::Unit);
            if last == Some(NumberWordKind::Tens)
                && joined(tokens, next)
                && joined(tokens, next + 1)
                && unit_follows
            {
                next += 1;
                continue;
            }
            break;
        }
        let Some(word) = word_at(tokens, next) else {
            break;
        };
        if let Some(NumberWord { kind, value, form }) = english::number_word(word) {
            let allowed = match kind {
                NumberWordKind::Unit => {
                    !matches!(last, Some(NumberWordKind::Unit | NumberWordKind::Teen))
                }
                NumberWordKind::Teen | NumberWordKind::Tens => {
                    matches!(
                        last,
                        None | Some(NumberWordKind::Hundred | NumberWordKind::Scale)
                    )
                }
                NumberWordKind::Hundred => !matches!(last, Some(NumberWordKind::Hundred)),
                NumberWordKind::Scale => true,
            };
            if !allowed {
                break;
            }
            match kind {
                NumberWordKind::Unit | NumberWordKind::Teen | NumberWordKind::Tens => {
                    current = current.checked_add(u128::from(value))?;
                }
                NumberWordKind::Hundred => current = current.max(1).checked_mul(100)?,
                NumberWordKind::Scale => {
                    let factor = 10u128.checked_pow(value)?;
                    if last == Some(NumberWordKind::Scale) && current == 0 {
                        // `one lakh crore`: the scales multiply.
                        total = total.checked_mul(factor)?;
                    } else {
                        total = total.checked_add(current.max(1).checked_mul(factor)?)?;
                        current = 0;
                    }
                }
            }
            last = Some(kind);
            next += 1;
            end = Some(next);
            if form == NumberWordForm::Ordinal {
                break;
            }
            continue;
        }
        let joins_numbers = |at: usize| is_number_word(at).is_some();
        let article = (word == "a" || word == "an")
            && next == index
            && is_number_word(next + 1).is_some_and(NumberWord::is_multiplier);
        let and = word == "and"
            && matches!(last, Some(NumberWordKind::Hundred | NumberWordKind::Scale))
            && joins_numbers(next + 1);
        if article || and {
            next += 1;
            continue;
        }
        break;
    }
    let end = end?;
    Some((Decimal::new(total.checked_add(current)?, 0), end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(mismatches: &[NumberMismatch]) -> Vec<&str> {
        mismatches.iter().map(|m| m.value.as_str()).collect()
    }

    #[test]
    fn changed_number_is_reported_with_its_bengali_spelling() {
        let bengali = "হামলায় ২৩১ জন নিহত হয়েছেন।";
        assert_eq!(
            check_numbers(bengali, "231 people were killed in the attack."),
            vec![]
        );
        assert_eq!(
            check_numbers(bengali, "239 people were killed in the attack."),
            vec![NumberMismatch {
                source: "২৩১".to_string(),
                value: "231".to_string()
            }]
        );
        assert_eq!(
            values(&check_numbers(
                bengali,
                "Many people were killed in the attack."
            )),
            vec!["231"]
        );
    }

    #[test]
    fn thousands_in_every_english_form() {
        let bengali = "উত্তর কোরিয়া ১০ হাজার সৈন্য রাশিয়ায় পাঠিয়েছে।";
        for english in [
            "North Korea sent 10,000 troops to Russia.",
            "North Korea sent 10000 troops to Russia.",
            "North Korea sent 10 thousand troops to Russia.",
            "North Korea sent ten thousand troops to Russia.",
        ] {
            assert_eq!(check_numbers(bengali, english), vec![], "{english}");
        }
        let dropped = check_numbers(bengali, "North Korea sent 10 troops to Russia.");
        assert_eq!(
            dropped,
            vec![NumberMismatch {
                source: "১০ হাজার".to_string(),
                value: "10000".to_string()
            }]
        );
        // Separators in the Bengali, Western and Indian.
        assert_eq!(
            check_numbers("১০,০০০ সৈন্য", "ten thousand soldiers"),
            vec![]
        );
        assert_eq!(check_numbers("১০,০০,০০০ টাকা", "Tk 1 million"), vec![]);
        assert_eq!(check_numbers("১০,০০,০০০ টাকা", "Tk 10 lakh"), vec![]);
        assert_eq!(
            values(&check_numbers("১০,০০,০০০ টাকা", "Tk 100,000")),
            vec!["1000000"]
        );
    }

    #[test]
    fn multiplier_endings_and_lookalikes() {
        assert_eq!(
            check_numbers("১০ হাজারেরও বেশি কন্টেইনার", "more than 10,000 containers"),
            vec![]
        );
        assert_eq!(
            values(&check_numbers(
                "১০ হাজারেরও বেশি কন্টেইনার",
                "more than 10 containers"
            )),
            vec!["10000"]
        );
        // `লক্ষ্য` is "aim" and `শতাংশ` "percent": no multiplier.
        assert_eq!(check_numbers("৫টি লক্ষ্য", "five goals, 5 of them"), vec![]);
        assert_eq!(check_numbers("৫০ শতাংশ", "50 percent"), vec![]);
    }

    #[test]
    fn lakh_and_crore_conversions() {
        let lakh = "৫০ লাখ টাকা পুরস্কার";
        for english in [
            "a reward of Tk 50 lakh",
            "a reward of Tk 5 million",
            "a reward of Tk 5,000,000",
        ] {
            assert_eq!(check_numbers(lakh, english), vec![], "{english}");
        }
        assert_eq!(
            values(&check_numbers(lakh, "a reward of Tk 50 million")),
            vec!["5000000"]
        );
        assert_eq!(check_numbers("১৫ লাখ মানুষ", "1.5 million people"), vec![]);
        assert_eq!(check_numbers("১৫ লক্ষ মানুষ", "15 lakh people"), vec![]);
        assert_eq!(
            values(&check_numbers("১৫ লাখ মানুষ", "15 million people")),
            vec!["1500000"]
        );
        assert_eq!(check_numbers("১ কোটি ডলার", "10 million dollars"), vec![]);
        assert_eq!(check_numbers("১ কোটি ডলার", "1 crore dollars"), vec![]);
        assert_eq!(check_numbers("২০০ কোটি ডলার", "2 billion dollars"), vec![]);
        assert_eq!(check_numbers("১ লাখ কোটি টাকা", "Tk 1 lakh crore"), vec![]);
        assert_eq!(check_numbers("১ লাখ কোটি টাকা", "Tk 1 trillion"), vec![]);
        assert_eq!(check_numbers("১ লাখ", "100 thousand"), vec![]);
        assert_eq!(check_numbers("১ লাখ", "one lakh"), vec![]);
    }

    #[test]
    fn decimals_and_number_words_with_multipliers() {
        assert_eq!(
            check_numbers("প্রবৃদ্ধি ৩.৫ শতাংশ", "growth of 3.5 percent"),
            vec![]
        );
        assert_eq!(
            check_numbers("প্রবৃদ্ধি ৩.৫ শতাংশ", "growth of 35 percent"),
            vec![NumberMismatch {
                source: "৩.৫".to_string(),
                value: "3.5".to_string()
            }]
        );
        assert_eq!(check_numbers("২.৫০ লাখ", "250,000"), vec![]);
        assert_eq!(check_numbers("দেড় লাখ মানুষ", "150,000 people"), vec![]);
        assert_eq!(check_numbers("আড়াই কোটি", "25 million"), vec![]);
        assert_eq!(check_numbers("সাড়ে ৩ হাজার", "3,500"), vec![]);
        assert_eq!(
            check_numbers("সাড়ে তিন হাজার", "three thousand five hundred"),
            vec![]
        );
        assert_eq!(
            values(&check_numbers("দুই হাজার সৈন্য", "two soldiers")),
            vec!["2000"]
        );
        // Bare number words are not checked: `এক` is also "a".
        assert_eq!(
            check_numbers("এক বৈঠকে তিন দিনের সফর", "during a visit"),
            vec![]
        );
    }

    #[test]
    fn years_and_dates_are_numbers_too() {
        let bengali = "শনিবার (৩০ নভেম্বর) ২০২৪ সালের চুক্তি নিয়ে কথা হয়।";
        assert_eq!(
            check_numbers(
                bengali,
                "On Saturday (November 30) they discussed the 2024 agreement."
            ),
            vec![]
        );
        assert_eq!(
            values(&check_numbers(
                bengali,
                "On Saturday they discussed the 2023 agreement."
            )),
            vec!["30", "2024"]
        );
        // A numeric date matches the same day written any way.
        let numeric = "১৩/০৭/২০২৫ তারিখে";
        assert_eq!(check_numbers(numeric, "on 13 July 2025"), vec![]);
        assert_eq!(check_numbers(numeric, "on July 13, 2025"), vec![]);
        assert_eq!(check_numbers(numeric, "on 2025-07-13"), vec![]);
        assert_eq!(
            values(&check_numbers(numeric, "on 7/13/2025")),
            vec!["2025-07-13"]
        );
    }

    #[test]
    fn clock_times_on_either_clock() {
        let bengali = "০১:২৮ অপরাহ্ন সময়ে";
        assert_eq!(check_numbers(bengali, "at 1:28 pm"), vec![]);
        assert_eq!(check_numbers(bengali, "at 13:28"), vec![]);
        assert_eq!(
            check_numbers(bengali, "at 1:38 pm"),
            vec![NumberMismatch {
                source: "০১:২৮ অপরাহ্ন".to_string(),
                value: "13:28".to_string()
            }]
        );
        assert_eq!(check_numbers("রাত সাড়ে ১০টায়", "at 10:30 pm"), vec![]);
        assert_eq!(check_numbers("সন্ধ্যা ৭টায়", "at 7 pm"), vec![]);
        assert_eq!(check_numbers("সন্ধ্যা ৭টায়", "at seven in the evening"), vec![]);
        assert_eq!(check_numbers("সন্ধ্যা ৭টায়", "at 19:00"), vec![]);
        assert_eq!(
            check_numbers("সন্ধ্যা ৭টায়", "in the evening"),
            vec![NumberMismatch {
                source: "সন্ধ্যা ৭টায়".to_string(),
                value: "19:00".to_string()
            }]
        );
    }

    #[test]
    fn ordinals() {
        for (bengali, english) in [
            ("১ম স্থান", "1st place"),
            ("১ম স্থান", "first place"),
            ("২য় দফা", "the 2nd round"),
            ("২য় দফা", "the second round"),
            ("৩য় বার", "the third time"),
            ("৪র্থ দিন", "the fourth day"),
            ("৫ম দিন", "the fifth day"),
            ("২১তম আসর", "the twenty-first edition"),
        ] {
            assert_eq!(
                check_numbers(bengali, english),
                vec![],
                "{bengali} / {english}"
            );
        }
        assert_eq!(
            check_numbers("২য় দফা", "the third round"),
            vec![NumberMismatch {
                source: "২য়".to_string(),
                value: "2".to_string()
            }]
        );
    }

    #[test]
    fn digits_inside_words() {
        assert_eq!(
            check_numbers("কোভিড-১৯ মহামারি", "the Covid-19 pandemic"),
            vec![]
        );
        assert_eq!(
            values(&check_numbers("কোভিড-১৯ মহামারি", "the Covid pandemic")),
            vec!["19"]
        );
        assert_eq!(check_numbers("পুরস্কার-২০২৪ পেল", "won Award-2024"), vec![]);
        assert_eq!(
            check_numbers("২০২৪-২৫ অর্থবছরে", "in fiscal year 2024-25"),
            vec![]
        );
    }

    #[test]
    fn small_numbers_in_english_words() {
        for (digits, word) in [
            ("০", "zero"),
            ("২", "two"),
            ("১০", "ten"),
            ("১২", "twelve"),
            ("১৯", "nineteen"),
            ("২০", "twenty"),
            ("৪৫", "forty-five"),
            ("৯০", "ninety"),
            ("১০০", "one hundred"),
            ("১০০", "a hundred"),
            ("১০৫", "one hundred and five"),
            ("২৩১", "two hundred thirty-one"),
        ] {
            assert_eq!(check_numbers(digits, word), vec![], "{digits} / {word}");
        }
        assert_eq!(
            values(&check_numbers("২৩১", "two hundred thirty-nine")),
            vec!["231"]
        );
        // `one two` is two numbers, not three.
        assert_eq!(values(&check_numbers("৩", "one two")), vec!["3"]);
    }

    #[test]
    fn compound_quantities_add_up() {
        for (bengali, english) in [
            ("২ লাখ ৫০ হাজার টাকা", "Tk 250,000"),
            ("২ লাখ ৫০ হাজার টাকা", "Tk 2.5 lakh"),
            ("১ কোটি ২০ লাখ মানুষ", "12 million people"),
            ("১০ হাজার ৫০০ জন", "10,500 people"),
            ("দুই লাখ পঞ্চাশ হাজার", "two hundred and fifty thousand"),
        ] {
            assert_eq!(
                check_numbers(bengali, english),
                vec![],
                "{bengali} / {english}"
            );
        }
        assert_eq!(
            values(&check_numbers("২ লাখ ৫০ হাজার টাকা", "Tk 200,000")),
            vec!["250000"]
        );
        // A year after a quantity is not part of it.
        assert_eq!(check_numbers("৫ হাজার ২০২৪ সালে", "5,000 in 2024"), vec![]);
    }

    #[test]
    fn a_number_written_twice_needs_one_appearance_and_is_reported_once() {
        let bengali = "১০ হাজার সৈন্য, আবার বলি ১০ হাজার সৈন্য";
        assert_eq!(check_numbers(bengali, "10,000 soldiers"), vec![]);
        assert_eq!(check_numbers(bengali, "soldiers").len(), 1);
    }

    #[test]
    fn lists_are_not_thousands() {
        assert_eq!(check_numbers("১০,২০ ও ৩০", "10, 20 and 30"), vec![]);
        assert_eq!(values(&check_numbers("১০,২০ ও ৩০", "10,20")), vec!["30"]);
    }

    #[test]
    fn real_sentences_from_the_fixture_pages() {
        let bengali = "ইউক্রেনীয় কর্মকর্তারা এই বছরের শুরুতে বলেছেন, প্রায় ১৪ হাজার উত্তর কোরিয়ানকে তাদের বাহিনীর বিরুদ্ধে মোতায়েন করা হয়েছিল।";
        assert_eq!(
            check_numbers(
                bengali,
                "Ukrainian officials said earlier this year that about 14,000 North Koreans had been deployed against their forces."
            ),
            vec![]
        );
        assert_eq!(
            values(&check_numbers(
                bengali,
                "Ukrainian officials said earlier this year that about 14 North Koreans had been deployed."
            )),
            vec!["14000"]
        );
        let with_date = "সোমবার (২৮ এপ্রিল) কেসিএনএকে দেওয়া এক বিবৃতিতে এ কথা জানানো হয়।";
        assert_eq!(
            check_numbers(
                with_date,
                "In a statement to KCNA on Monday (April 28), it said so."
            ),
            vec![]
        );
        assert_eq!(
            values(&check_numbers(
                with_date,
                "In a statement to KCNA on Monday, it said so."
            )),
            vec!["28"]
        );
    }

    #[test]
    fn vocabulary_is_written_in_folded_form() {
        let entries = HOUR_FRACTIONS
            .iter()
            .chain(ORDINAL_ENDINGS)
            .chain(SCALE_ENDINGS)
            .chain(BENGALI_HUNDREDS)
            .copied()
            .chain(SCALE_WORDS.iter().map(|&(word, _)| word))
            .chain(BENGALI_NUMBER_WORDS.iter().map(|&(word, ..)| word))
            .chain(english::number_word_spellings());
        for entry in entries {
            assert_eq!(
                crate::text::dates::fold_word(entry),
                entry,
                "{:?}",
                entry.chars().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn decimals_print_canonically() {
        let show = |whole: &str, fraction: &str| {
            Decimal::from_digits(whole, fraction).map(|d| d.to_string())
        };
        assert_eq!(show("003", "50").as_deref(), Some("3.5"));
        assert_eq!(show("0", "05").as_deref(), Some("0.05"));
        assert_eq!(show("10000", "").as_deref(), Some("10000"));
        assert_eq!(show(&"9".repeat(MAX_DIGITS + 1), ""), None);
    }

    const PIECES: &[&str] = &[
        "০",
        "১",
        "৯",
        "১০",
        "২৩১",
        "৩.৫",
        "১০,০০০",
        "১০,০০,০০০",
        ",",
        ".",
        "-",
        ":",
        "/",
        "+",
        " ",
        " ",
        "হাজার",
        "হাজারেরও",
        "লাখ",
        "লক্ষ",
        "লক্ষ্য",
        "কোটি",
        "শ",
        "শত",
        "শতাংশ",
        "মিলিয়ন",
        "দেড়",
        "আড়াই",
        "সাড়ে",
        "পৌনে",
        "দুই",
        "এক",
        "টা",
        "টায়",
        "রাত",
        "পিএম",
        "অপরাহ্ন",
        "য়",
        "ম",
        "র্থ",
        "জুলাই",
        "২০২৫",
        "99999999999999999999999999999999999999999",
        "৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯৯",
    ];

    const ENGLISH_PIECES: &[&str] = &[
        "0", "1", "10", "231", "3.5", "10,000", " ", "-", ",", ".", ":", "a", "an", "and", "one",
        "twenty", "hundred", "thousand", "lakh", "crore", "million", "billion", "trillion",
        "first", "second", "twenty", "nine", "pm", "1:28",
    ];

    fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(pieces), 0..24).prop_map(|parts| parts.concat())
    }

    fn to_bengali_digits(text: &str) -> String {
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(value) => char::from_u32('০' as u32 + value).unwrap_or(c),
                None => c,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(2000)))]

        #[test]
        fn never_panics_on_arbitrary_text(bengali in any::<String>(), english in any::<String>()) {
            let _ = check_numbers(&bengali, &english);
        }

        #[test]
        fn never_panics_on_number_vocabulary(bengali in soup(PIECES), english in soup(ENGLISH_PIECES)) {
            let _ = check_numbers(&bengali, &english);
        }

        /// Carrying the Bengali text over with ASCII digits loses no number.
        #[test]
        fn digit_transliteration_keeps_every_number(bengali in soup(PIECES)) {
            let english = crate::text::dates::bengali_digits_to_ascii(&bengali);
            prop_assert_eq!(check_numbers(&bengali, &english), vec![]);
        }

        /// A count survives exactly when the English has the same number.
        #[test]
        fn a_count_matches_only_itself(count in 0u64..10_000_000_000, other in 0u64..10_000_000_000, grouped in any::<bool>()) {
            let bengali = format!("{} টাকা", to_bengali_digits(&count.to_string()));
            let shown = if grouped { group_thousands(other) } else { other.to_string() };
            let english = format!("Tk {shown}");
            prop_assert_eq!(check_numbers(&bengali, &english).is_empty(), count == other);
        }
    }

    fn group_thousands(value: u64) -> String {
        let digits = value.to_string();
        let mut out = String::new();
        for (position, digit) in digits.chars().enumerate() {
            if position > 0 && (digits.len() - position).is_multiple_of(3) {
                out.push(',');
            }
            out.push(digit);
        }
        out
    }
}
