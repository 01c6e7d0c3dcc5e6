//! What a reader of one article should be warned about, one variant per
//! kind. Each is written into `<id>.json`, `<id>.md` and the HTML digest as
//! one sentence; the outputs of earlier runs are read back, so every sentence
//! ever written must read back, and read back to the same text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One warning about an article, written as its [`Display`](fmt::Display)
/// sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Warning {
    /// A number of a Bengali sentence that its translation does not carry
    /// (1-based positions).
    NumberMissing {
        paragraph: usize,
        sentence: usize,
        /// As written in the Bengali sentence.
        number: String,
        /// Its value, as [`crate::text::numbers::NumberMismatch`] reads it.
        value: String,
    },
    /// The page had a title but no story text.
    NoStoryText,
    /// The LLM summary named numbers or names the translation does not
    /// have, also after the strict retry; the extractive summary is shown.
    SummaryRejected { terms: Vec<String> },
    /// The LLM headline named numbers or names the translation does not
    /// have; the translated title heads the story.
    HeadlineRejected { terms: Vec<String> },
    /// The chat model gave no usable headline, for `reason`.
    NoLlmHeadline { reason: String },
    /// The chat model gave no summary, for `reason`; the extractive one stays.
    NoLlmSummary { reason: String },
    /// The chat model stopped at the token limit writing the summary (or a
    /// part summary it combined).
    SummaryCutOff,
    /// The chat model stopped at the token limit writing the headline.
    HeadlineCutOff,
    /// The chat model stopped at the token limit translating the title.
    TitleTranslationCutOff,
    /// The chat model stopped at the token limit translating paragraph
    /// `paragraph` (1-based).
    ParagraphTranslationCutOff { paragraph: usize },
    /// A sentence no other variant reads, kept as written: an output of an
    /// earlier version may hold warnings this one no longer writes.
    Other(String),
}

const NO_STORY_TEXT: &str = "no story text found on the page; only the title was translated";
const SUMMARY_REJECTED: (&str, &str) = (
    "the LLM summary was rejected: it names ",
    ", which the translation does not; the summary is extractive",
);
const HEADLINE_REJECTED: (&str, &str) = (
    "the LLM headline was rejected: it names ",
    ", which the translation does not; the translated title heads the story",
);
const NO_LLM_HEADLINE: (&str, &str) = (
    "no LLM headline (",
    "); the translated title heads the story",
);
const NO_LLM_SUMMARY: (&str, &str) = ("no LLM summary (", "); the summary is extractive");
const CUT_OFF: &str = "cut off at the token limit; it may be incomplete";

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NumberMissing {
                paragraph,
                sentence,
                ..
            } => write!(
                f,
                "paragraph {paragraph}, sentence {sentence}: {}",
                self.text_at_place()
            ),
            Warning::NoStoryText => f.write_str(NO_STORY_TEXT),
            Warning::SummaryRejected { terms } => {
                let (before, after) = SUMMARY_REJECTED;
                write!(f, "{before}{}{after}", terms.join(", "))
            }
            Warning::HeadlineRejected { terms } => {
                let (before, after) = HEADLINE_REJECTED;
                write!(f, "{before}{}{after}", terms.join(", "))
            }
            Warning::NoLlmHeadline { reason } => {
                write!(f, "{}{reason}{}", NO_LLM_HEADLINE.0, NO_LLM_HEADLINE.1)
            }
            Warning::NoLlmSummary { reason } => {
                write!(f, "{}{reason}{}", NO_LLM_SUMMARY.0, NO_LLM_SUMMARY.1)
            }
            Warning::SummaryCutOff => write!(f, "summary {CUT_OFF}"),
            Warning::HeadlineCutOff => write!(f, "headline {CUT_OFF}"),
            Warning::TitleTranslationCutOff => write!(f, "title: {}", self.text_at_place()),
            Warning::ParagraphTranslationCutOff { paragraph } => {
                write!(f, "paragraph {paragraph}: {}", self.text_at_place())
            }
            Warning::Other(text) => f.write_str(text),
        }
    }
}

/// What part of the article a warning is about, for pages that show it
/// there (1-based positions, as in the warning's sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The whole article, its summary or its headline.
    Article,
    Title,
    Paragraph(usize),
    Sentence {
        paragraph: usize,
        sentence: usize,
    },
}

impl Warning {
    pub(crate) fn place(&self) -> Place {
        match self {
            Warning::NumberMissing {
                paragraph,
                sentence,
                ..
            } => Place::Sentence {
                paragraph: *paragraph,
                sentence: *sentence,
            },
            Warning::TitleTranslationCutOff => Place::Title,
            Warning::ParagraphTranslationCutOff { paragraph } => Place::Paragraph(*paragraph),
            Warning::NoStoryText
            | Warning::SummaryRejected { .. }
            | Warning::HeadlineRejected { .. }
            | Warning::NoLlmHeadline { .. }
            | Warning::NoLlmSummary { .. }
            | Warning::SummaryCutOff
            | Warning::HeadlineCutOff
            | Warning::Other(_) => Place::Article,
        }
    }

    /// The warning's sentence without the place it names, for showing it
    /// at that place ("number ১০ (10) is not in the translation").
    pub(crate) fn text_at_place(&self) -> String {
        match self {
            Warning::NumberMissing { number, value, .. } => {
                format!("number {number} ({value}) is not in the translation")
            }
            Warning::TitleTranslationCutOff | Warning::ParagraphTranslationCutOff { .. } => {
                format!("translation {CUT_OFF}")
            }
            other => other.to_string(),
        }
    }
}

impl From<&str> for Warning {
    /// The variant that writes `text`, else [`Warning::Other`].
    fn from(text: &str) -> Self {
        parse(text)
            // A reading that would write other text (say, "paragraph 01")
            // would change the output on the next write.
            .filter(|warning| warning.to_string() == text)
            .unwrap_or_else(|| Warning::Other(text.to_string()))
    }
}

impl From<String> for Warning {
    fn from(text: String) -> Self {
        Warning::from(text.as_str())
    }
}

fn parse(text: &str) -> Option<Warning> {
    if text == NO_STORY_TEXT {
        return Some(Warning::NoStoryText);
    }
    let between = |(before, after): (&str, &str)| {
        text.strip_prefix(before)?
            .strip_suffix(after)
            .map(str::to_string)
    };
    let terms = |list: String| list.split(", ").map(str::to_string).collect();
    if let Some(list) = between(SUMMARY_REJECTED) {
        return Some(Warning::SummaryRejected { terms: terms(list) });
    }
    if let Some(list) = between(HEADLINE_REJECTED) {
        return Some(Warning::HeadlineRejected { terms: terms(list) });
    }
    if let Some(reason) = between(NO_LLM_HEADLINE) {
        return Some(Warning::NoLlmHeadline { reason });
    }
    if let Some(reason) = between(NO_LLM_SUMMARY) {
        return Some(Warning::NoLlmSummary { reason });
    }
    if let Some(part) = text.strip_suffix(CUT_OFF) {
        return match part {
            "summary " => Some(Warning::SummaryCutOff),
            "headline " => Some(Warning::HeadlineCutOff),
            "title: translation " => Some(Warning::TitleTranslationCutOff),
            _ => {
                let paragraph = part
                    .strip_prefix("paragraph ")?
                    .strip_suffix(": translation ")?
                    .parse()
                    .ok()?;
                Some(Warning::ParagraphTranslationCutOff { paragraph })
            }
        };
    }
    let (paragraph, rest) = text.strip_prefix("paragraph ")?.split_once(", sentence ")?;
    let (sentence, rest) = rest.split_once(": number ")?;
    let (number, value) = rest
        .strip_suffix(") is not in the translation")?
        .rsplit_once(" (")?;
    Some(Warning::NumberMissing {
        paragraph: paragraph.parse().ok()?,
        sentence: sentence.parse().ok()?,
        number: number.to_string(),
        value: value.to_string(),
    })
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Warning::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind, with its sentence (as earlier versions wrote it,
    /// where they did).
    fn every_kind() -> Vec<(Warning, &'static str)> {
        vec![
            (
                Warning::NumberMissing {
                    paragraph: 2,
                    sentence: 1,
                    number: "১০ হাজার".into(),
                    value: "10000".into(),
                },
                "paragraph 2, sentence 1: number ১০ হাজার (10000) is not in the translation",
            ),
            (
                Warning::NoStoryText,
                "no story text found on the page; only the title was translated",
            ),
            (
                Warning::SummaryRejected {
                    terms: vec!["98765".into(), "Rahim Uddin".into()],
                },
                "the LLM summary was rejected: it names 98765, Rahim Uddin, which the \
                 translation does not; the summary is extractive",
            ),
            (
                Warning::HeadlineRejected {
                    terms: vec!["Seoul".into()],
                },
                "the LLM headline was rejected: it names Seoul, which the translation does \
                 not; the translated title heads the story",
            ),
            (
                Warning::NoLlmHeadline {
                    reason: "the chat model failed: generation failed: out of memory".into(),
                },
                "no LLM headline (the chat model failed: generation failed: out of memory); \
                 the translated title heads the story",
            ),
            (
                Warning::NoLlmSummary {
                    reason: "the chat model answered with an empty summary".into(),
                },
                "no LLM summary (the chat model answered with an empty summary); the summary \
                 is extractive",
            ),
            (
                Warning::SummaryCutOff,
                "summary cut off at the token limit; it may be incomplete",
            ),
            (
                Warning::HeadlineCutOff,
                "headline cut off at the token limit; it may be incomplete",
            ),
            (
                Warning::TitleTranslationCutOff,
                "title: translation cut off at the token limit; it may be incomplete",
            ),
            (
                Warning::ParagraphTranslationCutOff { paragraph: 3 },
                "paragraph 3: translation cut off at the token limit; it may be incomplete",
            ),
        ]
    }

    #[test]
    fn every_kind_is_written_as_before_and_read_back_as_itself() {
        for (warning, text) in every_kind() {
            assert_eq!(warning.to_string(), text);
            assert_eq!(serde_json::to_value(&warning).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<Warning>(text.into()).unwrap(),
                warning
            );
        }
    }

    #[test]
    fn sentences_no_kind_reads_are_kept_as_written() {
        for text in [
            "number 123 missing",
            "",
            "paragraph 01, sentence 1: number ১ (1) is not in the translation",
            "paragraph x, sentence 1: number ১ (1) is not in the translation",
            "no LLM summary (reason",
            // What earlier versions wrote about a summary they still showed.
            "summary mentions terms not found in the translation: 98765",
            "paragraph three: translation cut off at the token limit; it may be incomplete",
        ] {
            let warning: Warning = serde_json::from_value(text.into()).unwrap();
            assert_eq!(warning, Warning::Other(text.to_string()));
            assert_eq!(serde_json::to_value(&warning).unwrap(), text);
        }
    }

    #[test]
    fn each_kind_names_its_place_and_reads_the_same_there() {
        for (warning, _) in every_kind() {
            let at_place = warning.text_at_place();
            let expected_prefix = match warning.place() {
                Place::Article => String::new(),
                Place::Title => "title: ".to_string(),
                Place::Paragraph(p) => format!("paragraph {p}: "),
                Place::Sentence {
                    paragraph,
                    sentence,
                } => format!("paragraph {paragraph}, sentence {sentence}: "),
            };
            assert_eq!(warning.to_string(), format!("{expected_prefix}{at_place}"));
        }
        assert_eq!(
            every_kind()[0].0.place(),
            Place::Sentence {
                paragraph: 2,
                sentence: 1
            }
        );
        assert_eq!(
            Warning::from("paragraph 3, sentence 4: odd").place(),
            Place::Article
        );
    }

    #[test]
    fn reasons_and_numbers_with_brackets_still_read_back_whole() {
        for text in [
            "no LLM headline (the chat model failed (twice)); the translated title heads the story",
            "paragraph 3, sentence 4: number (৫) (5) is not in the translation",
            "the LLM summary was rejected: it names 10,000, Dhaka (North), which the \
             translation does not; the summary is extractive",
        ] {
            let warning = Warning::from(text);
            assert!(!matches!(warning, Warning::Other(_)), "{warning:?}");
            assert_eq!(warning.to_string(), text);
        }
    }
}
