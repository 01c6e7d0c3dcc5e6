//! One article from extraction to its output record: prepared (extracted,
//! normalized, segmented, fingerprinted) before translation, and assembled
//! from the translations after it.

use sha2::{Digest, Sha256};

use crate::cache;
use crate::extract::{extract_page, Extracted};
use crate::hash;
use crate::ingest::Article;
use crate::output::sources::english_source_name;
use crate::output::{
    ArticleOutput, Bilingual, SentencePair, Summary, Timings, Warning, ANUBAD_VERSION,
    SCHEMA_VERSION,
};
use crate::text::extractive_summary::extractive_summary;
use crate::text::numbers::check_numbers;

use crate::pipeline::segments::Translations;
use crate::pipeline::ModelContext;

/// An article ready to translate.
pub(crate) struct Prepared {
    pub(crate) article: Article,
    pub(crate) story: Extracted,
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) title_segments: Vec<String>,
    pub(crate) paragraphs: Vec<Vec<String>>,
    pub(crate) fingerprint: String,
}

impl Prepared {
    pub(crate) fn segments(&self) -> impl Iterator<Item = &String> {
        self.title_segments
            .iter()
            .chain(self.paragraphs.iter().flatten())
    }
}

pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(cache::SCHEMA_VERSION.to_le_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hash::to_hex(&hasher.finalize())
}

pub(crate) fn prepare(
    mut article: Article,
    id: String,
    model: &ModelContext,
    settings: &str,
) -> Prepared {
    let story = extract_page(&article.text, &article.hints);
    // A run holds every prepared article until it is translated; the page
    // itself is not needed again once its story is out.
    article.text = String::new();
    let title = story.title.clone().unwrap_or_default();
    let title_segments: Vec<String> = model
        .engine
        .paragraph_units(&title)
        .into_iter()
        .flatten()
        .collect();
    // A chat model's runs of sentences become paragraphs of their own.
    let paragraphs: Vec<Vec<String>> = story
        .body
        .iter()
        .flat_map(|p| model.engine.paragraph_units(p))
        .collect();
    let body = story.body.join("\n");
    let fingerprint = fingerprint(&[
        &model.identity,
        settings,
        &id,
        &article.input,
        &title,
        &body,
        article.url.as_deref().unwrap_or(""),
        story.published.as_deref().unwrap_or(""),
        story.updated.as_deref().unwrap_or(""),
        story.source.as_deref().unwrap_or(""),
        story.byline.as_deref().unwrap_or(""),
    ]);
    Prepared {
        article,
        story,
        id,
        title,
        title_segments,
        paragraphs,
        fingerprint,
    }
}

/// The English of `unit`'s sentences as one text.
pub(crate) fn english(translations: &Translations, unit: &[String]) -> String {
    translations
        .pairs(unit)
        .into_iter()
        .map(|pair| pair.en)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn assemble(
    prepared: Prepared,
    translations: &Translations,
    model: &ModelContext,
    summary_sentences: usize,
    timings: Timings,
) -> ArticleOutput {
    let title_en = english(translations, &prepared.title_segments);
    let paragraphs: Vec<Vec<SentencePair>> = prepared
        .paragraphs
        .iter()
        .map(|p| translations.pairs(p))
        .collect();
    let mut warnings = Vec::new();
    if translations.cut_off(&prepared.title_segments) {
        warnings.push(Warning::TitleTranslationCutOff);
    }
    for (p, paragraph) in paragraphs.iter().enumerate() {
        if translations.cut_off(&prepared.paragraphs[p]) {
            warnings.push(Warning::ParagraphTranslationCutOff { paragraph: p + 1 });
        }
        for (i, pair) in paragraph.iter().enumerate() {
            for missing in check_numbers(&pair.bn, &pair.en) {
                warnings.push(Warning::NumberMissing {
                    paragraph: p + 1,
                    sentence: i + 1,
                    number: missing.source,
                    value: missing.value,
                });
            }
        }
    }
    if paragraphs.is_empty() {
        warnings.push(Warning::NoStoryText);
    }
    let sentences: Vec<String> = paragraphs.iter().flatten().map(|p| p.en.clone()).collect();
    let summary = if sentences.is_empty() {
        title_en.clone()
    } else {
        extractive_summary(&sentences, summary_sentences)
            .into_iter()
            .map(|i| sentences[i].clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    ArticleOutput {
        schema_version: SCHEMA_VERSION,
        anubad_version: ANUBAD_VERSION.to_string(),
        id: prepared.id,
        input: prepared.article.input,
        title: Bilingual {
            bn: prepared.title,
            en: title_en,
        },
        url: prepared.article.url,
        published: prepared.story.published,
        updated: prepared.story.updated,
        source_en: prepared
            .story
            .source
            .as_deref()
            .and_then(english_source_name)
            .map(str::to_string),
        source: prepared.story.source,
        byline: prepared.story.byline,
        paragraphs,
        summary: Summary::extractive(summary),
        model: model.info.clone(),
        generation: model.engine.settings_json(),
        warnings,
        timings,
        fingerprint: prepared.fingerprint,
        digest: Default::default(),
    }
}
