//! Story extraction from a Bengali news page saved as plain text or Markdown:
//! the body paragraphs, headline, dateline, credited source and byline, with
//! the site furniture around them (related-headline lists, share prompts,
//! comment widgets, captions, ads, reporter initials, navigation) dropped and
//! every dropped line reported with its reason.
//!
//! The rules look at the shape of lines and at their place on the page, not
//! at one site's exact strings: prose ends in a danda, headlines do not; a
//! run of headline-like lines after the story is a related-news list; a line
//! repeated next to itself is a duplicate; a short line that credits a photo
//! is a caption. Where a rule is unsure, the line stays in the body: dropping
//! a real paragraph costs more than keeping a stray line.

use serde::{Deserialize, Serialize};

use crate::ingest::{Article, PageHints};
use crate::output::sources::english_source_name;
use crate::text::dates::{parse_dateline, BENGALI_CALENDAR_MONTHS, BENGALI_MONTHS};
use crate::text::english;
use crate::text::normalize;

/// One line of `anubad extract`: what [`extract_page`] found in `article`,
/// with the id and input that name it. Like `<id>.json`, it has every field
/// on every line, `null` when unknown.
pub fn story_record(id: &str, article: &Article, story: &Extracted) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "input": article.input,
        "url": article.url,
        "title": story.title,
        "published": story.published,
        "updated": story.updated,
        "source": story.source,
        "source_en": story.source.as_deref().and_then(english_source_name),
        "byline": story.byline,
        "body": story.body,
        "dropped": story.dropped,
    })
}

/// A line left out of the body, and why (one of the [`reason`] constants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Dropped {
    pub(crate) line: String,
    pub(crate) reason: String,
}

/// What [`extract_page`] found. Dates are ISO 8601 strings as produced by
/// [`crate::text::dates::parse_dateline`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub(crate) title: Option<String>,
    pub(crate) published: Option<String>,
    pub(crate) updated: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) byline: Option<String>,
    /// Story paragraphs: normalized page lines, unchanged except that inline
    /// ad placeholders are cut out.
    pub(crate) body: Vec<String>,
    /// Every other non-empty line, in page order.
    pub(crate) dropped: Vec<Dropped>,
}

/// The reasons a line can be dropped for.
pub(crate) mod reason {
    /// Other stories' headlines: lists after the story, "read more" links.
    pub(crate) const RELATED_HEADLINES: &str = "related-headlines";
    pub(crate) const SHARE_PROMPT: &str = "share-prompt";
    pub(crate) const COMMENT_WIDGET: &str = "comment-widget";
    /// Photo captions and photo credits.
    pub(crate) const CAPTION: &str = "caption";
    /// A line repeated verbatim right after itself.
    pub(crate) const DUPLICATE: &str = "duplicate";
    /// Advertisement placeholders, as whole lines or cut out of a paragraph.
    pub(crate) const AD: &str = "ad";
    /// Desk initials such as `আরআর/এসএন`.
    pub(crate) const INITIALS: &str = "initials";
    pub(crate) const DATELINE: &str = "dateline";
    /// Section names, breadcrumbs, tags, edition labels, reading time.
    pub(crate) const NAVIGATION: &str = "navigation";
    pub(crate) const BYLINE: &str = "byline";
    pub(crate) const SOURCE_CREDIT: &str = "source-credit";
    /// The headline, and verbatim repeats of it.
    pub(crate) const TITLE: &str = "title";
    /// Lone `X`, `img` and lines without any letter.
    pub(crate) const EMPTY_MARKER: &str = "empty-marker";
    /// "Latest / popular" tab labels.
    pub(crate) const TABS: &str = "tabs";
}

/// Extracts the story from a page. `text` is normalized with
/// [`crate::text::normalize`] first; body paragraphs are lines of that
/// normalized text. Never panics.
pub fn extract_page(text: &str, hints: &PageHints) -> Extracted {
    let normalized = normalize(text);
    let mut lines = read_lines(&normalized);
    for line in &mut lines {
        line.intrinsic = classify_line(line);
        line.role = initial_role(&line.intrinsic);
    }
    mark_adjacent_duplicates(&mut lines);
    mark_captions_above_photo_credits(&mut lines);

    let hint_title = hints
        .title
        .as_deref()
        .map(|title| strip_markup(&normalize(title)).text)
        .filter(|title| !title.is_empty());
    let story = locate_story(&lines);
    let title_index = match story {
        Some(story) => {
            let title_index = resolve_header(&mut lines, story.start, hint_title.as_deref());
            resolve_story(&mut lines, story);
            resolve_tail(&mut lines, story.end);
            title_index
        }
        None => resolve_furniture_only(&mut lines, hint_title.as_deref()),
    };
    drop_title_repeats(&mut lines, title_index);

    assemble(&lines, story, title_index, hints)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prose {
    /// Ends a sentence with a danda, or is long enough to be a paragraph.
    Strong,
    /// A short line ending in `?`, `!` or `.`: a question headline or a
    /// one-line quote.
    Weak,
    /// Headline-shaped: no sentence end.
    None,
}

/// What a line is by itself, before its position on the page is considered.
#[derive(Debug, Clone, PartialEq)]
enum Intrinsic {
    Open,
    Drop(&'static str),
    /// A lone list number such as `১০`.
    Number,
    /// Mostly date and time words; `explicit` when a keyword such as
    /// `প্রকাশ` or `আপডেট` says it is the page's dateline.
    DateLike {
        explicit: bool,
    },
    Byline(String),
    Source(String),
    /// A bare URL: a credit after the story, navigation above it.
    Url,
    /// `ছবি : সংগৃহীত` alone: credits the photo captioned just above.
    PhotoCredit,
    /// `আরও পড়ুন` alone: the headline-like lines after it are links.
    RelatedMarker,
    /// `আরও খবর`, `সম্পর্কিত খবর`: a box of other stories starts here.
    RelatedHeader,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Open,
    Body,
    Drop(&'static str),
}

#[derive(Debug, Clone)]
struct Line {
    /// The normalized page line, as it appears in the page.
    original: String,
    /// `original` with inline ad placeholders cut out: what the body gets.
    text: String,
    ads: Vec<String>,
    /// `text` without Markdown and list markup: what the rules look at.
    plain: String,
    heading_level: usize,
    whole_link: bool,
    blank_before: bool,
    words: usize,
    prose: Prose,
    /// A verbatim copy follows right after this line.
    duplicated: bool,
    intrinsic: Intrinsic,
    role: Role,
}

#[derive(Debug, Clone, Copy)]
struct Story {
    start: usize,
    end: usize,
}

fn read_lines(normalized: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut blank_before = false;
    for raw in normalized.lines() {
        if raw.is_empty() {
            blank_before = true;
            continue;
        }
        let (text, ads) = strip_inline_ads(raw);
        let markup = strip_markup(&text);
        let words = markup.text.split_whitespace().count();
        let prose = prose_strength(&markup.text, words);
        lines.push(Line {
            original: raw.to_owned(),
            text,
            ads,
            plain: markup.text,
            heading_level: markup.heading_level,
            whole_link: markup.whole_link,
            blank_before,
            words,
            prose,
            duplicated: false,
            intrinsic: Intrinsic::Open,
            role: Role::Open,
        });
        blank_before = false;
    }
    lines
}

fn initial_role(intrinsic: &Intrinsic) -> Role {
    match intrinsic {
        Intrinsic::Open => Role::Open,
        Intrinsic::Drop(why) => Role::Drop(why),
        Intrinsic::Number => Role::Drop(reason::EMPTY_MARKER),
        Intrinsic::DateLike { .. } => Role::Drop(reason::DATELINE),
        Intrinsic::Byline(_) => Role::Drop(reason::BYLINE),
        Intrinsic::Source(_) => Role::Drop(reason::SOURCE_CREDIT),
        Intrinsic::Url => Role::Drop(reason::SOURCE_CREDIT),
        Intrinsic::PhotoCredit => Role::Drop(reason::CAPTION),
        Intrinsic::RelatedMarker | Intrinsic::RelatedHeader => {
            Role::Drop(reason::RELATED_HEADLINES)
        }
    }
}

// ---------------------------------------------------------------------------
// Inline ads and markup

const AD_WORDS: &[&str] = &["বিজ্ঞাপন", "advertisement", "ads", "ad", "স্পনসর", "sponsored"];

/// Cuts `[বিজ্ঞাপন_২]`-style placeholders out of a line; returns the line and
/// the placeholders removed. Spaces around a cut collapse to one.
fn strip_inline_ads(line: &str) -> (String, Vec<String>) {
    let mut kept = String::with_capacity(line.len());
    let mut removed = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after_open = &rest[open + 1..];
        let close = after_open
            .char_indices()
            .take(40)
            .find(|&(_, c)| c == ']' || c == '[')
            .filter(|&(_, c)| c == ']')
            .map(|(index, _)| index);
        let Some(close) = close else {
            kept.push_str(&rest[..open + 1]);
            rest = after_open;
            continue;
        };
        let inner = &after_open[..close];
        if is_ad_label(inner) {
            kept.push_str(rest[..open].trim_end_matches(' '));
            removed.push(rest[open..open + 1 + close + 1].to_owned());
            rest = after_open[close + 1..].trim_start_matches(' ');
            if !kept.is_empty() && !rest.is_empty() {
                kept.push(' ');
            }
        } else {
            kept.push_str(&rest[..open + 1]);
            rest = after_open;
        }
    }
    kept.push_str(rest);
    (kept.trim().to_owned(), removed)
}

fn is_ad_label(inner: &str) -> bool {
    let lowered = inner.trim().to_lowercase();
    AD_WORDS.iter().any(|word| {
        lowered.strip_prefix(word).is_some_and(|after| {
            after
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphabetic() && !is_bengali_sign(c))
        })
    })
}

fn is_bengali_sign(c: char) -> bool {
    ('\u{0980}'..='\u{09FF}').contains(&c) && !c.is_alphabetic() && !c.is_numeric()
}

struct Markup {
    text: String,
    heading_level: usize,
    whole_link: bool,
}

/// Removes Markdown heading, quote and list markers, emphasis around the
/// whole line and a link that spans the whole line.
fn strip_markup(line: &str) -> Markup {
    let mut text = line.trim();
    let hashes = text.chars().take_while(|&c| c == '#').count();
    let heading_level = if (1..=6).contains(&hashes) && text[hashes..].starts_with(' ') {
        text = text[hashes..].trim_start();
        hashes
    } else {
        0
    };
    if let Some(rest) = text.strip_prefix("> ") {
        text = rest.trim_start();
    }
    for bullet in ["- ", "* ", "+ ", "• ", "· ", "▪ ", "► ", "■ "] {
        if let Some(rest) = text.strip_prefix(bullet) {
            text = rest.trim_start();
            break;
        }
    }
    let mut text = unwrap_emphasis(text);
    let mut whole_link = false;
    if let Some(link_text) = whole_line_link(&text) {
        text = unwrap_emphasis(&link_text);
        whole_link = true;
    }
    Markup {
        text,
        heading_level,
        whole_link,
    }
}

fn unwrap_emphasis(text: &str) -> String {
    let mut text = text.trim();
    for marker in ["**", "__", "*", "_"] {
        if text.len() > 2 * marker.len() && text.starts_with(marker) && text.ends_with(marker) {
            text = text[marker.len()..text.len() - marker.len()].trim();
        }
    }
    text.to_owned()
}

/// The text of `[text](url)` when that link is the whole line.
fn whole_line_link(text: &str) -> Option<String> {
    let inner = text.strip_prefix('[')?.strip_suffix(')')?;
    let (label, url) = inner.rsplit_once("](")?;
    (!label.contains(']') && !url.contains(' ')).then(|| label.trim().to_owned())
}

// ---------------------------------------------------------------------------
// Line shape

const CLOSERS: &[char] = &['’', '”', '"', '\'', ')', ']', '»', '›', '）', '*', '_'];

/// The last character that is not a closing quote, bracket or space.
fn final_mark(text: &str) -> Option<char> {
    text.trim_end_matches(|c: char| c.is_whitespace() || CLOSERS.contains(&c))
        .chars()
        .next_back()
}

fn prose_strength(plain: &str, words: usize) -> Prose {
    match final_mark(plain) {
        Some('।' | '॥') => Prose::Strong,
        // A whole sentence inside, then a credit or a stray tail.
        _ if words >= 6 && plain.contains(['।', '॥']) => Prose::Strong,
        Some('.' | '!' | '?' | '…') if words >= 12 => Prose::Strong,
        Some('!' | '?' | '.' | '…') => Prose::Weak,
        _ if words >= 25 => Prose::Strong,
        _ => Prose::None,
    }
}

fn has_letter(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

fn has_digit(text: &str) -> bool {
    text.chars().any(char::is_numeric)
}

/// Short, without a sentence end: what headlines, labels and captions look
/// like.
fn is_headline_like(line: &Line) -> bool {
    has_letter(&line.plain)
        && (1..=20).contains(&line.words)
        && line.plain.chars().count() <= 180
        && !line.plain.contains(['।', '॥'])
        && line.prose != Prose::Strong
}

/// Tokens of a line with punctuation split off, for lexicon look-ups.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ':'
                    | 'ঃ'
                    | '|'
                    | '।'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '-'
                    | '–'
                    | '—'
                    | '/'
                    | '»'
                    | '›'
                    | '>'
                    | '•'
                    | '·'
                    | '.'
                    | '،'
            )
    })
    .filter(|token| !token.is_empty())
    .map(str::to_lowercase)
    .collect()
}

// ---------------------------------------------------------------------------
// Dates

/// Words of dates besides the month names and the English weekdays, which
/// [`is_date_word`] takes from the shared tables.
const DATE_WORDS: &[&str] = &[
    // Bengali calendar era.
    "বঙ্গাব্দ",
    // Bengali weekdays.
    "শনিবার",
    "রবিবার",
    "রোববার",
    "সোমবার",
    "মঙ্গলবার",
    "বুধবার",
    "বৃহস্পতিবার",
    "শুক্রবার",
    // Times of day and era markers.
    "সময়",
    "অপরাহ্ন",
    "পূর্বাহ্ন",
    "পিএম",
    "এএম",
    "সকাল",
    "দুপুর",
    "বিকাল",
    "বিকেল",
    "সন্ধ্যা",
    "রাত",
    "ভোর",
    "ইং",
    "খ্রি",
    "খ্রিস্টাব্দ",
    "হিজরি",
    "am",
    "pm",
    "ist",
    "bst",
    "gmt",
    "utc",
];

/// Whether a lower-case token is a word of dates: a month (Gregorian in
/// Bengali or English, or of the Bengali calendar), a weekday, or another
/// of [`DATE_WORDS`].
fn is_date_word(token: &str) -> bool {
    DATE_WORDS.contains(&token)
        || BENGALI_MONTHS.iter().any(|&(name, _)| name == token)
        || BENGALI_CALENDAR_MONTHS.contains(&token)
        || english::month_number_or_sept(token).is_some()
        || english::is_weekday(token)
}

/// Words that announce a dateline.
const DATELINE_KEYWORDS: &[&str] = &[
    "প্রকাশ",
    "প্রকাশিত",
    "প্রকাশের",
    "আপডেট",
    "আপডেটেড",
    "হালনাগাদ",
    "পোস্ট",
    "published",
    "updated",
    "posted",
    "last",
    "শেষ",
    "সর্বশেষ",
    "প্রথম",
];

fn has_dateline_keyword(tokens: &[String]) -> bool {
    tokens
        .iter()
        .take(4)
        .any(|t| DATELINE_KEYWORDS.contains(&t.as_str()))
}

fn is_number_token(token: &str) -> bool {
    let digits = token.chars().take_while(|c| c.is_numeric()).count();
    // `১৩ই`, `১লা`, `২রা`: a day with its ordinal suffix.
    digits > 0 && token.chars().skip(digits).count() <= 2
}

/// `Some(explicit)` when the line is mostly date and time words.
fn date_like(plain: &str) -> Option<bool> {
    // Inner dandas are `|` separators that normalization turned into dandas
    // (`প্রকাশ: ১২ জুলাই ২০২৫ | ২২:১৫`); a final one ends a sentence.
    if !has_digit(plain) || matches!(final_mark(plain), Some('।' | '॥')) {
        return None;
    }
    let tokens = tokens(plain);
    if tokens.is_empty() || tokens.len() > 16 {
        return None;
    }
    let explicit = has_dateline_keyword(&tokens);
    let date_tokens = tokens
        .iter()
        .filter(|t| is_number_token(t) || is_date_word(t))
        .count();
    let keyword_tokens = tokens
        .iter()
        .filter(|t| DATELINE_KEYWORDS.contains(&t.as_str()))
        .count();
    let dateish = date_tokens + keyword_tokens;
    (date_tokens >= 2 && dateish * 10 >= tokens.len() * 6).then_some(explicit)
}

// ---------------------------------------------------------------------------
// Furniture lexicons. These are words Bengali news sites share, not one
// site's strings.

const EMPTY_MARKERS: &[&str] = &[
    "x",
    "img",
    "image",
    "icon",
    "×",
    "✕",
    "✖",
    "loading",
    "loading...",
    "play",
];

const AD_LINES: &[&str] = &[
    "বিজ্ঞাপন",
    "advertisement",
    "sponsored",
    "স্পনসর্ড",
    "স্পনসরড",
    "ad",
];

const SOURCE_PREFIXES: &[&str] = &["তথ্যসূত্র", "সূত্র", "source", "sources", "সোর্স"];

const PHOTO_WORDS: &[&str] = &["ছবি", "ফটো", "photo", "image", "ছবিতে", "ছবিটি"];

const CAPTION_PREFIXES: &[&str] = &[
    "ছবির উৎস",
    "ছবির ক্যাপশান",
    "ছবির ক্যাপশন",
    "ক্যাপশন",
    "image source",
    "image caption",
    "photo caption",
];

const LONE_PHOTO_CREDITS: &[&str] = &[
    "ফাইল ছবি",
    "প্রতীকী ছবি",
    "ছবি সংগৃহীত",
    "সংগৃহীত ছবি",
    "ছবি",
    "file photo",
];

/// Last words of a desk or reporter byline.
const BYLINE_TAILS: &[&str] = &[
    "ডেস্ক",
    "প্রতিবেদক",
    "সংবাদদাতা",
    "প্রতিনিধি",
    "রিপোর্টার",
    "করেসপন্ডেন্ট",
    "বার্তাকক্ষ",
];

const BYLINE_PREFIXES: &[&str] = &[
    "লেখক",
    "লিখেছেন",
    "প্রতিবেদন",
    "author",
    "by",
    "reporter",
    "role",
];

const SHARE_PHRASES: &[&str] = &[
    "শেয়ার করুন",
    "ফলো করুন",
    "অনুসরণ করুন",
    "সাবস্ক্রাইব করুন",
    "লাইক দিন",
    "গুগল নিউজ",
    "কপি লিংক",
    "লিংক কপি",
    "প্রিন্ট করুন",
    "share",
    "follow us",
    "subscribe",
    "google news",
    "copy link",
];

const SOCIAL_WORDS: &[&str] = &[
    "facebook",
    "twitter",
    "x",
    "whatsapp",
    "telegram",
    "linkedin",
    "messenger",
    "email",
    "print",
    "ফেসবুক",
    "টুইটার",
    "হোয়াটসঅ্যাপ",
    "টেলিগ্রাম",
    "লিংকডইন",
    "মেসেঞ্জার",
    "ইমেইল",
    "প্রিন্ট",
    "শেয়ার",
];

const COMMENT_PHRASES: &[&str] = &[
    "মন্তব্য করুন",
    "মন্তব্য লিখুন",
    "মন্তব্য পড়ুন",
    "মন্তব্য দিন",
    "কমেন্ট করুন",
    "leave a comment",
    "post a comment",
];

const COMMENT_WORDS: &[&str] = &["মন্তব্য", "মন্তব্যসমূহ", "সমূহ", "কমেন্ট", "comments", "comment"];

const TAB_WORDS: &[&str] = &[
    "সর্বশেষ",
    "জনপ্রিয়",
    "সর্বাধিক",
    "পঠিত",
    "সবচেয়ে",
    "বেশি",
    "পাঠকপ্রিয়",
    "আলোচিত",
    "নির্বাচিত",
    "শীর্ষ",
    "খবর",
    "সংবাদ",
    "latest",
    "popular",
    "most",
    "read",
    "trending",
    "top",
    "news",
];

const NAVIGATION_LINES: &[&str] = &[
    "প্রচ্ছদ",
    "হোম",
    "home",
    "অনলাইন সংস্করণ",
    "প্রিন্ট সংস্করণ",
    "ই-পেপার",
    "e-paper",
    "epaper",
    "আর্কাইভ",
    "archive",
    "menu",
    "মেনু",
    "search",
    "অনুসন্ধান",
    "সার্চ",
    "লগইন",
    "login",
    "skip to content",
    "english",
    "শেষ",
    "পরবর্তী",
    "পূর্ববর্তী",
    "next",
    "previous",
];

const NAVIGATION_PREFIXES: &[&str] = &[
    "বিষয়",
    "ট্যাগ",
    "ট্যাগস",
    "ট্যাগসমূহ",
    "tags",
    "tag",
    "topics",
    "বিভাগ",
    "ক্যাটাগরি",
    "category",
    "কিওয়ার্ড",
];

const READING_TIME: &[&str] = &[
    "পড়তে সময়",
    "পড়ার সময়",
    "মিনিটে পড়ুন",
    "মিনিট পড়া",
    "min read",
    "minute read",
];

const RELATED_MARKERS: &[&str] = &[
    "আরও পড়ুন",
    "আরো পড়ুন",
    "আরও পড়তে পারেন",
    "আরো পড়তে পারেন",
    "এ সম্পর্কিত আরও পড়ুন",
    "এই বিষয়ে আরও পড়ুন",
    "পড়ুন",
    "আরও দেখুন",
    "আরো দেখুন",
    "read more",
    "also read",
    "related",
    "সম্পর্কিত",
    "সংশ্লিষ্ট",
];

/// "Read more" wherever it stands in a label (`বিবিসি বাংলায় আরো পড়তে পারেন:`).
const READ_MORE_PHRASES: &[&str] = &["আরও পড়ুন", "আরো পড়ুন", "পড়তে পারেন", "read more", "also read"];

const RELATED_HEADERS: &[&str] = &[
    "আরও খবর",
    "আরো খবর",
    "আরও সংবাদ",
    "আরো সংবাদ",
    "এই বিভাগের আরও খবর",
    "এই বিভাগের আরো খবর",
    "এ বিভাগের আরও খবর",
    "এ বিভাগের আরো খবর",
    "এ বিভাগের আরো সংবাদ",
    "সম্পর্কিত খবর",
    "সম্পর্কিত সংবাদ",
    "সংশ্লিষ্ট খবর",
    "সংশ্লিষ্ট সংবাদ",
    "related news",
    "more news",
];

/// Words that open a sentence continuing the story's argument; a question
/// starting with one is the story's own, not a link.
const DISCOURSE_OPENERS: &[&str] = &[
    "কিন্তু",
    "তবে",
    "তাহলে",
    "তাই",
    "এবং",
    "আর",
    "অথচ",
    "সুতরাং",
    "তো",
    "এখন",
    "অর্থাৎ",
    "প্রশ্ন",
    "প্রশ্নটা",
    "প্রশ্নটি",
];

// ---------------------------------------------------------------------------
// Per-line classification

fn classify_line(line: &Line) -> Intrinsic {
    let plain = line.plain.as_str();
    let lowered = plain.to_lowercase();
    let toks = tokens(plain);

    if !line.ads.is_empty() && plain.is_empty() {
        return Intrinsic::Drop(reason::AD);
    }
    if !has_letter(plain) {
        if toks.len() == 1 && is_number_token(&toks[0]) && toks[0].chars().all(char::is_numeric) {
            return Intrinsic::Number;
        }
        if let Some(explicit) = date_like(plain) {
            return Intrinsic::DateLike { explicit };
        }
        return Intrinsic::Drop(reason::EMPTY_MARKER);
    }
    if AD_LINES.contains(&lowered.as_str()) {
        return Intrinsic::Drop(reason::AD);
    }
    if EMPTY_MARKERS.contains(&lowered.as_str()) {
        return Intrinsic::Drop(reason::EMPTY_MARKER);
    }
    if is_initials(plain) {
        return Intrinsic::Drop(reason::INITIALS);
    }
    if let Some(explicit) = date_like(plain) {
        return Intrinsic::DateLike { explicit };
    }
    if line.prose != Prose::Strong && parse_dateline(plain).is_some() {
        return Intrinsic::DateLike {
            explicit: has_dateline_keyword(&toks),
        };
    }
    if let Some(source) = source_credit(plain) {
        return Intrinsic::Source(source);
    }
    if is_bare_url(plain) {
        return Intrinsic::Url;
    }
    if let Some(photo) = photo_line(line, &lowered) {
        return photo;
    }
    if let Some(byline) = byline(line, &toks) {
        return Intrinsic::Byline(byline);
    }
    if line.prose != Prose::Strong {
        if is_share_prompt(&lowered, &toks) {
            return Intrinsic::Drop(reason::SHARE_PROMPT);
        }
        if is_comment_widget(&lowered, &toks) {
            return Intrinsic::Drop(reason::COMMENT_WIDGET);
        }
        if toks.len() <= 4 && toks.iter().all(|t| TAB_WORDS.contains(&t.as_str())) {
            return Intrinsic::Drop(reason::TABS);
        }
        if RELATED_HEADERS.contains(&lowered.trim_end_matches([':', 'ঃ']).trim()) {
            return Intrinsic::RelatedHeader;
        }
        let announces_links = READ_MORE_PHRASES.iter().any(|phrase| {
            lowered.find(phrase).is_some_and(|at| {
                lowered[at + phrase.len()..]
                    .trim_matches([':', 'ঃ', ' ', '-', '–'])
                    .is_empty()
            })
        });
        if announces_links && toks.len() <= 8 {
            return Intrinsic::RelatedMarker;
        }
        if let Some(rest) = strip_any_prefix(&lowered, RELATED_MARKERS) {
            let rest = rest.trim_start_matches([':', 'ঃ', '-', '–', '—', ' ', '|']);
            return if rest.is_empty() {
                Intrinsic::RelatedMarker
            } else {
                Intrinsic::Drop(reason::RELATED_HEADLINES)
            };
        }
        if is_navigation(&lowered, &toks) {
            return Intrinsic::Drop(reason::NAVIGATION);
        }
    }
    Intrinsic::Open
}

/// The rest of `text` after the first of `prefixes` it starts with, when the
/// prefix ends at a word boundary.
fn strip_any_prefix<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|prefix| {
        text.strip_prefix(prefix).filter(|rest| {
            // A visarga right after a label is typed for a colon (`সূত্রঃ`).
            rest.chars()
                .next()
                .is_none_or(|c| c == 'ঃ' || (!c.is_alphabetic() && !is_bengali_sign(c)))
        })
    })
}

/// `আরআর/এসএন`, `/এএ/`, `AR/SN`: desk initials, letters and slashes only.
fn is_initials(plain: &str) -> bool {
    if plain.contains(char::is_whitespace) || !plain.contains('/') {
        return false;
    }
    let parts: Vec<&str> = plain.split('/').filter(|part| !part.is_empty()).collect();
    let shaped = |part: &&str| {
        let count = part.chars().count();
        (1..=10).contains(&count)
            && part.chars().all(|c| {
                (c.is_alphabetic() || is_bengali_sign(c))
                    && (!c.is_ascii_alphabetic() || c.is_ascii_uppercase())
            })
    };
    !parts.is_empty()
        && parts.iter().all(shaped)
        && (parts.len() >= 2 || plain.starts_with('/') || plain.ends_with('/'))
}

/// The credited source of a `সূত্র: …` line, a `– রয়টার্স` line or an
/// `(এএফপি)` line.
fn source_credit(plain: &str) -> Option<String> {
    let lowered = plain.to_lowercase();
    if let Some(rest) = strip_any_prefix(&lowered, SOURCE_PREFIXES) {
        let after_label = rest.trim_start();
        let value = after_label
            .strip_prefix([':', 'ঃ', '：'])
            .or_else(|| after_label.strip_prefix(['-', '–', '—']))?;
        let value = clean_credit(&original_suffix(plain, &lowered, value));
        let words = value.split_whitespace().count();
        return (1..=12).contains(&words).then_some(value);
    }
    let trimmed = plain.trim();
    let dashed = trimmed
        .strip_prefix(['–', '—', '-'])
        .map(str::trim)
        .filter(|rest| !rest.is_empty());
    let bracketed = trimmed
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .map(str::trim);
    let value = dashed.or(bracketed)?;
    let words = value.split_whitespace().count();
    let credit_shaped = (1..=3).contains(&words)
        && !has_digit(value)
        && !value.contains(['।', '?', '!', ',', ':'])
        && has_letter(value);
    credit_shaped.then(|| clean_credit(value))
}

/// The part of `original` that `lowered_suffix` (a suffix of `lowered`, the
/// lowercased `original`) came from, in its original casing. Falls back to
/// the lowercased text where lowercasing changed the byte length.
fn original_suffix(original: &str, lowered: &str, lowered_suffix: &str) -> String {
    let start = lowered.len() - lowered_suffix.len();
    if original.len() == lowered.len() {
        if let Some(suffix) = original.get(start..) {
            return suffix.to_owned();
        }
    }
    lowered_suffix.to_owned()
}

fn clean_credit(value: &str) -> String {
    value
        .trim()
        .trim_end_matches(['।', '.', ' '])
        .trim_start_matches(['(', ' '])
        .trim_end_matches([')', ' '])
        .trim()
        .to_owned()
}

fn is_bare_url(plain: &str) -> bool {
    (plain.starts_with("http://") || plain.starts_with("https://") || plain.starts_with("www."))
        && !plain.contains(char::is_whitespace)
}

/// Captions and photo credits.
fn photo_line(line: &Line, lowered: &str) -> Option<Intrinsic> {
    if line.original.trim_start().starts_with("![") {
        return Some(Intrinsic::Drop(reason::CAPTION));
    }
    if strip_any_prefix(lowered, CAPTION_PREFIXES).is_some() {
        return Some(Intrinsic::Drop(reason::CAPTION));
    }
    let bare = lowered
        .trim_start_matches(['(', '[', '|', ' '])
        .trim_end_matches([')', ']', ' ', '।', '.']);
    if LONE_PHOTO_CREDITS.contains(&bare) {
        return Some(Intrinsic::PhotoCredit);
    }
    if let Some(rest) = strip_any_prefix(bare, PHOTO_WORDS) {
        let credit = rest.trim_start();
        if let Some(credit) = credit.strip_prefix([':', 'ঃ', '：', ',']) {
            if credit_is_short(credit) {
                return Some(Intrinsic::PhotoCredit);
            }
        }
    }
    if ends_with_photo_credit(lowered) {
        return Some(Intrinsic::Drop(reason::CAPTION));
    }
    let mentions_photo = tokens(lowered)
        .iter()
        .any(|t| PHOTO_WORDS.contains(&t.as_str()) || t == "ক্যাপশন");
    if mentions_photo && line.prose == Prose::None && line.words <= 25 {
        return Some(Intrinsic::Drop(reason::CAPTION));
    }
    None
}

fn credit_is_short(credit: &str) -> bool {
    let words = credit.split_whitespace().count();
    (1..=6).contains(&words) && !credit.contains(['।', '?', '!'])
}

/// `… কিম জং উন। ছবি : সংগৃহীত`, `… (ফাইল ছবি)`, `… Photo: Reuters`.
fn ends_with_photo_credit(lowered: &str) -> bool {
    let tail = lowered.trim_end_matches([')', ']', ' ', '।', '.']);
    if LONE_PHOTO_CREDITS
        .iter()
        .filter(|credit| credit.contains(' '))
        .any(|credit| tail.ends_with(credit) && tail.len() > credit.len())
    {
        return true;
    }
    PHOTO_WORDS.iter().any(|word| {
        tail.rmatch_indices(word).next().is_some_and(|(index, _)| {
            let before = &tail[..index];
            let after = tail[index + word.len()..].trim_start();
            let starts_word = before
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphabetic() && !is_bengali_sign(c));
            starts_word
                && has_letter(before)
                && after
                    .strip_prefix([':', 'ঃ', '：'])
                    .is_some_and(credit_is_short)
        })
    })
}

fn byline(line: &Line, toks: &[String]) -> Option<String> {
    if line.prose == Prose::Strong || line.words > 10 {
        return None;
    }
    let plain = line.plain.trim();
    let lowered = plain.to_lowercase();
    if let Some(rest) = strip_any_prefix(&lowered, BYLINE_PREFIXES) {
        let rest_trimmed = rest.trim_start();
        let value = rest_trimmed
            .strip_prefix([':', 'ঃ', ','])
            .or_else(|| lowered.starts_with("by ").then_some(rest_trimmed))?;
        let value = original_suffix(plain, &lowered, value);
        let value = value.trim();
        return (!value.is_empty() && value.split_whitespace().count() <= 8)
            .then(|| value.to_owned());
    }
    let head = plain.split([',', '|']).next().unwrap_or(plain).trim();
    let head_words: Vec<&str> = head.split_whitespace().collect();
    let ends_like_byline = head_words
        .last()
        .is_some_and(|last| BYLINE_TAILS.contains(last))
        || head.ends_with("ডেস্ক রিপোর্ট");
    let shaped = (1..=5).contains(&head_words.len())
        && !has_digit(plain)
        && final_mark(plain).is_none_or(|c| !matches!(c, '?' | '!' | '।'))
        && !toks.is_empty();
    (ends_like_byline && shaped).then(|| plain.to_owned())
}

fn is_share_prompt(lowered: &str, toks: &[String]) -> bool {
    let short = toks.len() <= 16;
    let phrase = SHARE_PHRASES.iter().any(|phrase| {
        if phrase.is_ascii() {
            contains_word(lowered, phrase)
        } else {
            lowered.contains(phrase)
        }
    });
    let only_social = !toks.is_empty()
        && toks.len() <= 8
        && toks.iter().all(|t| SOCIAL_WORDS.contains(&t.as_str()));
    short && (phrase || only_social)
}

/// Whether `phrase` occurs in `text` with no letter glued to either side.
fn contains_word(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(index, _)| {
        let before = text[..index].chars().next_back();
        let after = text[index + phrase.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphabetic()) && after.is_none_or(|c| !c.is_alphabetic())
    })
}

fn is_comment_widget(lowered: &str, toks: &[String]) -> bool {
    let phrase = COMMENT_PHRASES.iter().any(|p| lowered.contains(p));
    let only_comment_words = !toks.is_empty()
        && toks.len() <= 4
        && toks.iter().any(|t| COMMENT_WORDS.contains(&t.as_str()))
        && toks
            .iter()
            .all(|t| COMMENT_WORDS.contains(&t.as_str()) || t.chars().all(char::is_numeric));
    (phrase && toks.len() <= 12) || only_comment_words
}

fn is_navigation(lowered: &str, toks: &[String]) -> bool {
    if NAVIGATION_LINES.contains(&lowered) {
        return true;
    }
    if lowered.starts_with("end of ") {
        return true;
    }
    if let Some(rest) = strip_any_prefix(lowered, NAVIGATION_PREFIXES) {
        if rest.trim_start().starts_with([':', 'ঃ']) {
            return true;
        }
    }
    if READING_TIME.iter().any(|phrase| lowered.contains(phrase)) && toks.len() <= 8 {
        return true;
    }
    is_breadcrumb(lowered)
}

/// `প্রচ্ছদ » আন্তর্জাতিক`, `বিশ্ব > এশিয়া`, `জাতীয় / রাজনীতি`.
fn is_breadcrumb(lowered: &str) -> bool {
    for separator in [" » ", " › ", " > ", " / ", " | "] {
        let parts: Vec<&str> = lowered.split(separator).map(str::trim).collect();
        if parts.len() >= 2
            && parts
                .iter()
                .all(|part| (1..=3).contains(&part.split_whitespace().count()) && has_letter(part))
        {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------
// Page-level passes

fn mark_adjacent_duplicates(lines: &mut [Line]) {
    for index in 1..lines.len() {
        if lines[index].original == lines[index - 1].original {
            lines[index].role = Role::Drop(reason::DUPLICATE);
            lines[index - 1].duplicated = true;
        }
    }
}

/// A lone photo credit marks the short unpunctuated line above it as that
/// photo's caption.
fn mark_captions_above_photo_credits(lines: &mut [Line]) {
    for index in 0..lines.len() {
        if lines[index].intrinsic != Intrinsic::PhotoCredit {
            continue;
        }
        let mut above = index;
        while above > 0 {
            above -= 1;
            if lines[above].role != Role::Drop(reason::DUPLICATE) {
                break;
            }
        }
        if above == index {
            continue;
        }
        let candidate = &lines[above];
        if candidate.role == Role::Open
            && candidate.prose == Prose::None
            && candidate.words <= 25
            && !lines[above + 1..=index].iter().any(|l| l.blank_before)
        {
            lines[above].role = Role::Drop(reason::CAPTION);
        }
    }
}

fn is_hard_end(line: &Line) -> bool {
    matches!(
        line.role,
        Role::Drop(reason::INITIALS | reason::COMMENT_WIDGET)
    )
}

/// The story runs from its first paragraph to its last one before the page
/// turns into furniture: desk initials and the comment box only ever follow
/// a story. Tabs and related boxes do not end it, as some sites put a
/// "most read" box between paragraphs.
fn locate_story(lines: &[Line]) -> Option<Story> {
    let is_paragraph = |line: &Line| line.role == Role::Open && line.prose == Prose::Strong;
    let start = lines.iter().position(is_paragraph)?;
    let hard_end = lines[start..]
        .iter()
        .position(is_hard_end)
        .map_or(lines.len(), |offset| start + offset);
    let end = lines[start..hard_end]
        .iter()
        .rposition(is_paragraph)
        .map_or(start, |offset| start + offset);
    Some(Story { start, end })
}

fn find_hint_title(lines: &[Line], hint_title: Option<&str>) -> Option<usize> {
    let hint = hint_title?;
    lines
        .iter()
        .position(|line| line.role == Role::Open && line.plain == hint)
}

/// Picks the headline among the lines above the story and settles every
/// other line there. Returns the headline's index.
fn resolve_header(lines: &mut [Line], start: usize, hint_title: Option<&str>) -> Option<usize> {
    let followed_by_dateline = |lines: &[Line], index: usize| {
        lines.get(index + 1).is_some_and(|next| {
            !next.blank_before && matches!(next.intrinsic, Intrinsic::DateLike { .. })
        })
    };
    let name_shaped = |line: &Line| {
        line.role == Role::Open
            && (2..=4).contains(&line.words)
            && !has_digit(&line.plain)
            && line.prose == Prose::None
    };
    let position_bylines: Vec<usize> = (0..start)
        .filter(|&i| name_shaped(&lines[i]) && followed_by_dateline(lines, i))
        .collect();
    let title_shaped = |line: &Line| {
        line.role == Role::Open && is_headline_like(line) && line.words >= 3 && !line.whole_link
    };
    let markdown_title = (0..start).find(|&i| {
        lines[i].heading_level == 1 && lines[i].role == Role::Open && has_letter(&lines[i].plain)
    });
    let title_index = find_hint_title(&lines[..start], hint_title)
        .or(markdown_title)
        .or_else(|| (0..start).find(|&i| title_shaped(&lines[i]) && !position_bylines.contains(&i)))
        .or_else(|| {
            position_bylines
                .iter()
                .copied()
                .find(|&i| title_shaped(&lines[i]))
        });
    if let Some(index) = title_index {
        lines[index].role = Role::Drop(reason::TITLE);
    }
    for line in lines[..start].iter_mut() {
        if line.intrinsic == Intrinsic::Url {
            line.role = Role::Drop(reason::NAVIGATION);
        }
    }
    for &index in &position_bylines {
        if lines[index].role == Role::Open {
            lines[index].role = Role::Drop(reason::BYLINE);
            lines[index].intrinsic = Intrinsic::Byline(lines[index].plain.clone());
        }
    }
    for index in 0..start {
        if lines[index].role != Role::Open {
            continue;
        }
        let line = &lines[index];
        let after_byline = index > 0
            && !line.blank_before
            && lines[index - 1].role == Role::Drop(reason::BYLINE)
            && line.words <= 2
            && line.prose == Prose::None;
        let after_title = title_index.is_some_and(|title| index > title);
        lines[index].role = if after_byline {
            Role::Drop(reason::BYLINE)
        } else if line.duplicated && line.prose != Prose::Strong {
            Role::Drop(reason::CAPTION)
        } else if line.prose == Prose::Weak && after_title {
            Role::Body
        } else if line.words <= 4 || line.whole_link {
            Role::Drop(reason::NAVIGATION)
        } else {
            Role::Body
        };
    }
    title_index
}

/// Settles the open lines between the story's first and last paragraph.
fn resolve_story(lines: &mut [Line], story: Story) {
    let mut inside_related_block = false;
    let mut links_in_block = 0usize;
    for index in story.start..=story.end {
        let opens_block = matches!(
            lines[index].intrinsic,
            Intrinsic::RelatedMarker | Intrinsic::RelatedHeader
        ) || lines[index].role == Role::Drop(reason::TABS);
        if opens_block {
            inside_related_block = true;
            links_in_block = 0;
            continue;
        }
        if lines[index].role == Role::Drop(reason::NAVIGATION) {
            inside_related_block = false;
        }
        if lines[index].role != Role::Open {
            continue;
        }
        let line = &lines[index];
        if line.prose == Prose::Strong {
            inside_related_block = false;
            lines[index].role = Role::Body;
            continue;
        }
        let previous_body = lines[..index]
            .iter()
            .rev()
            .find(|l| matches!(l.role, Role::Body | Role::Open));
        let introduces_list = previous_body.is_some_and(|l| final_mark(&l.plain) == Some(':'));
        let date_marked_run = has_trailing_date(&line.plain)
            && neighbours(lines, index)
                .iter()
                .any(|&n| lines[n].role == Role::Open && has_trailing_date(&lines[n].plain));
        // A block's links follow its label and each other without a blank
        // line; a Markdown heading is the story's own subheading.
        let block_link = inside_related_block
            && is_headline_like(line)
            && line.heading_level == 0
            && (links_in_block == 0 || !line.blank_before);
        if block_link {
            links_in_block += 1;
        } else {
            inside_related_block = false;
        }
        let links_elsewhere = block_link
            || line.whole_link
            || date_marked_run
            || (!introduces_list && is_inserted_question_headline(line));
        lines[index].role = if links_elsewhere {
            Role::Drop(reason::RELATED_HEADLINES)
        } else if line.duplicated {
            Role::Drop(reason::CAPTION)
        } else {
            Role::Body
        };
    }
}

/// The nearest non-empty-marker lines above and below.
fn neighbours(lines: &[Line], index: usize) -> Vec<usize> {
    let skip = |line: &Line| {
        matches!(line.role, Role::Drop(reason::EMPTY_MARKER)) || line.intrinsic == Intrinsic::Number
    };
    let above = (0..index).rev().find(|&i| !skip(&lines[i]));
    let below = (index + 1..lines.len()).find(|&i| !skip(&lines[i]));
    above.into_iter().chain(below).collect()
}

/// A short question standing alone between paragraphs, worded like a
/// headline: another story's link.
fn is_inserted_question_headline(line: &Line) -> bool {
    let first_word = line.plain.split_whitespace().next().unwrap_or_default();
    let labelled = line
        .plain
        .split_whitespace()
        .take(4)
        .any(|word| word.ends_with([':', 'ঃ']));
    final_mark(&line.plain) == Some('?')
        && line.words <= 14
        && !line.plain.contains(['।', '॥'])
        && !DISCOURSE_OPENERS.contains(&first_word)
        && !labelled
        && !line.plain.starts_with(['‘', '“', '"', '\''])
}

/// `… Apr 29, 2025`, `… ১২ জুলাই ২০২৫`, `… ৩ ঘণ্টা আগে`: a list item's date.
fn has_trailing_date(plain: &str) -> bool {
    let toks = tokens(plain);
    if toks.len() < 3 {
        return false;
    }
    let tail = &toks[toks.len().saturating_sub(3)..];
    let relative = toks.last().is_some_and(|t| t == "আগে" || t == "ago");
    let dated = tail
        .iter()
        .filter(|t| is_number_token(t) || is_date_word(t))
        .count()
        >= 2
        && tail.iter().any(|t| is_date_word(t));
    relative || dated
}

/// Settles the lines after the story's last paragraph.
fn resolve_tail(lines: &mut [Line], end: usize) {
    let soft = |line: &Line| {
        matches!(
            line.role,
            Role::Drop(reason::CAPTION | reason::DUPLICATE | reason::AD | reason::EMPTY_MARKER)
        ) && line.intrinsic != Intrinsic::Number
    };
    // Open lines straight after the last paragraph, before any furniture.
    let mut adjoining = Vec::new();
    for (index, line) in lines.iter().enumerate().skip(end + 1) {
        match line.role {
            Role::Open => adjoining.push(index),
            _ if soft(line) => {}
            _ => break,
        }
    }
    let introduces_list = |index: usize| final_mark(&lines[index].plain) == Some(':');
    let story_ends_with_colon = introduces_list(end)
        || adjoining
            .first()
            .is_some_and(|&first| introduces_list(first));
    let keep_adjoining = match adjoining.as_slice() {
        [single] => {
            let line = &lines[*single];
            !line.whole_link && !has_trailing_date(&line.plain)
        }
        [_, _, ..] => story_ends_with_colon,
        [] => false,
    };
    for (index, line) in lines.iter_mut().enumerate().skip(end + 1) {
        let new_role = match (&line.role, &line.intrinsic) {
            (Role::Open, _) if keep_adjoining && adjoining.contains(&index) => Role::Body,
            (Role::Open, _) => Role::Drop(reason::RELATED_HEADLINES),
            (_, Intrinsic::Number) => Role::Drop(reason::RELATED_HEADLINES),
            (_, Intrinsic::DateLike { explicit: false }) => Role::Drop(reason::RELATED_HEADLINES),
            (role, _) => *role,
        };
        line.role = new_role;
    }
}

/// A page without any paragraph: a headline may still stand above furniture,
/// but a list of three or more headlines has no headline of its own.
fn resolve_furniture_only(lines: &mut [Line], hint_title: Option<&str>) -> Option<usize> {
    let open: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].role == Role::Open)
        .collect();
    let markdown_title = open
        .iter()
        .copied()
        .find(|&i| lines[i].heading_level == 1 && has_letter(&lines[i].plain));
    let title_index = find_hint_title(lines, hint_title)
        .or(markdown_title)
        .or_else(|| {
            let headline_like = open
                .iter()
                .filter(|&&i| is_headline_like(&lines[i]))
                .count();
            (headline_like < 3)
                .then(|| {
                    open.iter().copied().find(|&i| {
                        is_headline_like(&lines[i]) && lines[i].words >= 3 && !lines[i].whole_link
                    })
                })
                .flatten()
        });
    for index in open {
        lines[index].role = if Some(index) == title_index {
            Role::Drop(reason::TITLE)
        } else if lines[index].words <= 4 && title_index.is_none_or(|title| index < title) {
            Role::Drop(reason::NAVIGATION)
        } else {
            Role::Drop(reason::RELATED_HEADLINES)
        };
    }
    for line in lines.iter_mut() {
        if line.intrinsic == Intrinsic::Number {
            line.role = Role::Drop(reason::RELATED_HEADLINES);
        }
    }
    title_index
}

fn drop_title_repeats(lines: &mut [Line], title_index: Option<usize>) {
    let Some(title_index) = title_index else {
        return;
    };
    let title = lines[title_index].plain.clone();
    for (index, line) in lines.iter_mut().enumerate() {
        if index != title_index && line.plain == title && line.role != Role::Drop(reason::DUPLICATE)
        {
            line.role = Role::Drop(reason::TITLE);
        }
    }
}

/// `১০: ১৫` → `১০:১৫`: some sites space the clock, which date parsers read
/// as a label and a number.
fn close_spaced_clock(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    for (index, &c) in chars.iter().enumerate() {
        let spaced_clock = c == ' '
            && index >= 2
            && chars[index - 1] == ':'
            && chars[index - 2].is_numeric()
            && chars.get(index + 1).is_some_and(|next| next.is_numeric());
        if !spaced_clock {
            out.push(c);
        }
    }
    out
}

/// `সূত্র: আল জাজিরা`, `– রয়টার্স` or `(এএফপি)` closing the last paragraph.
fn trailing_credit(paragraph: &str) -> Option<String> {
    let trimmed = paragraph.trim_end();
    let terminator = trimmed.rfind(['।', '॥', '.', '?', '!'])?;
    let after = trimmed[terminator..]
        .trim_start_matches(['।', '॥', '.', '?', '!', '’', '”', '"', '\''])
        .trim();
    if after.is_empty() {
        return None;
    }
    source_credit(after)
}

fn assemble(
    lines: &[Line],
    story: Option<Story>,
    title_index: Option<usize>,
    hints: &PageHints,
) -> Extracted {
    let mut body = Vec::new();
    let mut dropped = Vec::new();
    let mut published = None;
    let mut updated = None;
    let mut source = None;
    let mut byline_found = None;
    for (index, line) in lines.iter().enumerate() {
        match line.role {
            Role::Body | Role::Open => {
                for ad in &line.ads {
                    dropped.push(Dropped {
                        line: ad.clone(),
                        reason: reason::AD.to_owned(),
                    });
                }
                if !line.text.is_empty() {
                    body.push(line.text.clone());
                }
            }
            Role::Drop(why) => {
                dropped.push(Dropped {
                    line: line.original.clone(),
                    reason: why.to_owned(),
                });
            }
        }
        let in_header = story.is_none_or(|s| index < s.start);
        match &line.intrinsic {
            // Only the page's own dateline: one that says so, or a bare date
            // above the story (list items below it carry dates too).
            Intrinsic::DateLike { explicit }
                if line.role == Role::Drop(reason::DATELINE) && (*explicit || in_header) =>
            {
                if let Some(dateline) = parse_dateline(&close_spaced_clock(&line.plain)) {
                    if published.is_none() {
                        published = dateline.published;
                    }
                    if updated.is_none() {
                        updated = dateline.updated;
                    }
                }
            }
            Intrinsic::Source(value) => {
                source.get_or_insert_with(|| value.clone());
            }
            Intrinsic::Url if !in_header => {
                source.get_or_insert_with(|| line.plain.clone());
            }
            Intrinsic::Byline(value) if line.role == Role::Drop(reason::BYLINE) => {
                byline_found.get_or_insert_with(|| value.clone());
            }
            _ => {}
        }
        if line.role == Role::Drop(reason::BYLINE) && byline_found.is_none() {
            byline_found = Some(line.plain.clone());
        }
    }
    if source.is_none() {
        source = body.last().and_then(|last| trailing_credit(last));
    }
    let title = hints
        .title
        .clone()
        .or_else(|| title_index.map(|index| lines[index].plain.clone()));
    Extracted {
        title,
        published: hints.published.clone().or(published),
        updated: hints.updated.clone().or(updated),
        source: hints.source.clone().or(source),
        byline: hints.byline.clone().or(byline_found),
        body,
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    fn extract(text: &str) -> Extracted {
        extract_page(text, &PageHints::default())
    }

    fn reason_of<'a>(extracted: &'a Extracted, line: &str) -> Option<&'a str> {
        extracted
            .dropped
            .iter()
            .find(|d| d.line == line)
            .map(|d| d.reason.as_str())
    }

    fn pages_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages")
    }

    type GoldPage = (String, String, serde_json::Value);

    /// Every `<name>.gold.json` with its page (`<name>.txt` or `<name>.md`),
    /// read once per test run.
    fn gold_pages() -> &'static [GoldPage] {
        static PAGES: std::sync::OnceLock<Vec<GoldPage>> = std::sync::OnceLock::new();
        PAGES.get_or_init(read_gold_pages)
    }

    fn read_gold_pages() -> Vec<GoldPage> {
        let mut pages = Vec::new();
        let entries = std::fs::read_dir(pages_dir()).expect("fixture folder tests/fixtures/pages");
        for entry in entries {
            let path = entry.expect("readable fixture entry").path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".gold.json") else {
                continue;
            };
            let page = ["txt", "md"]
                .iter()
                .map(|ext| pages_dir().join(format!("{stem}.{ext}")))
                .find(|candidate| candidate.exists())
                .unwrap_or_else(|| panic!("no page for {name}"));
            let gold: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("gold readable"))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let text = std::fs::read_to_string(&page).expect("page readable");
            pages.push((stem.to_owned(), text, gold));
        }
        pages.sort_by(|a, b| a.0.cmp(&b.0));
        pages
    }

    fn gold_body(gold: &serde_json::Value) -> Vec<String> {
        serde_json::from_value(gold["body"].clone()).expect("body is a list of strings")
    }

    fn gold_field(gold: &serde_json::Value, key: &str) -> Option<String> {
        serde_json::from_value(gold[key].clone()).expect("string or null")
    }

    #[test]
    fn gold_pages_match_exactly() {
        let pages = gold_pages();
        assert!(pages.len() >= 13, "only {} gold pages", pages.len());
        let mut failures = Vec::new();
        for (name, text, gold) in pages {
            let got = extract(text);
            let mut check = |field: &str, want: Option<String>, have: &Option<String>| {
                if &want != have {
                    failures.push(format!("{name}: {field}: want {want:?}, got {have:?}"));
                }
            };
            check("title", gold_field(gold, "title"), &got.title);
            check("published", gold_field(gold, "published"), &got.published);
            check("source", gold_field(gold, "source"), &got.source);
            if gold.get("updated").is_some() {
                check("updated", gold_field(gold, "updated"), &got.updated);
            }
            let want_body = gold_body(gold);
            if want_body != got.body {
                failures.push(format!(
                    "{name}: body differs\n  want: {want_body:#?}\n  got: {:#?}\n  dropped: {:#?}",
                    got.body, got.dropped
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(pages_dir().join(name)).expect("fixture page")
    }

    #[test]
    fn real_pages_drop_each_kind_of_furniture_with_its_reason() {
        let kcna = extract(&fixture("real-kcna-troops-kursk.txt"));
        assert_eq!(reason_of(&kcna, "আরআর/এসএন"), Some(reason::INITIALS));
        assert_eq!(
            reason_of(&kcna, "Share this news on:"),
            Some(reason::SHARE_PROMPT)
        );
        assert_eq!(reason_of(&kcna, "img"), Some(reason::EMPTY_MARKER));
        assert_eq!(reason_of(&kcna, "সর্বশেষ"), Some(reason::TABS));
        assert_eq!(
            reason_of(&kcna, "লবণ মাঠে বজ্রপাতে প্রাণ গেল শ্রমিকের Apr 29, 2025"),
            Some(reason::RELATED_HEADLINES)
        );
        // The body's `সোমবার (২৮ এপ্রিল)` is an event date, not the dateline.
        assert_eq!(kcna.published, None);

        let kalbela = extract(&fixture("real-kalbela-kim-self-defence.txt"));
        let caption = "রাশিয়ার প্রতিরক্ষামন্ত্রীর আন্দ্রেই বেলোসোভের সঙ্গে বৈঠকে এ মন্তব্য করেন উত্তর কোরিয়ার নেতা কিম জং অন। ছবি : সংগৃহীত";
        let reasons: Vec<&str> = kalbela
            .dropped
            .iter()
            .filter(|d| d.line == caption)
            .map(|d| d.reason.as_str())
            .collect();
        assert_eq!(reasons, vec![reason::CAPTION, reason::DUPLICATE]);
        assert_eq!(
            reason_of(&kalbela, "মন্তব্য করুন"),
            Some(reason::COMMENT_WIDGET)
        );
        assert_eq!(
            reason_of(&kalbela, "অনলাইন সংস্করণ"),
            Some(reason::NAVIGATION)
        );
        assert_eq!(reason_of(&kalbela, "১০"), Some(reason::RELATED_HEADLINES));
        assert_eq!(reason_of(&kalbela, "X"), Some(reason::EMPTY_MARKER));
        assert_eq!(kalbela.byline.as_deref(), Some("কালবেলা ডেস্ক"));
    }

    const STORY_ONE: &str = "উত্তর কোরিয়া প্রথমবারের মতো রাশিয়ায় সেনা পাঠানোর কথা নিশ্চিত করেছে।";
    const STORY_TWO: &str = "কুরস্ক অঞ্চলে তাদের বাহিনী লড়াই করেছে বলে কেসিএনএ জানিয়েছে।";

    #[test]
    fn a_paragraph_repeated_next_to_itself_is_kept_once() {
        let page = format!("{STORY_ONE}\n{STORY_ONE}\n\n{STORY_TWO}");
        let got = extract(&page);
        assert_eq!(got.body, vec![STORY_ONE, STORY_TWO]);
        assert_eq!(reason_of(&got, STORY_ONE), Some(reason::DUPLICATE));
    }

    #[test]
    fn short_line_followed_by_photo_credit_is_a_caption() {
        let page = format!("{STORY_ONE}\n\nপিয়ংইয়ংয়ে সামরিক কুচকাওয়াজ\nছবি: রয়টার্স\n\n{STORY_TWO}");
        let got = extract(&page);
        assert_eq!(got.body, vec![STORY_ONE, STORY_TWO]);
        assert_eq!(
            reason_of(&got, "পিয়ংইয়ংয়ে সামরিক কুচকাওয়াজ"),
            Some(reason::CAPTION)
        );
        assert_eq!(reason_of(&got, "ছবি: রয়টার্স"), Some(reason::CAPTION));
        // The photo credit is not the story's source.
        assert_eq!(got.source, None);
    }

    #[test]
    fn a_subheading_between_paragraphs_is_kept() {
        let page = format!("{STORY_ONE}\n\nযা বলছে দক্ষিণ কোরিয়া\n\n{STORY_TWO}");
        assert_eq!(
            extract(&page).body,
            vec![STORY_ONE, "যা বলছে দক্ষিণ কোরিয়া", STORY_TWO]
        );
    }

    #[test]
    fn inserted_question_headline_is_a_link_but_the_storys_own_question_stays() {
        let page = format!(
            "{STORY_ONE}\n\nকেন রাশিয়ায় সেনা পাঠাল উত্তর কোরিয়া?\n\n{STORY_TWO}\n\nতাহলে কি যুদ্ধ আরও দীর্ঘ হবে?\n\n{STORY_ONE}"
        );
        let got = extract(&page);
        assert_eq!(
            reason_of(&got, "কেন রাশিয়ায় সেনা পাঠাল উত্তর কোরিয়া?"),
            Some(reason::RELATED_HEADLINES)
        );
        assert!(got.body.iter().any(|p| p == "তাহলে কি যুদ্ধ আরও দীর্ঘ হবে?"));
    }

    #[test]
    fn related_headlines_after_the_story_are_dropped_on_any_site() {
        let page = format!(
            "{STORY_ONE}\n\n{STORY_TWO}\n\nশেয়ার করুন\n\n১\nবন্যায় ক্ষতিগ্রস্ত ৫০ হাজার পরিবার\n২\nরাজধানীতে বৃষ্টি, জলাবদ্ধতা\n৩\nক্রিকেটে নতুন অধিনায়ক"
        );
        let got = extract(&page);
        assert_eq!(got.body, vec![STORY_ONE, STORY_TWO]);
        for line in ["বন্যায় ক্ষতিগ্রস্ত ৫০ হাজার পরিবার", "২", "ক্রিকেটে নতুন অধিনায়ক"]
        {
            assert_eq!(
                reason_of(&got, line),
                Some(reason::RELATED_HEADLINES),
                "{line}"
            );
        }
    }

    #[test]
    fn one_stray_line_right_after_the_story_is_kept() {
        let page = format!("{STORY_ONE}\n\n{STORY_TWO}\n\n(প্রতিবেদনটি হালনাগাদ করা হচ্ছে)");
        assert_eq!(
            extract(&page).body,
            vec![STORY_ONE, STORY_TWO, "(প্রতিবেদনটি হালনাগাদ করা হচ্ছে)"]
        );
    }

    #[test]
    fn a_list_introduced_by_a_colon_stays_in_the_body() {
        let page = format!(
            "{STORY_ONE}\n\nবিক্ষোভকারীদের দাবিগুলো হলো:\n১. সব রাজবন্দির মুক্তি\n২. নিরপেক্ষ তদন্ত কমিশন\n\nআরআর/এসএন"
        );
        let got = extract(&page);
        assert_eq!(
            got.body,
            vec![
                STORY_ONE,
                "বিক্ষোভকারীদের দাবিগুলো হলো:",
                "১. সব রাজবন্দির মুক্তি",
                "২. নিরপেক্ষ তদন্ত কমিশন",
            ]
        );
    }

    #[test]
    fn inline_ad_placeholders_are_cut_out_and_reported() {
        let page = format!("{STORY_ONE} [বিজ্ঞাপন_২] {STORY_TWO}\n\n[Advertisement]");
        let got = extract(&page);
        assert_eq!(got.body, vec![format!("{STORY_ONE} {STORY_TWO}")]);
        let ads: Vec<&str> = got
            .dropped
            .iter()
            .filter(|d| d.reason == reason::AD)
            .map(|d| d.line.as_str())
            .collect();
        assert_eq!(ads, vec!["[বিজ্ঞাপন_২]", "[Advertisement]"]);
        // Brackets that are not ads stay.
        assert_eq!(strip_inline_ads("দেখুন [১] ও [adam]").0, "দেখুন [১] ও [adam]");
    }

    #[test]
    fn page_without_headline_has_no_title() {
        let got = extract(&format!("{STORY_ONE}\n\n{STORY_TWO}"));
        assert_eq!(got.title, None);
        assert_eq!(got.body, vec![STORY_ONE, STORY_TWO]);
    }

    #[test]
    fn reporter_name_above_the_dateline_is_the_byline() {
        let page = format!(
            "রাশিয়ায় সেনা পাঠিয়েছে উত্তর কোরিয়া\n\nরাহীদ এজাজ\nপ্রকাশ: ০১ ডিসেম্বর ২০২৪, ১২:৪৩ পিএম\n\n{STORY_ONE}"
        );
        let got = extract(&page);
        assert_eq!(got.title.as_deref(), Some("রাশিয়ায় সেনা পাঠিয়েছে উত্তর কোরিয়া"));
        assert_eq!(got.byline.as_deref(), Some("রাহীদ এজাজ"));
        assert_eq!(got.published.as_deref(), Some("2024-12-01T12:43:00+06:00"));
        assert_eq!(got.body, vec![STORY_ONE]);
    }

    #[test]
    fn credits_in_every_common_form_give_the_source() {
        for (credit, source) in [
            ("– রয়টার্স", "রয়টার্স"),
            ("(এএফপি)", "এএফপি"),
            ("তথ্যসূত্র: বিবিসি, আল জাজিরা", "বিবিসি, আল জাজিরা"),
            ("Source: Reuters", "Reuters"),
            ("সূত্রঃ দ্য গার্ডিয়ান।", "দ্য গার্ডিয়ান"),
        ] {
            let got = extract(&format!("{STORY_ONE}\n\n{credit}"));
            assert_eq!(got.source.as_deref(), Some(source), "{credit}");
            assert_eq!(got.body, vec![STORY_ONE], "{credit}");
            assert_eq!(reason_of(&got, credit), Some(reason::SOURCE_CREDIT));
        }
        // A credit closing the last paragraph names the source; the paragraph
        // itself is left as it was.
        let inline = format!("{STORY_ONE} সূত্র: আল জাজিরা");
        let got = extract(&inline);
        assert_eq!(got.source.as_deref(), Some("আল জাজিরা"));
        assert_eq!(got.body, vec![inline]);
        // `সূত্র জানায়` (sources said) opens a sentence, it is no credit.
        let sentence = "সূত্র জানায়, বৈঠকে দুই দেশের প্রতিরক্ষা সহযোগিতা নিয়ে আলোচনা হয়েছে।";
        let got = extract(sentence);
        assert_eq!(got.source, None);
        assert_eq!(got.body, vec![sentence]);
    }

    #[test]
    fn credits_whose_case_changes_length_do_not_panic() {
        let got = extract(&format!("{STORY_ONE}\n\nSource: İSTANBUL TİMES\nBy: KİM"));
        assert_eq!(got.source.as_deref(), Some("i̇stanbul ti̇mes"));
        assert_eq!(got.byline.as_deref(), Some("ki̇m"));
        let kept_case = extract(&format!("{STORY_ONE}\n\nSource: Reuters"));
        assert_eq!(kept_case.source.as_deref(), Some("Reuters"));
    }

    #[test]
    fn hints_win_over_what_the_text_says() {
        let page = fixture("real-kalbela-kim-self-defence.txt");
        let hints = PageHints {
            title: Some("কিম: রাশিয়ার আত্মরক্ষার অধিকার আছে".to_owned()),
            published: Some("2024-12-01T06:43:00Z".to_owned()),
            updated: Some("2024-12-02".to_owned()),
            source: Some("Reuters".to_owned()),
            byline: Some("Desk".to_owned()),
        };
        let got = extract_page(&page, &hints);
        assert_eq!(got.title, hints.title);
        assert_eq!(got.published, hints.published);
        assert_eq!(got.updated, hints.updated);
        assert_eq!(got.source, hints.source);
        assert_eq!(got.byline, hints.byline);
        // The page's own headline still leaves the body.
        assert_eq!(got.body, extract(&page).body);
    }

    #[test]
    fn hint_title_found_in_the_page_is_dropped_as_title() {
        let page = format!("অনলাইন ডেস্ক\n\nসেনা পাঠাল উত্তর কোরিয়া\n\n{STORY_ONE}");
        let hints = PageHints {
            title: Some("সেনা পাঠাল উত্তর কোরিয়া".to_owned()),
            ..PageHints::default()
        };
        let got = extract_page(&page, &hints);
        assert_eq!(reason_of(&got, "সেনা পাঠাল উত্তর কোরিয়া"), Some(reason::TITLE));
        assert_eq!(got.body, vec![STORY_ONE]);
    }

    #[test]
    fn empty_and_furniture_only_input_give_an_empty_body() {
        let empty = extract("");
        assert!(empty.body.is_empty() && empty.dropped.is_empty());
        assert_eq!(empty.title, None);
        let furniture = extract("img\nX\nShare this news on:\nমন্তব্য করুন\n১\n২");
        assert!(furniture.body.is_empty());
        assert_eq!(furniture.dropped.len(), 6);
    }

    // ---- properties -------------------------------------------------------

    /// Lines that exercise every rule, for building random pages.
    const LINE_POOL: &[&str] = &[
        STORY_ONE,
        STORY_TWO,
        "কিম বলেছেন, ‘যারা লড়াই করেছেন তারা সকলেই বীর।’",
        "ইউক্রেন যুদ্ধে রাশিয়ার পক্ষে সেনা পাঠাতে প্রস্তুত কিম",
        "কালবেলা ডেস্ক",
        "প্রকাশ : ০১ ডিসেম্বর ২০২৪, ১২:৪৩ পিএম",
        "- আপডেট সময় ০১:২৮:৩১ অপরাহ্ন, রবিবার, ১৩ জুলাই ২০২৫",
        "Published : 14 Jul 2025, 08:15 PM",
        "আরআর/এসএন",
        "Share this news on:",
        "মন্তব্য করুন",
        "• সর্বশেষ",
        "img",
        "X",
        "১০",
        "লবণ মাঠে বজ্রপাতে প্রাণ গেল শ্রমিকের Apr 29, 2025",
        "কেন রাশিয়ায় সেনা পাঠাল উত্তর কোরিয়া?",
        "আরও পড়ুন",
        "আরও পড়ুন: নতুন বাজেটে কী থাকছে",
        "বৈঠকে কিম। ছবি : সংগৃহীত",
        "ছবি: রয়টার্স",
        "সূত্র: আল জাজিরা",
        "(এএফপি)",
        "– রয়টার্স",
        "[বিজ্ঞাপন_২]",
        "কিম বলেন [বিজ্ঞাপন_১] যুদ্ধ চলবে।",
        "# শিরোনাম এখানে",
        "**নিজস্ব প্রতিবেদক**",
        "[লিংক](https://example.com)",
        "![ছবি](https://example.com/a.jpg)",
        "প্রচ্ছদ » আন্তর্জাতিক",
        "বিষয়: রাশিয়া",
        "দাবিগুলো হলো:",
        "১. প্রথম দাবি",
        "",
        " ",
        "[",
        "]",
        "[বিজ্ঞাপন",
        "সূত্র:",
        "ছবি:",
        "/",
        "//",
        "-",
        "(",
        "()",
    ];

    fn pool_page() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(LINE_POOL), 0..30)
            .prop_map(|lines| lines.join("\n"))
    }

    /// What the body may contain: the normalized input with ad placeholders
    /// cut out, the only edit extraction makes.
    fn allowed_text(input: &str) -> String {
        normalize(input)
            .lines()
            .map(|line| strip_inline_ads(line).0)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn check_never_invents(input: &str) -> Result<(), TestCaseError> {
        let got = extract(input);
        let normalized = normalize(input);
        let allowed = allowed_text(input);
        let cut_ads = got.dropped.iter().any(|d| d.reason == reason::AD);
        for paragraph in &got.body {
            prop_assert!(!paragraph.is_empty());
            prop_assert!(allowed.contains(paragraph.as_str()), "{:?}", paragraph);
            if !cut_ads {
                prop_assert!(normalized.contains(paragraph.as_str()), "{:?}", paragraph);
            }
        }
        for dropped in &got.dropped {
            prop_assert!(normalized.contains(dropped.line.as_str()), "{:?}", dropped);
        }
        Ok(())
    }

    /// Furniture that sits above a story.
    const HEADER_FURNITURE: &[&str] = &[
        "নিজস্ব প্রতিবেদক",
        "প্রকাশ: ১৪ জুলাই ২০২৫, ১০:১৫ পিএম",
        "আপডেট: ১৪ জুলাই ২০২৫, ১১:০২ পিএম",
        "প্রচ্ছদ » জাতীয়",
        "অনলাইন সংস্করণ",
        "ফলো করুন",
        "img",
        "X",
        "Share this news on:",
    ];

    /// Furniture that sites put between paragraphs (lines of one unit are
    /// joined by single line breaks).
    const INLINE_FURNITURE: &[&str] = &[
        "[বিজ্ঞাপন_১]",
        "বিজ্ঞাপন",
        "img",
        "X",
        "আরও পড়ুন: নতুন বাজেটে কী থাকছে",
        "আরও পড়ুন\nবন্যায় ক্ষতিগ্রস্ত কৃষকেরা সহায়তা পাবেন কবে",
        "কেন বাড়ছে চালের দাম?",
        "বৈঠকে উপস্থিত নেতারা। ছবি: সংগৃহীত\nবৈঠকে উপস্থিত নেতারা। ছবি: সংগৃহীত",
        "নদীর তীরে অপেক্ষমাণ মানুষ\nছবি: রয়টার্স",
        "শেয়ার করুন",
        "সবচেয়ে বেশি পঠিত\n1. ঢাকায় বাড়িভাড়া কেন এত বাড়ছে\n2. পদ্মা সেতুতে রেকর্ড টোল আদায়\nEnd of সবচেয়ে বেশি পঠিত",
    ];

    /// What may open the furniture below a story.
    const TAIL_SEPARATORS: &[&str] = &[
        "আরআর/এসএন",
        "Share this news on:",
        "মন্তব্য করুন",
        "সর্বশেষ",
        "সূত্র: রয়টার্স",
    ];

    const TAIL_FURNITURE: &[&str] = &[
        "img",
        "১",
        "২",
        "X",
        "ভয়াল ২৯ এপ্রিল, এখনো অরক্ষিত উপকূল Apr 29, 2025",
        "দাবি আদায় না হওয়া পর্যন্ত বন্ধ থাকবে সব পলিটেকনিক",
        "ঘুম কম হলে কি শুক্রাণুর মান কমে যায়? যা বলছে গবেষণা",
        "মন্তব্য করুন",
        "• জনপ্রিয়",
    ];

    /// Which gold page, which header furniture, which inline furniture in
    /// which gap, which tail separator, which tail furniture.
    type Layout = (usize, Vec<usize>, Vec<(usize, usize)>, usize, Vec<usize>);

    fn furniture_layout() -> impl Strategy<Value = Layout> {
        (
            any::<usize>(),
            prop::collection::vec(0..HEADER_FURNITURE.len(), 0..6),
            prop::collection::vec((0..INLINE_FURNITURE.len(), any::<usize>()), 0..8),
            0..TAIL_SEPARATORS.len(),
            prop::collection::vec(0..TAIL_FURNITURE.len(), 0..10),
        )
    }

    /// A page of many lines (the pool repeated, up to a few MB) ending in
    /// one very long line.
    fn wide_page() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(prop::sample::select(LINE_POOL), 1..30),
            1..2_000usize,
            0..300_000usize,
        )
            .prop_map(|(lines, repeat, long_line)| {
                let mut page = format!("{}\n", lines.join("\n")).repeat(repeat);
                page.push_str(&"রাশিয়া ".repeat(long_line / 8));
                page
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(4)))]

        #[test]
        fn wide_pages_are_extracted_in_bounded_time(page in wide_page()) {
            // 2 s in a release build (the long fuzz run); unoptimized code
            // is several times slower.
            let limit = std::time::Duration::from_secs(if cfg!(debug_assertions) { 10 } else { 2 });
            let started = std::time::Instant::now();
            let got = extract(&page);
            let elapsed = started.elapsed();
            prop_assert!(elapsed < limit, "{} bytes took {:?}", page.len(), elapsed);
            prop_assert!(got.body.iter().all(|p| !p.is_empty()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(512)))]

        #[test]
        fn never_panics_and_never_invents_text_on_any_string(input in any::<String>()) {
            check_never_invents(&input)?;
        }

        #[test]
        fn never_panics_and_never_invents_text_on_page_like_input(input in pool_page()) {
            check_never_invents(&input)?;
        }

        #[test]
        fn no_gold_sentence_is_lost_when_furniture_is_shuffled_around_it(
            (page_pick, header, inline, separator, tail) in furniture_layout()
        ) {
            let pages: Vec<_> = gold_pages()
                .iter()
                .filter(|(_, _, gold)| !gold_body(gold).is_empty())
                .collect();
            let (name, _, gold) = &pages[page_pick % pages.len()];
            let body = gold_body(gold);
            let mut units: Vec<String> = Vec::new();
            if let Some(title) = gold_field(gold, "title") {
                units.push(title);
            }
            units.extend(header.iter().map(|&i| HEADER_FURNITURE[i].to_owned()));
            let mut gaps: Vec<Vec<&str>> = vec![Vec::new(); body.len()];
            for &(furniture, gap) in &inline {
                // Only between paragraphs: the story starts and ends with its own.
                if body.len() > 1 {
                    gaps[1 + gap % (body.len() - 1)].push(INLINE_FURNITURE[furniture]);
                }
            }
            for (paragraph, inserted) in body.iter().zip(&gaps) {
                units.extend(inserted.iter().map(|s| (*s).to_owned()));
                units.push(paragraph.clone());
            }
            units.push(TAIL_SEPARATORS[separator].to_owned());
            units.extend(tail.iter().map(|&i| TAIL_FURNITURE[i].to_owned()));
            let page = units.join("\n\n");

            let got = extract(&page);
            for paragraph in &body {
                for sentence in crate::text::split_sentences(paragraph) {
                    prop_assert!(
                        got.body.iter().any(|p| p.contains(&sentence)),
                        "{}: lost {:?}\npage:\n{}\nbody: {:#?}",
                        name, sentence, page, got.body
                    );
                }
            }
        }
    }
}
