//! The articles of a run as its digest and manifest need them, held in
//! memory bounded however many articles the run has: every article as a
//! line of the manifest (id, input, a hash of its text, its date), and the
//! newest [`DIGEST_MAX_ARTICLES`] in short form for the digest.
//!
//! A digest is for a reader to skim: past a thousand stories it would be a
//! book nobody reads, and holding every article for it would make a run's
//! memory grow with its input. The digest says how many it leaves out, and
//! `manifest.json` lists every article.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::output::view::{article_date, digest_cmp, same_text_hash};
use crate::output::ArticleOutput;

/// Articles the digest shows at most: the newest, in digest order.
pub(crate) const DIGEST_MAX_ARTICLES: usize = 1000;

/// One article of the run, as the manifest lists it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) id: String,
    pub(crate) input: String,
    pub(crate) text_key: u64,
    pub(crate) date: Option<String>,
    /// Index into [`RunArticles::folders`] of where its files are.
    pub(crate) folder: u32,
}

/// An article kept for the digest, ordered so that the heap's top is the
/// one the digest would show last.
struct Kept(ArticleOutput);

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        digest_cmp(&self.0, &other.0)
    }
}

/// This run's articles: see the module documentation.
#[derive(Default)]
pub struct RunArticles {
    kept: BinaryHeap<Kept>,
    listed: Vec<Listed>,
    /// Where articles' files are, relative to the digest's folder (empty:
    /// beside it), each once.
    folders: Vec<String>,
}

impl RunArticles {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes in an article written (or kept) by the run; `folder` is where
    /// its files are relative to the digest's folder (empty: beside it).
    pub(crate) fn add(&mut self, article: &ArticleOutput, folder: &str) {
        let text_key = same_text_hash(article);
        let folder_index = match self.folders.iter().position(|f| f == folder) {
            Some(index) => index,
            None => {
                self.folders.push(folder.to_string());
                self.folders.len() - 1
            }
        };
        self.listed.push(Listed {
            id: article.id.clone(),
            input: article.input.clone(),
            text_key,
            date: article_date(article).map(str::to_string),
            folder: folder_index as u32,
        });
        if self.kept.len() == DIGEST_MAX_ARTICLES {
            let last = self.kept.peek().expect("the heap is full");
            if digest_cmp(article, &last.0) != Ordering::Less {
                return;
            }
            self.kept.pop();
        }
        let mut short = article.clone();
        // The digest shows a story by its title, summary and first
        // paragraph; the rest of the text is needed only as its hash.
        short.paragraphs.truncate(1);
        short.digest.text_key = Some(text_key);
        short.digest.folder = folder.to_string();
        self.kept.push(Kept(short));
    }

    /// A run of `articles`, for tests.
    #[cfg(test)]
    pub(crate) fn of(articles: &[ArticleOutput]) -> Self {
        let mut run = Self::new();
        for article in articles {
            run.add(article, "");
        }
        run
    }

    /// Where `listed`'s files are, relative to the digest's folder.
    pub(crate) fn folder_of(&self, listed: &Listed) -> &str {
        &self.folders[listed.folder as usize]
    }

    /// Articles of the run.
    pub(crate) fn len(&self) -> usize {
        self.listed.len()
    }

    /// Every article of the run, in the order added.
    pub(crate) fn listed(&self) -> &[Listed] {
        &self.listed
    }

    /// The articles the digest shows, in no particular order.
    pub(crate) fn shown(&self) -> Vec<ArticleOutput> {
        self.kept.iter().map(|kept| kept.0.clone()).collect()
    }

    /// Distinct texts among the run's articles.
    pub(crate) fn distinct_texts(&self) -> usize {
        let mut keys: Vec<u64> = self.listed.iter().map(|l| l.text_key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    }

    /// Indices of [`Self::listed`] in order of id.
    pub(crate) fn by_id(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.listed.len() as u32).collect();
        order
            .sort_unstable_by(|&a, &b| self.listed[a as usize].id.cmp(&self.listed[b as usize].id));
        order
    }

    /// For each article of [`Self::listed`] with the same text as another,
    /// the index of the one shown in its place: the first of them in digest
    /// order. Sorting by text keeps this to a few bytes an article.
    pub(crate) fn duplicate_of(&self) -> Vec<Option<u32>> {
        let mut by_text: Vec<u32> = (0..self.listed.len() as u32).collect();
        by_text.sort_unstable_by(|&a, &b| {
            let (a, b) = (&self.listed[a as usize], &self.listed[b as usize]);
            a.text_key.cmp(&b.text_key).then_with(|| listed_cmp(a, b))
        });
        let mut shown_in_place = vec![None; self.listed.len()];
        for same_text in by_text
            .chunk_by(|&a, &b| self.listed[a as usize].text_key == self.listed[b as usize].text_key)
        {
            for &copy in &same_text[1..] {
                shown_in_place[copy as usize] = Some(same_text[0]);
            }
        }
        shown_in_place
    }
}

/// Digest order of two manifest lines: newest first, undated last, by id.
fn listed_cmp(a: &Listed, b: &Listed) -> Ordering {
    let dates = match (&a.date, &b.date) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    dates.then_with(|| a.id.cmp(&b.id))
}
