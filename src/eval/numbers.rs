//! The number check over a whole evaluation set: of the numbers in the
//! Bengali sources, how many each model's translations carry (the check
//! every `anubad run` makes per sentence; see [`crate::text::numbers`]).

use serde::Serialize;

use crate::text;

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct NumbersKept {
    /// Distinct numbers per source line, summed.
    pub numbers: usize,
    /// Of them, those the translation carries.
    pub kept: usize,
}

/// `sources` and `translations` line by line (the shorter decides).
pub fn numbers_kept<S: AsRef<str>, T: AsRef<str>>(
    sources: &[S],
    translations: &[T],
) -> NumbersKept {
    let mut tally = NumbersKept::default();
    for (source, english) in sources.iter().zip(translations) {
        let source = text::normalize(source.as_ref());
        let numbers = text::numbers::count_numbers(&source);
        let lost = text::numbers::check_numbers(&source, english.as_ref()).len();
        tally.numbers += numbers;
        tally.kept += numbers.saturating_sub(lost);
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_number_is_not_kept() {
        let sources = ["দাম ৫০ টাকা, ১০ হাজার মানুষ।", "কোনো সংখ্যা নেই।"];
        let good = numbers_kept(
            &sources,
            &["The price is 50 taka, 10,000 people.", "No number."],
        );
        assert_eq!((good.kept, good.numbers), (2, 2));
        let bad = numbers_kept(
            &sources,
            &["The price is 60 taka, 10,000 people.", "No number."],
        );
        assert_eq!((bad.kept, bad.numbers), (1, 2));
    }
}
