//! sacreBLEU's BLEU tokenizers (`none`, `13a`, `intl`, `char`), character for
//! character, and the whitespace rules of Python's `str.split()` that every
//! sacreBLEU metric splits words with.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// How BLEU splits a sentence into words before counting n-grams
/// (sacreBLEU's `--tokenize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BleuTokenizer {
    /// Words are what whitespace separates (for text tokenized already).
    None,
    /// mteval-v13a, WMT's standard and sacreBLEU's default: ASCII
    /// punctuation split off, except in numbers.
    #[default]
    #[cfg_attr(feature = "cli", value(name = "13a"))]
    Thirteen,
    /// mteval-v14 international: every Unicode punctuation mark and symbol
    /// split off, except punctuation between digits.
    Intl,
    /// Every character a word (for scripts written without spaces).
    Char,
}

impl BleuTokenizer {
    /// Its name in sacreBLEU's signature and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BleuTokenizer::None => "none",
            BleuTokenizer::Thirteen => "13a",
            BleuTokenizer::Intl => "intl",
            BleuTokenizer::Char => "char",
        }
    }

    /// The tokenized line, words separated by single spaces (except
    /// `none`, which returns the line as it is).
    pub fn tokenize<'a>(self, line: &'a str) -> Cow<'a, str> {
        match self {
            BleuTokenizer::None => Cow::Borrowed(line),
            BleuTokenizer::Thirteen => Cow::Owned(tokenize_13a(line)),
            BleuTokenizer::Intl => Cow::Owned(tokenize_intl(line)),
            BleuTokenizer::Char => Cow::Owned(tokenize_char(line)),
        }
    }
}

impl std::str::FromStr for BleuTokenizer {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        [
            BleuTokenizer::None,
            BleuTokenizer::Thirteen,
            BleuTokenizer::Intl,
            BleuTokenizer::Char,
        ]
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| format!("unknown tokenizer {name:?} (none, 13a, intl, char)"))
    }
}

/// Python's `str.isspace()`: Unicode White_Space plus the four information
/// separators U+001C..U+001F, which Rust's `char::is_whitespace` leaves out.
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()` with no argument: words between runs of
/// whitespace, none empty.
pub fn python_split(line: &str) -> impl Iterator<Item = &str> {
    line.split(is_python_whitespace).filter(|w| !w.is_empty())
}

/// Python's `str.rstrip()` with no argument.
pub fn python_rstrip(line: &str) -> &str {
    line.trim_end_matches(is_python_whitespace)
}

fn join_words(line: &str) -> String {
    python_split(line).collect::<Vec<_>>().join(" ")
}

/// A substitution as Python's `re.sub` makes it: leftmost matches, none
/// overlapping, each replaced by a template of its groups.
struct Substitution {
    pattern: Regex,
    template: &'static str,
}

impl Substitution {
    fn new(pattern: &str, template: &'static str) -> Self {
        Substitution {
            pattern: Regex::new(pattern).expect("a fixed pattern compiles"),
            template,
        }
    }

    fn apply<'a>(&self, line: &'a str) -> Cow<'a, str> {
        self.pattern.replace_all(line, self.template)
    }
}

fn apply_all(substitutions: &[Substitution], line: &str) -> String {
    let mut line = line.to_string();
    for substitution in substitutions {
        if let Cow::Owned(changed) = substitution.apply(&line) {
            line = changed;
        }
    }
    line
}

/// sacreBLEU's `TokenizerRegexp`, the language-dependent half of 13a.
static THIRTEEN_A: LazyLock<Vec<Substitution>> = LazyLock::new(|| {
    vec![
        // ASCII punctuation and symbols except period, comma, hyphen and
        // apostrophe: sacreBLEU's class [\{-\~\[-\` -\&\(-\+\:-\@\/].
        Substitution::new(r"([\{-~\[-`\x20-\&\(-\+:-@/])", " ${1} "),
        // Period and comma, unless preceded by a digit...
        Substitution::new(r"([^0-9])([\.,])", "${1} ${2} "),
        // ... or followed by one.
        Substitution::new(r"([\.,])([^0-9])", " ${1} ${2}"),
        // A hyphen after a digit.
        Substitution::new(r"([0-9])(-)", "${1} ${2} "),
    ]
});

fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    join_words(&apply_all(&THIRTEEN_A, &format!(" {line} ")))
}

/// sacreBLEU's `TokenizerV14International`, with the `regex` crate's
/// Unicode general categories standing in for Python's `regex` module.
static INTL: LazyLock<Vec<Substitution>> = LazyLock::new(|| {
    vec![
        // Punctuation after a non-digit...
        Substitution::new(r"(\P{N})(\p{P})", "${1} ${2} "),
        // ... or before one.
        Substitution::new(r"(\p{P})(\P{N})", " ${1} ${2}"),
        // Every symbol.
        Substitution::new(r"(\p{S})", " ${1} "),
    ]
});

fn tokenize_intl(line: &str) -> String {
    join_words(&apply_all(&INTL, line))
}

fn tokenize_char(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    for (i, c) in line.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_a_keeps_numbers_together_and_splits_punctuation() {
        let t = BleuTokenizer::Thirteen;
        assert_eq!(
            t.tokenize("It costs $1,000.50, (roughly)."),
            "It costs $ 1,000.50 , ( roughly ) ."
        );
        assert_eq!(t.tokenize("3-4 &amp; a-b"), "3 - 4 & a-b");
    }

    #[test]
    fn intl_splits_unicode_punctuation_but_not_between_digits() {
        let t = BleuTokenizer::Intl;
        assert_eq!(t.tokenize("“হ্যাঁ।” ১,০০০ টাকা৳"), "“ হ্যাঁ । ” ১,০০০ টাকা ৳");
    }

    #[test]
    fn python_whitespace_includes_information_separators() {
        assert_eq!(
            python_split("a\u{1c}b\u{a0} c").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(python_rstrip("a \u{1f}"), "a");
    }
}
