//! Translation by an instruction-tuned chat model (`--translator`): a
//! paragraph at a time through `prompts/translate.md.j2` with its few-shot
//! examples, for users who trust an LLM more than an NMT model. The answer is
//! split back into sentences; when it has as many as the Bengali paragraph,
//! each sentence keeps its own translation (the same alignment the NMT path
//! gives), otherwise the paragraph is one aligned pair.

use serde::{Deserialize, Serialize};

use crate::chat::prompts::{PromptError, PromptName, Prompts};
use crate::chat::{ChatError, ChatMessage, SharedChat};
use crate::llm::summary::strip_wrappers;
use crate::text;

/// Most Bengali tokens (in the chat model's vocabulary) sent in one prompt.
/// Longer paragraphs are translated in runs of whole sentences; a smaller
/// unit costs more prompt overhead, a larger one risks the model dropping
/// sentences.
pub(crate) const MAX_UNIT_TOKENS: usize = 384;
/// Room for the answer beyond the source length: English takes fewer tokens
/// than Bengali in these vocabularies, so the source length plus this margin
/// bounds a faithful answer.
const ANSWER_MARGIN_TOKENS: usize = 64;

/// One paragraph's English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParagraphTranslation {
    /// One English sentence per Bengali sentence when `aligned`; otherwise a
    /// single item, the whole paragraph.
    pub(crate) english: Vec<String>,
    pub(crate) aligned: bool,
    /// Whether the model stopped at the token limit: the end of the
    /// paragraph may be missing. Absent, and so false, in translations
    /// cached before it was kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) cut_off: bool,
}

/// Why a paragraph could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum LlmTranslateError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

pub struct LlmTranslator {
    model: SharedChat,
    prompts: Prompts,
    sampling: crate::chat::Sampling,
    identity: String,
    settings: serde_json::Value,
}

impl LlmTranslator {
    pub fn new(model: SharedChat, prompts: Prompts, sampling: crate::chat::Sampling) -> Self {
        let identity = model.borrow().identity().to_string();
        let settings = serde_json::json!({
            "engine": "llm",
            "model": identity,
            "prompt": prompts.hash(PromptName::Translate),
            "temperature": sampling.temperature,
            "seed": sampling.seed,
            "max_unit_tokens": MAX_UNIT_TOKENS,
        });
        Self {
            model,
            prompts,
            sampling,
            identity,
            settings,
        }
    }

    /// The chat model's identity, for cache keys.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Every setting that can change a translation (model, prompt and
    /// examples hash, sampling), for cache keys and outputs.
    pub(crate) fn settings_json(&self) -> serde_json::Value {
        self.settings.clone()
    }

    pub(crate) fn token_count(&self, text: &str) -> usize {
        self.model.borrow().count_tokens(text)
    }

    /// Longest sentence, in tokens, before it is split (as for NMT models).
    pub(crate) fn max_source_tokens(&self) -> usize {
        MAX_UNIT_TOKENS
    }

    /// Runs of consecutive sentences of `sentences`, each within
    /// [`MAX_UNIT_TOKENS`] (a longer sentence alone is one run).
    pub(crate) fn units(&self, sentences: Vec<String>) -> Vec<Vec<String>> {
        let mut units: Vec<Vec<String>> = Vec::new();
        let mut current_tokens = 0;
        for sentence in sentences {
            let tokens = self.token_count(&sentence);
            match units.last_mut() {
                Some(unit) if current_tokens + tokens <= MAX_UNIT_TOKENS => {
                    unit.push(sentence);
                    current_tokens += tokens;
                }
                _ => {
                    units.push(vec![sentence]);
                    current_tokens = tokens;
                }
            }
        }
        units
    }

    /// The English of one paragraph given as its sentences.
    pub(crate) fn translate(
        &self,
        sentences: &[String],
    ) -> Result<ParagraphTranslation, LlmTranslateError> {
        let paragraph = sentences.join(" ");
        let prompt = self.prompts.render(
            PromptName::Translate,
            &serde_json::json!({
                "text": paragraph,
                "examples": self.prompts.translate_examples(),
            }),
        )?;
        let mut model = self.model.borrow_mut();
        let sampling = crate::chat::Sampling {
            max_new_tokens: model.count_tokens(&paragraph) + ANSWER_MARGIN_TOKENS,
            ..self.sampling
        };
        let reply = model.chat(&[ChatMessage::user(prompt)], &sampling)?;
        Ok(ParagraphTranslation {
            cut_off: reply.cut_off(),
            ..align(sentences.len(), &clean_answer(&reply.text))
        })
    }
}

/// The translation without what models like to wrap it in: a repeated
/// `English:` label, surrounding quotes, line breaks.
fn clean_answer(answer: &str) -> String {
    let text = strip_wrappers(answer, &["English:"]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn align(source_sentences: usize, english: &str) -> ParagraphTranslation {
    let sentences = text::split_sentences(english);
    if source_sentences > 1 && sentences.len() == source_sentences {
        ParagraphTranslation {
            english: sentences,
            aligned: true,
            cut_off: false,
        }
    } else {
        ParagraphTranslation {
            english: vec![english.to_string()],
            aligned: source_sentences == 1,
            cut_off: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::scripted::{PromptLog, ScriptedChat};
    use crate::chat::{self, Sampling};

    fn translator(answer: &str) -> (LlmTranslator, PromptLog) {
        let model = ScriptedChat::answering(answer);
        let prompts = model.log();
        let translator = LlmTranslator::new(
            chat::shared(model),
            Prompts::load(None).unwrap(),
            Sampling::default(),
        );
        (translator, prompts)
    }

    fn sentences() -> Vec<String> {
        vec!["ঢাকায় বৃষ্টি হয়েছে।".to_string(), "রাস্তায় পানি জমেছে।".to_string()]
    }

    #[test]
    fn the_prompt_holds_the_examples_and_the_whole_paragraph() {
        let (translator, prompts) = translator("It rained in Dhaka. Water logged the roads.");
        translator.translate(&sentences()).unwrap();
        let prompt = &prompts.prompts()[0];
        let examples = Prompts::load(None).unwrap();
        assert!(prompt.contains(&examples.translate_examples()[0].en));
        assert!(prompt.contains("ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।"));
    }

    #[test]
    fn as_many_english_sentences_as_bengali_ones_are_aligned_one_to_one() {
        let (translator, _) = translator("English: It rained in Dhaka.\nWater logged the roads.");
        let translation = translator.translate(&sentences()).unwrap();
        assert!(translation.aligned);
        assert_eq!(
            translation.english,
            ["It rained in Dhaka.", "Water logged the roads."]
        );
    }

    #[test]
    fn a_different_sentence_count_keeps_the_paragraph_whole() {
        let (translator, _) = translator("It rained in Dhaka and water logged the roads.");
        let translation = translator.translate(&sentences()).unwrap();
        assert!(!translation.aligned);
        assert_eq!(
            translation.english,
            ["It rained in Dhaka and water logged the roads."]
        );
    }

    #[test]
    fn long_paragraphs_are_cut_into_runs_of_whole_sentences() {
        let (translator, _) = translator("");
        let sentence = |n: usize| vec!["শব্দ"; n].join(" ");
        let units = translator.units(vec![
            sentence(200),
            sentence(150),
            sentence(100),
            sentence(500),
            sentence(10),
        ]);
        let sizes: Vec<Vec<usize>> = units
            .iter()
            .map(|unit| unit.iter().map(|s| translator.token_count(s)).collect())
            .collect();
        assert_eq!(sizes, vec![vec![200, 150], vec![100], vec![500], vec![10]]);
    }

    #[test]
    fn settings_change_with_the_prompt_and_the_model() {
        let (first, _) = translator("x");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("translate-examples.jsonl"),
            "{\"bn\": \"এক\", \"en\": \"One\"}\n",
        )
        .unwrap();
        let edited = LlmTranslator::new(
            chat::shared(ScriptedChat::answering("")),
            Prompts::load(Some(dir.path())).unwrap(),
            Sampling::default(),
        );
        assert_ne!(first.settings_json(), edited.settings_json());
        assert_eq!(first.identity(), "test:scripted");
    }

    #[test]
    fn a_translation_stopped_at_the_token_limit_is_marked_cut_off() {
        let (whole, _) = translator("It rained in Dhaka. Water logged the roads.");
        assert!(!whole.translate(&sentences()).unwrap().cut_off);

        // The answer may be the source's length plus the margin.
        let rambling = ["It rained."; ANSWER_MARGIN_TOKENS].join(" ");
        let (rambler, _) = translator(&rambling);
        let translation = rambler.translate(&sentences()).unwrap();
        assert!(translation.cut_off);
        assert!(!translation.aligned);
    }

    #[test]
    fn translations_cached_before_cut_offs_were_kept_read_as_whole_and_are_written_as_before() {
        let old = r#"{"english":["It rained in Dhaka."],"aligned":true}"#;
        let translation: ParagraphTranslation = serde_json::from_str(old).unwrap();
        assert!(!translation.cut_off);
        assert_eq!(serde_json::to_string(&translation).unwrap(), old);
        let cut_off = ParagraphTranslation {
            cut_off: true,
            ..translation
        };
        let json = serde_json::to_string(&cut_off).unwrap();
        assert_eq!(
            serde_json::from_str::<ParagraphTranslation>(&json).unwrap(),
            cut_off
        );
    }
}
