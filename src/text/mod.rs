//! Article text layer: the single normalization of Bengali input (used for
//! cache keys and for translation alike), paragraph and sentence
//! segmentation, and splitting of over-long sentences so every piece fits the
//! model's input limit without losing a character.
//!
//! Its modules read dates and numbers, pick sentences for an extractive
//! summary, and (`english`) hold the English month, weekday and number
//! words and the rules for capitalised names that every stage shares.

pub(crate) mod dates;
pub(crate) mod english;
pub mod extractive_summary;
pub(crate) mod numbers;

use unicode_normalization::UnicodeNormalization;

pub(crate) const DANDA: char = '\u{0964}';
pub(crate) const DOUBLE_DANDA: char = '\u{0965}';
const BENGALI_CURRENCY_FOUR: char = '\u{09F7}';
pub(crate) const ZWJ: char = '\u{200D}';
pub(crate) const ZWNJ: char = '\u{200C}';
const BENGALI_TA: char = '\u{09A4}';
const BENGALI_VIRAMA: char = '\u{09CD}';
const BENGALI_KHANDA_TA: char = '\u{09CE}';

/// Normalizes Bengali text the one way the whole tool relies on.
///
/// Applies Unicode NFC (which also settles the two spellings of `ড় ঢ় য়` and of
/// the split vowels `ো ৌ` on one form) and additionally:
/// legacy khanda-ta `ত্‍` → `ৎ`; `৷` and a `|` closing Bengali text → `।`;
/// no space before `।`/`॥`; ZWJ/ZWNJ kept only between Bengali letters, signs
/// or virama (where they change rendering, as in `র‍্য`); BOM, bidi marks,
/// zero-width spaces and other invisible controls removed; `\r\n`/`\r` → `\n`;
/// runs of spaces/tabs (including no-break spaces) collapsed to one space;
/// lines trimmed; runs of blank lines collapsed to one blank line and blank
/// lines at both ends of the text removed.
///
/// The result is a fixed point: `normalize(&normalize(x)) == normalize(x)`.
pub(crate) fn normalize(text: &str) -> String {
    let mut current = strip_invisibles_and_unify_breaks(text);
    // Dropping a joiner can let NFC compose or reorder marks, which can change
    // the neighbours of another joiner; repeat until nothing moves. Every
    // round that changes anything either shortens the text or is followed by
    // a round that changes nothing, so this ends.
    loop {
        let khanda_fixed = replace_legacy_khanda_ta(&current);
        let composed: String = khanda_fixed.nfc().collect();
        let joiners_fixed: String = drop_stray_joiners(&composed).nfc().collect();
        if joiners_fixed == current {
            break;
        }
        current = joiners_fixed;
    }
    tidy_lines(&current)
}

/// Paragraphs of the text: the non-empty lines of its normalized form.
///
/// News pages put one paragraph per line; blank lines separate as well.
#[cfg(test)]
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    normalize(text)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits one paragraph into sentences.
///
/// Sentences end at `।`, `॥`, `?` and `!` (a run such as `?!` or `।।` stays
/// together), and at `.` only where it clearly ends a Latin-script sentence;
/// Bengali abbreviations (`ড.`, `মো.`, `(অব.)`, a single letter + `.`),
/// Latin abbreviations, initials, decimals and ellipses never split. A
/// closing quote or bracket after the terminator stays with its sentence,
/// also when the site put a space before it (`…করা হয়েছে। ’`).
///
/// Only whitespace between sentences is dropped: the sentences concatenated
/// hold every other character of the paragraph, in order.
pub(crate) fn split_sentences(paragraph: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let byte_at = |index: usize| chars.get(index).map_or(paragraph.len(), |&(b, _)| b);
    let mut sentences = Vec::new();
    let mut sentence_start = 0usize;
    let mut index = 0usize;
    while index < chars.len() {
        let c = chars[index].1;
        let boundary = if is_terminator(c) {
            terminator_boundary(&chars, index, &paragraph[sentence_start..byte_at(index)])
        } else if c == '.' {
            full_stop_boundary(&chars, index)
        } else {
            None
        };
        match boundary {
            Some(end) => {
                push_trimmed(&mut sentences, &paragraph[sentence_start..byte_at(end)]);
                sentence_start = byte_at(end);
                index = end;
            }
            None => index += 1,
        }
    }
    push_trimmed(&mut sentences, &paragraph[sentence_start..]);
    sentences
}

/// Splits a sentence whose token count exceeds `max_tokens` into pieces that
/// fit.
///
/// Tries, in order: clause punctuation (`;` `,` `—` `–` `:` followed by a
/// space), Bengali clause-joining conjunctions (`এবং`, `কিন্তু`, `তবে`,
/// `অথবা`, `যদিও`, `কারণ`, `ফলে`, `তাই`, `অথচ`), words, letters with their
/// vowel signs and conjuncts, and finally single characters, greedily packing as many units per piece as fit. No text is
/// dropped: only whitespace at piece edges disappears. A piece exceeds the
/// limit only when it is a single character that alone exceeds it.
pub(crate) fn split_long(
    sentence: &str,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<String> {
    let mut pieces = Vec::new();
    split_at_level(
        sentence,
        SplitLevel::Clause,
        max_tokens,
        count_tokens,
        &mut pieces,
    );
    pieces
}

/// Paragraphs → sentences → pieces that fit `max_tokens`; what the
/// translation pipeline feeds the model. Paragraphs without any piece are
/// left out.
#[cfg(test)]
pub(crate) fn segment(
    text: &str,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Vec<String>> {
    paragraphs(text)
        .iter()
        .map(|paragraph| {
            split_sentences(paragraph)
                .iter()
                .flat_map(|sentence| split_long(sentence, max_tokens, count_tokens))
                .collect::<Vec<_>>()
        })
        .filter(|pieces| !pieces.is_empty())
        .collect()
}

/// Whether the text contains at least one Bengali letter or vowel sign.
pub(crate) fn has_bengali(text: &str) -> bool {
    text.chars().any(is_bengali_letter)
}

/// Share of the text's letters (alphabetic characters, vowel signs included)
/// that belong to the Bengali block; 0.0 for text without letters.
#[cfg(test)]
pub(crate) fn bengali_ratio(text: &str) -> f32 {
    let (bengali, letters) = text
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0usize, 0usize), |(bengali, letters), c| {
            (bengali + usize::from(is_bengali_block(c)), letters + 1)
        });
    if letters == 0 {
        0.0
    } else {
        bengali as f32 / letters as f32
    }
}

fn is_bengali_block(c: char) -> bool {
    ('\u{0980}'..='\u{09FF}').contains(&c)
}

fn is_bengali_letter(c: char) -> bool {
    is_bengali_block(c) && c.is_alphabetic()
}

/// Letters, vowel signs, nukta and virama: the characters between which a
/// ZWJ/ZWNJ selects a conjunct form. Digits, currency signs and the like are
/// excluded.
fn is_bengali_joinable(c: char) -> bool {
    is_bengali_block(c) && (c.is_alphabetic() || c == BENGALI_VIRAMA || c == '\u{09BC}')
}

fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}'
    )
}

fn is_horizontal_space(c: char) -> bool {
    c == '\t' || (c.is_whitespace() && !is_line_break(c))
}

fn strip_invisibles_and_unify_breaks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else if is_line_break(c) {
            out.push('\n');
        } else if is_horizontal_space(c) {
            out.push(' ');
        } else if c.is_control() || is_invisible_format(c) {
            continue;
        } else {
            out.push(c);
        }
    }
    out
}

fn replace_legacy_khanda_ta(text: &str) -> String {
    text.replace(
        &[BENGALI_TA, BENGALI_VIRAMA, ZWJ].iter().collect::<String>(),
        &BENGALI_KHANDA_TA.to_string(),
    )
}

fn drop_stray_joiners(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        if c == ZWJ || c == ZWNJ {
            let before = index.checked_sub(1).and_then(|i| chars.get(i)).copied();
            let after = chars.get(index + 1).copied();
            let meaningful =
                before.is_some_and(is_bengali_joinable) && after.is_some_and(is_bengali_joinable);
            if !meaningful {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Danda look-alikes, spaces before dandas, space runs, line trimming and
/// blank-line runs. Touches only characters that never take part in
/// canonical composition, so the NFC result stays NFC.
fn tidy_lines(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw_line in text.split('\n') {
        let line = tidy_line(raw_line);
        let previous_blank = lines.last().is_none_or(|l: &String| l.is_empty());
        if line.is_empty() && previous_blank {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

fn tidy_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        let c = match c {
            BENGALI_CURRENCY_FOUR => DANDA,
            '|' if ends_bengali_text(&out) => DANDA,
            other => other,
        };
        if c == ' ' {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        if c == DANDA || c == DOUBLE_DANDA {
            let kept = out.trim_end_matches(' ').len();
            out.truncate(kept);
        }
        out.push(c);
    }
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
    out
}

/// A `|` typed after Bengali text (or after a danda) is a danda; elsewhere
/// (tables, code, English) it is a pipe.
fn ends_bengali_text(text_so_far: &str) -> bool {
    text_so_far
        .trim_end_matches(' ')
        .chars()
        .next_back()
        .is_some_and(|c| is_bengali_block(c) || c == DANDA || c == DOUBLE_DANDA)
}

fn push_trimmed(sentences: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        sentences.push(trimmed.to_owned());
    }
}

fn is_terminator(c: char) -> bool {
    matches!(c, DANDA | DOUBLE_DANDA | '?' | '!')
}

fn is_terminator_run_char(c: char) -> bool {
    is_terminator(c) || c == '.' || c == '…'
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '’' | '”' | '»' | '›' | ')' | ']' | '}' | '"' | '\'' | '）'
    )
}

fn is_opener(c: char) -> bool {
    matches!(
        c,
        '‘' | '“' | '«' | '‹' | '(' | '[' | '{' | '"' | '\'' | '（'
    )
}

/// Index just past the closing quotes/brackets that follow position `from`.
/// A closer separated by spaces is taken only when it is followed by
/// whitespace, another closer or the end, so an opening straight quote of the
/// next sentence is not swallowed.
fn absorb_closers(chars: &[(usize, char)], from: usize) -> usize {
    let mut end = from;
    loop {
        let mut next = end;
        while next < chars.len() && chars[next].1.is_whitespace() {
            next += 1;
        }
        let Some(&(_, c)) = chars.get(next) else {
            return end;
        };
        let spaced = next > end;
        let straight = c == '"' || c == '\'';
        let followed_by_break = chars
            .get(next + 1)
            .is_none_or(|&(_, after)| after.is_whitespace() || is_closer(after));
        let closes = is_closer(c) && (!(spaced || straight) || followed_by_break);
        if !closes {
            return end;
        }
        end = next + 1;
    }
}

fn terminator_boundary(
    chars: &[(usize, char)],
    index: usize,
    sentence_so_far: &str,
) -> Option<usize> {
    let terminator = chars[index].1;
    let numbered_list_marker = terminator == DANDA && {
        let body = sentence_so_far.trim();
        !body.is_empty() && body.chars().count() <= 3 && body.chars().all(|c| c.is_numeric())
    };
    if numbered_list_marker {
        return None;
    }
    let mut end = index + 1;
    while end < chars.len() && is_terminator_run_char(chars[end].1) {
        end += 1;
    }
    let end = absorb_closers(chars, end);
    let run_has_danda = chars[index..end]
        .iter()
        .any(|&(_, c)| c == DANDA || c == DOUBLE_DANDA);
    // `?`/`!` glued to the next word are usually inside a quoted phrase.
    let separated = chars.get(end).is_none_or(|&(_, c)| c.is_whitespace());
    (run_has_danda || separated).then_some(end)
}

/// Abbreviations a `.` follows without ending the sentence, besides the
/// months' ("Jan.", "Sept.").
const LATIN_ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp",
    "no", "gen", "lt", "col", "capt", "maj", "sgt", "gov", "sen", "rep", "rev", "hon", "fig",
    "approx", "dept", "est", "mt", "ft",
];

/// The word (without leading brackets/quotes) ending right before `index`.
fn word_before(chars: &[(usize, char)], index: usize) -> String {
    let start = chars[..index]
        .iter()
        .rposition(|&(_, c)| c.is_whitespace())
        .map_or(0, |p| p + 1);
    chars[start..index]
        .iter()
        .map(|&(_, c)| c)
        .skip_while(|&c| is_opener(c))
        .collect()
}

fn is_latin_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A `.` ends a sentence only after a Latin word that is no abbreviation or
/// initial, and only when a space and then a capital Latin letter follow, or
/// a Bengali letter follows a run of at least two Latin words (a quoted
/// English sentence inside Bengali text).
fn full_stop_boundary(chars: &[(usize, char)], index: usize) -> Option<usize> {
    let is_dot = |i: usize| chars.get(i).is_some_and(|&(_, c)| c == '.');
    if is_dot(index + 1) || (index > 0 && is_dot(index - 1)) {
        return None;
    }
    let word = word_before(chars, index);
    if !is_latin_word(&word) || !word.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    if word.chars().count() == 1
        || LATIN_ABBREVIATIONS.contains(&lower.as_str())
        || english::is_month_abbreviation(&lower)
    {
        return None;
    }
    let end = absorb_closers(chars, index + 1);
    if !chars.get(end).is_some_and(|&(_, c)| c.is_whitespace()) {
        return None;
    }
    let next_letter = chars[end..]
        .iter()
        .map(|&(_, c)| c)
        .find(|&c| !c.is_whitespace() && !is_opener(c))?;
    if next_letter.is_ascii_uppercase() {
        return Some(end);
    }
    let word_start = index - word.chars().count();
    let previous_word = word_before(chars, word_start.saturating_sub(1));
    let latin_sentence = word_start > 0 && is_latin_word(&previous_word);
    (is_bengali_letter(next_letter) && latin_sentence).then_some(end)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SplitLevel {
    Clause,
    Conjunction,
    Word,
    Cluster,
    Character,
}

impl SplitLevel {
    fn finer(self) -> SplitLevel {
        match self {
            SplitLevel::Clause => SplitLevel::Conjunction,
            SplitLevel::Conjunction => SplitLevel::Word,
            SplitLevel::Word => SplitLevel::Cluster,
            SplitLevel::Cluster | SplitLevel::Character => SplitLevel::Character,
        }
    }
}

/// Vowel signs, nukta, virama, joiners and other marks that belong to the
/// letter before them; a conjunct continues after a virama.
fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0981}'..='\u{0983}'
            | '\u{09BC}'
            | '\u{09BE}'..='\u{09CD}'
            | '\u{09D7}'
            | '\u{09E2}'..='\u{09E3}'
            | '\u{09FE}'
            | '\u{0300}'..='\u{036F}'
            | ZWJ
            | ZWNJ
    )
}

/// Conjunctions that join clauses rather than nouns; `ও` and `বা` are left out
/// because they mostly join nouns (`সামরিক ও কৌশলগত`).
const CLAUSE_CONJUNCTIONS: &[&str] = &[
    "এবং",
    "কিন্তু",
    "তবে",
    "অথবা",
    "যদিও",
    "কারণ",
    "ফলে",
    "তাই",
    "অথচ",
];

/// Byte offsets where units of the given level begin (excluding 0), so that
/// consecutive offsets cut `text` into contiguous units covering all of it.
fn unit_starts(text: &str, level: SplitLevel) -> Vec<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut starts = Vec::new();
    for (i, &(byte, c)) in chars.iter().enumerate() {
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let start_after = chars.get(i + 1).map_or(text.len(), |&(b, _)| b);
        match level {
            SplitLevel::Clause => {
                let clause_mark = match c {
                    ';' | '—' | '–' => true,
                    ',' | ':' => next.is_some_and(char::is_whitespace),
                    _ => false,
                };
                if clause_mark && start_after < text.len() {
                    starts.push(start_after);
                }
            }
            SplitLevel::Conjunction => {
                let at_word_start = i > 0 && chars[i - 1].1.is_whitespace();
                let rest = &text[byte..];
                let conjunction = CLAUSE_CONJUNCTIONS.iter().any(|word| {
                    rest.strip_prefix(word)
                        .is_some_and(|after| after.chars().next().is_some_and(char::is_whitespace))
                });
                if at_word_start && conjunction {
                    starts.push(byte);
                }
            }
            SplitLevel::Word => {
                if i > 0 && !c.is_whitespace() && chars[i - 1].1.is_whitespace() {
                    starts.push(byte);
                }
            }
            SplitLevel::Cluster => {
                let previous = i.checked_sub(1).map(|p| chars[p].1);
                let continues_cluster = is_combining_mark(c)
                    || previous.is_some_and(|p| p == BENGALI_VIRAMA || p == ZWJ);
                if i > 0 && !continues_cluster {
                    starts.push(byte);
                }
            }
            SplitLevel::Character => {
                if i > 0 {
                    starts.push(byte);
                }
            }
        }
    }
    starts
}

fn split_at_level(
    text: &str,
    level: SplitLevel,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    pieces: &mut Vec<String>,
) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    if count_tokens(trimmed) <= max_tokens {
        pieces.push(trimmed.to_owned());
        return;
    }
    let starts = unit_starts(trimmed, level);
    if starts.is_empty() {
        if level == SplitLevel::Character {
            // A single character over the limit cannot be split further.
            pieces.push(trimmed.to_owned());
        } else {
            split_at_level(trimmed, level.finer(), max_tokens, count_tokens, pieces);
        }
        return;
    }
    let bounds: Vec<(usize, usize)> = std::iter::once(0)
        .chain(starts.iter().copied())
        .zip(starts.iter().copied().chain(std::iter::once(trimmed.len())))
        .collect();
    let mut piece_start: Option<usize> = None;
    let mut piece_end = 0usize;
    for (unit_start, unit_end) in bounds {
        if let Some(start) = piece_start {
            if count_tokens(trimmed[start..unit_end].trim()) <= max_tokens {
                piece_end = unit_end;
                continue;
            }
            push_trimmed(pieces, &trimmed[start..piece_end]);
            piece_start = None;
        }
        let unit = &trimmed[unit_start..unit_end];
        if count_tokens(unit.trim()) <= max_tokens {
            piece_start = Some(unit_start);
            piece_end = unit_end;
        } else {
            split_at_level(unit, level.finer(), max_tokens, count_tokens, pieces);
        }
    }
    if let Some(start) = piece_start {
        push_trimmed(pieces, &trimmed[start..piece_end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn chars_count(text: &str) -> usize {
        text.chars().count()
    }

    fn without_whitespace(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn normalize_composes_split_vowel_signs() {
        // কো typed as ক + ে + া must equal the precomposed ো.
        assert_eq!(normalize("ক\u{09C7}\u{09BE}রিয়া"), normalize("ক\u{09CB}রিয়া"));
        assert_eq!(normalize("ক\u{09C7}\u{09D7}"), "ক\u{09CC}");
    }

    #[test]
    fn normalize_unifies_both_nukta_spellings() {
        // য় precomposed (U+09DF) and য + nukta must give the same cache key.
        let precomposed = "ইউক্রেনের সেনাবাহিনীর দখলে থাকা রুশ অঞ্চল, পিয়\u{09DF}ংইয়ং";
        let decomposed = "ইউক্রেনের সেনাবাহিনীর দখলে থাকা রুশ অঞ্চল, পিয়\u{09AF}\u{09BC}ংইয়ং";
        assert_eq!(normalize(precomposed), normalize(decomposed));
        assert_eq!(normalize("\u{09DC}"), normalize("\u{09A1}\u{09BC}"));
    }

    #[test]
    fn normalize_turns_legacy_khanda_ta_into_u09ce() {
        let legacy = "উ\u{09A4}\u{09CD}\u{200D}সাহ";
        assert_eq!(normalize(legacy), "উ\u{09CE}সাহ");
    }

    #[test]
    fn normalize_keeps_zwj_in_ra_phala_ligature() {
        let rya = "র\u{200D}\u{09CD}যাব";
        assert_eq!(normalize(rya), rya);
        let zwnj_conjunct = "ক\u{09CD}\u{200C}ষ";
        assert_eq!(normalize(zwnj_conjunct), zwnj_conjunct);
    }

    #[test]
    fn normalize_is_stable_when_nfc_reorders_marks_next_to_a_joiner() {
        // NFC moves the nukta before the acute accent, so the ZWJ ends up next
        // to a non-Bengali mark and must go in the same call, not the next.
        let tricky = "ক\u{0301}\u{200D}\u{09BC}\u{200D}ক";
        let once = normalize(tricky);
        assert_eq!(normalize(&once), once);
        assert!(!once.contains('\u{200D}'));
    }

    #[test]
    fn normalize_drops_stray_joiners_and_invisibles() {
        let messy = "\u{FEFF}কিম\u{200D} বলেছেন\u{200B},\u{200C} \u{200E}ঠিক।\u{200D}";
        assert_eq!(normalize(messy), "কিম বলেছেন, ঠিক।");
        assert_eq!(normalize("abc\u{200D}def\u{0007}"), "abcdef");
    }

    #[test]
    fn normalize_replaces_danda_look_alikes_and_spaces_before_danda() {
        assert_eq!(
            normalize("নিশ্চিত করেছে উত্তর কোরিয়া ৷"),
            "নিশ্চিত করেছে উত্তর কোরিয়া।"
        );
        assert_eq!(normalize("প্রস্তুত কিম | এরপর"), "প্রস্তুত কিম। এরপর");
        assert_eq!(normalize("সেনা পাঠানো হয়েছে  । তারপর"), "সেনা পাঠানো হয়েছে। তারপর");
    }

    #[test]
    fn normalize_leaves_pipe_outside_bengali_text() {
        assert_eq!(normalize("a | b"), "a | b");
        assert_eq!(normalize("| কিম"), "| কিম");
    }

    #[test]
    fn normalize_tidies_whitespace_and_line_endings() {
        let page = "\r\n  কালবেলা ডেস্ক \t \r\nপ্রকাশ :\u{00A0}০১ ডিসেম্বর ২০২৪,  ১২:৪৩ পিএম\r\r\r\n\nঅনলাইন সংস্করণ\n\n\n";
        assert_eq!(
            normalize(page),
            "কালবেলা ডেস্ক\nপ্রকাশ : ০১ ডিসেম্বর ২০২৪, ১২:৪৩ পিএম\n\nঅনলাইন সংস্করণ"
        );
    }

    #[test]
    fn normalize_is_identity_on_clean_article_text() {
        let clean = "রুশ প্রেসিডেন্ট ভ্লাদিমির পুতিন এবং কিম গত বছরের জুনে একটি বিস্তৃত কৌশলগত অংশীদারিত্ব চুক্তি স্বাক্ষর করেন।\nসূত্র: আল জাজিরা";
        assert_eq!(normalize(clean), clean);
    }

    #[test]
    fn paragraphs_are_non_empty_lines() {
        let page = "ইউক্রেন যুদ্ধে রাশিয়ার পক্ষে সেনা পাঠাতে প্রস্তুত কিম\n\n  \nকিম বলেছে, ‘যারা ন্যায়বিচারের জন্য লড়াই করেছিলেন তারা সকলেই বীর।’\r\nসূত্র: আল জাজিরা\n";
        assert_eq!(
            paragraphs(page),
            vec![
                "ইউক্রেন যুদ্ধে রাশিয়ার পক্ষে সেনা পাঠাতে প্রস্তুত কিম",
                "কিম বলেছে, ‘যারা ন্যায়বিচারের জন্য লড়াই করেছিলেন তারা সকলেই বীর।’",
                "সূত্র: আল জাজিরা",
            ]
        );
        assert!(paragraphs(" \n\r\n").is_empty());
    }

    #[test]
    fn sentences_split_at_danda() {
        let paragraph = "রাশিয়ার পররাষ্ট্রমন্ত্রী সের্গেই লাভরভ তিন দিনের সফরে উত্তর কোরিয়ায় অবস্থান করছেন। এই সফরের লক্ষ্য দুই দেশের সামরিক ও কৌশলগত সহযোগিতার বিষয়গুলো আরও জোরদার করা।";
        assert_eq!(
            split_sentences(paragraph),
            vec![
                "রাশিয়ার পররাষ্ট্রমন্ত্রী সের্গেই লাভরভ তিন দিনের সফরে উত্তর কোরিয়ায় অবস্থান করছেন।",
                "এই সফরের লক্ষ্য দুই দেশের সামরিক ও কৌশলগত সহযোগিতার বিষয়গুলো আরও জোরদার করা।",
            ]
        );
    }

    #[test]
    fn sentences_keep_closing_quote_even_after_a_space() {
        let paragraph = "কেসিএনএ জানিয়েছে, ‘উত্তর কোরিয়া রাশিয়ান ফেডারেশনের মতো শক্তিশালী রাষ্ট্রের সঙ্গে জোট বাঁধাকে সম্মানের বিষয় বলে মনে করে। ’ কিম বলেছে, ‘যারা লড়াই করেছিলেন তারা সকলেই বীর।’ নেতা আরও বলেন, “তারা অবশ্যই সফল হবে।”";
        assert_eq!(
            split_sentences(paragraph),
            vec![
                "কেসিএনএ জানিয়েছে, ‘উত্তর কোরিয়া রাশিয়ান ফেডারেশনের মতো শক্তিশালী রাষ্ট্রের সঙ্গে জোট বাঁধাকে সম্মানের বিষয় বলে মনে করে। ’",
                "কিম বলেছে, ‘যারা লড়াই করেছিলেন তারা সকলেই বীর।’",
                "নেতা আরও বলেন, “তারা অবশ্যই সফল হবে।”",
            ]
        );
    }

    #[test]
    fn sentences_do_not_split_at_bengali_abbreviations() {
        let paragraph = "সামাজিক ব্যবসা ড. ইউনূসের নেতৃত্বে বিকশিত হয়েছে। লে. কর্নেল (অব.) মো. আলী ও মি. রহমান এ. কে. খানের সঙ্গে ছিলেন। সা. সম্পাদক বলেন।";
        assert_eq!(
            split_sentences(paragraph),
            vec![
                "সামাজিক ব্যবসা ড. ইউনূসের নেতৃত্বে বিকশিত হয়েছে।",
                "লে. কর্নেল (অব.) মো. আলী ও মি. রহমান এ. কে. খানের সঙ্গে ছিলেন।",
                "সা. সম্পাদক বলেন।",
            ]
        );
    }

    #[test]
    fn sentences_split_at_latin_full_stop_only_when_clearly_final() {
        let paragraph =
            "He met Dr. Kim in the U.S. last year. Then he left. The talks cost 3.5 million.";
        assert_eq!(
            split_sentences(paragraph),
            vec![
                "He met Dr. Kim in the U.S. last year.",
                "Then he left.",
                "The talks cost 3.5 million.",
            ]
        );
        let mixed = "তিনি বলেন, \"We stand with Russia.\" এরপর বৈঠক শেষ হয়।";
        assert_eq!(
            split_sentences(mixed),
            vec!["তিনি বলেন, \"We stand with Russia.\"", "এরপর বৈঠক শেষ হয়।"]
        );
        // A lone Latin acronym before a Bengali word is no sentence.
        let acronym = "সংস্থা কেসিসিএনএ (KCNA.) জানিয়েছে।";
        assert_eq!(split_sentences(acronym), vec![acronym]);
    }

    #[test]
    fn sentences_handle_question_exclamation_and_ellipsis() {
        let paragraph =
            "ঘুম কম হলে কি শুক্রাণুর মান কমে যায়? যা বলছে গবেষণা! তিনি বললেন... কিন্তু থামলেন…। শেষ?!";
        assert_eq!(
            split_sentences(paragraph),
            vec![
                "ঘুম কম হলে কি শুক্রাণুর মান কমে যায়?",
                "যা বলছে গবেষণা!",
                "তিনি বললেন... কিন্তু থামলেন…।",
                "শেষ?!",
            ]
        );
    }

    #[test]
    fn sentences_split_danda_without_following_space() {
        assert_eq!(
            split_sentences("প্রথম বাক্য।দ্বিতীয় বাক্য।"),
            vec!["প্রথম বাক্য।", "দ্বিতীয় বাক্য।"]
        );
    }

    #[test]
    fn numbered_list_marker_is_not_a_sentence() {
        assert_eq!(
            split_sentences("১। প্রথম দফা আলোচনা হয়েছে।"),
            vec!["১। প্রথম দফা আলোচনা হয়েছে।"]
        );
    }

    #[test]
    fn sentence_without_terminator_is_kept_whole() {
        assert_eq!(split_sentences("সূত্র: আল জাজিরা"), vec!["সূত্র: আল জাজিরা"]);
        assert!(split_sentences("   ").is_empty());
    }

    #[test]
    fn split_long_keeps_short_sentence_intact() {
        let sentence = "কিম আরও বলেন, রাশিয়ার প্রতি সমর্থন জানাবে উত্তর কোরিয়া।";
        assert_eq!(split_long(sentence, 50, &words), vec![sentence]);
    }

    #[test]
    fn split_long_prefers_clause_boundaries() {
        let sentence = "কিম আরও বলেন, রাশিয়ার সার্বভৌমত্ব ও আঞ্চলিক অখণ্ডতা রক্ষায় রাশিয়ার প্রতি সর্বদা সমর্থন জানাবে উত্তর কোরিয়ার সরকার, সেনাবাহিনী এবং জনগণ।";
        let pieces = split_long(sentence, 17, &words);
        assert_eq!(
            pieces,
            vec![
                "কিম আরও বলেন, রাশিয়ার সার্বভৌমত্ব ও আঞ্চলিক অখণ্ডতা রক্ষায় রাশিয়ার প্রতি সর্বদা সমর্থন জানাবে উত্তর কোরিয়ার সরকার,",
                "সেনাবাহিনী এবং জনগণ।",
            ]
        );
    }

    #[test]
    fn split_long_uses_conjunctions_then_words() {
        let sentence =
            "রুশ প্রেসিডেন্ট ভ্লাদিমির পুতিন গত বছর চুক্তি স্বাক্ষর করেন এবং দুই দেশ একে অপরকে সহায়তা দেবে";
        assert_eq!(
            split_long(sentence, 8, &words),
            vec![
                "রুশ প্রেসিডেন্ট ভ্লাদিমির পুতিন গত বছর চুক্তি স্বাক্ষর",
                "করেন",
                "এবং দুই দেশ একে অপরকে সহায়তা দেবে",
            ]
        );
        assert_eq!(
            split_long("এক দুই তিন চার পাঁচ", 2, &words),
            vec!["এক দুই", "তিন চার", "পাঁচ"]
        );
    }

    #[test]
    fn split_long_falls_back_to_characters() {
        // Vowel signs stay on their letter while the limit allows it.
        assert_eq!(
            split_long("কেসিএনএ", 3, &chars_count),
            vec!["কে", "সিএ", "নএ"]
        );
        assert_eq!(split_long("ক্ষমা", 3, &chars_count), vec!["ক্ষ", "মা"]);
        // A cluster longer than the limit still splits, by characters.
        assert_eq!(split_long("ক্ষ", 2, &chars_count), vec!["ক্", "ষ"]);
    }

    #[test]
    fn split_long_does_not_split_times_or_thousands() {
        let sentence = "প্রকাশ ১২:৪৩ পিএম, মোট 10,000 সৈন্য";
        assert_eq!(
            split_long(sentence, 3, &words),
            vec!["প্রকাশ ১২:৪৩ পিএম,", "মোট 10,000 সৈন্য"]
        );
    }

    #[test]
    fn segment_runs_the_whole_chain() {
        let page = "উত্তর কোরিয়া সেনা পাঠিয়েছে। কিম বলেছেন, যুদ্ধ চলবে।\n\nসূত্র: আল জাজিরা\n";
        assert_eq!(
            segment(page, 3, &words),
            vec![
                vec!["উত্তর কোরিয়া সেনা", "পাঠিয়েছে।", "কিম বলেছেন,", "যুদ্ধ চলবে।"],
                vec!["সূত্র: আল জাজিরা"],
            ]
        );
    }

    #[test]
    fn bengali_detection() {
        assert!(has_bengali("Share this news on: কিম"));
        assert!(!has_bengali("Share this news on: ১২৩ ।"));
        assert_eq!(bengali_ratio("কিম abc"), 0.5);
        assert_eq!(bengali_ratio("১২৩ 456"), 0.0);
        assert_eq!(bengali_ratio("উত্তর কোরিয়া"), 1.0);
    }

    const ALPHABET: &[char] = &[
        'ক', 'ত', 'র', 'য', 'ড', 'া', 'ে', 'ো', 'ৗ', '\u{09BC}', '\u{09CD}', '\u{09DC}', '\u{09DF}',
        'ৎ', '।', '॥', '৷', '|', '?', '!', '.', '…', ',', ';', ':', '—', '’', '‘', '”', '“', '"',
        '\'', '(', ')', '১', '2', 'a', 'A', 'Z', ' ', ' ', ' ', '\t', '\n', '\r', '\u{00A0}',
        '\u{200D}', '\u{200C}', '\u{0301}', '\u{200B}', '\u{FEFF}', '\u{0007}', '\u{2028}',
    ];

    fn tricky_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(ALPHABET), 0..80)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(text in tricky_text()) {
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn normalize_is_idempotent_on_any_string(text in any::<String>()) {
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn sentences_preserve_every_character(text in tricky_text()) {
            for paragraph in paragraphs(&text) {
                let joined: String = split_sentences(&paragraph).concat();
                prop_assert_eq!(without_whitespace(&joined), without_whitespace(&paragraph));
            }
            let joined: String = split_sentences(&text).concat();
            prop_assert_eq!(without_whitespace(&joined), without_whitespace(&text));
        }

        #[test]
        fn split_long_preserves_text_and_fits_by_words(text in tricky_text(), max in 0usize..6) {
            let pieces = split_long(&text, max, &words);
            prop_assert_eq!(without_whitespace(&pieces.concat()), without_whitespace(&text));
            for piece in &pieces {
                prop_assert!(!piece.trim().is_empty());
                prop_assert!(words(piece) <= max || piece.chars().count() == 1, "{:?}", piece);
            }
        }

        #[test]
        fn split_long_preserves_text_and_fits_by_chars(text in tricky_text(), max in 0usize..12) {
            let pieces = split_long(&text, max, &chars_count);
            prop_assert_eq!(without_whitespace(&pieces.concat()), without_whitespace(&text));
            for piece in &pieces {
                prop_assert!(chars_count(piece) <= max || piece.chars().count() == 1, "{:?}", piece);
            }
        }
    }
}
