//! `digest.html` and each article's `<id>.html`: self-contained pages
//! (styles inlined, no scripts, fonts or images) for reading in a browser or
//! on a phone, in light or dark mode. Both are built from the same style
//! sheet, page frame and escaping.

use crate::output::article::{ArticleOutput, SentencePair};
use crate::output::view::{
    article_date, english_title, group_heading, is_extractive, known, model_line, single_line,
    source_name, DigestScope, DigestStories, INTRO_LABEL,
};
use crate::output::warning::{Place, Warning};
use crate::output::{FailedInput, DIGEST_HTML_FILE_NAME};
use crate::text::english;

/// Inline style sheet of every page: system fonts only, one readable column
/// on any width (an article's Bengali beside its English on a wide screen,
/// below it on a phone), and colours that follow the reader's dark mode.
const PAGE_CSS: &str = "\
:root{color-scheme:light dark;--bg:#fdfdfc;--fg:#1c1c1e;--muted:#5f6368;--rule:#dcdcdc;\
--link:#0b57d0;--warn-bg:#fff4e0;--warn-fg:#7a4a00;--card:#ffffff}\
@media (prefers-color-scheme:dark){:root{--bg:#121214;--fg:#e8e8ea;--muted:#a0a4aa;\
--rule:#3a3a3e;--link:#8ab4f8;--warn-bg:#3a2a0c;--warn-fg:#ffd38a;--card:#1c1c20}}\
*{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\
body{margin:0;background:var(--bg);color:var(--fg);\
font:1.0625rem/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",\"Helvetica Neue\",Arial,sans-serif}\
main{max-width:42rem;margin:0 auto;padding:1rem 1rem 3rem}\
header{border-bottom:1px solid var(--rule);margin-bottom:1.25rem}\
h1{font-size:1.6rem;line-height:1.2;margin:.5rem 0}\
.batch{color:var(--muted);margin:.25rem 0 1rem}\
h2.group{font-size:.95rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);\
margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--rule)}\
section.group>article{border-left:3px solid var(--rule);padding-left:.85rem}\
article{background:var(--card);margin:0 0 1.5rem;padding:.75rem 1rem;border-radius:.5rem}\
article h2,article h3{font-size:1.25rem;line-height:1.3;margin:0 0 .25rem}\
a{color:var(--link);text-underline-offset:.15em}\
h2 a,h3 a{text-decoration:none}h2 a:hover,h3 a:hover{text-decoration:underline}\
.meta{color:var(--muted);font-size:.9rem;margin:0 0 .5rem}\
.summary{margin:.5rem 0;overflow-wrap:anywhere}\
.method{display:inline-block;font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;\
color:var(--muted);border:1px solid var(--rule);border-radius:.25rem;padding:0 .35rem;margin-right:.4rem}\
.warnings{background:var(--warn-bg);color:var(--warn-fg);border-radius:.35rem;\
padding:.4rem .75rem .4rem 1.75rem;margin:.5rem 0;font-size:.9rem}\
details{margin:.5rem 0}\
summary{cursor:pointer;color:var(--link);font-size:.95rem}\
.bn{font-family:\"Noto Sans Bengali\",\"Noto Serif Bengali\",\"Kohinoor Bangla\",\"Bangla Sangam MN\",\
Vrinda,\"Nirmala UI\",system-ui,sans-serif;line-height:1.8}\
.bn-title{font-weight:600}\
.failed li{overflow-wrap:anywhere}\
.inputs{color:var(--muted);font-size:.85rem;margin:.25rem 0 .5rem;overflow-wrap:anywhere}\
.inputs code,footer code{overflow-wrap:anywhere}\
.back{font-size:.9rem;margin:.25rem 0}\
h2.part{font-size:1.1rem;color:var(--muted);margin:1.75rem 0 .5rem}\
.para{margin:0 0 1.25rem;padding-bottom:.75rem;border-bottom:1px solid var(--rule)}\
.para p{margin:.25rem 0;overflow-wrap:anywhere}\
.para .bn{color:var(--muted);font-size:1rem}\
.flagged{text-decoration:underline wavy var(--warn-fg);text-underline-offset:.2em}\
.flag{display:inline;background:var(--warn-bg);color:var(--warn-fg);border-radius:.25rem;\
padding:0 .3rem;font-size:.85rem;margin:0 .15rem}\
p.flag{display:block;padding:.2rem .5rem;margin:.35rem 0}\
@media (min-width:64rem){main.article{max-width:68rem}\
.para{display:grid;grid-template-columns:1fr 1fr;column-gap:2rem}.para p.flag{grid-column:1/-1}}\
footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--rule);margin-top:2rem;padding-top:.75rem}\
footer p{margin:.35rem 0}";

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// The link to the article's own page, when it is an `http(s)` address;
/// anything else (`javascript:`, `data:`, a local path) is not linked.
fn web_link(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let is_web = lower.starts_with("https://") || lower.starts_with("http://");
    if !is_web {
        return None;
    }
    Some(
        url.chars()
            .filter(|c| *c == ' ' || !(c.is_whitespace() || c.is_control()))
            .map(|c| {
                if c == ' ' {
                    "%20".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// An ISO 8601 date or date-time (`2024-12-01`, `2024-12-01T12:43:00+06:00`)
/// for a reader: "1 Dec 2024" or "1 Dec 2024, 12:43" in the time zone the
/// source gave. `None` when the text is not such a date; it is then shown
/// as written.
pub(crate) fn readable_date(iso: &str) -> Option<String> {
    let bytes = iso.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = iso.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0..4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(5..7).filter(|m| (1..=12).contains(m))?;
    let day = digits(8..10).filter(|d| (1..=31).contains(d))?;
    let (_, month_abbreviation) = english::MONTHS[month as usize - 1];
    let date = format!("{day} {month_abbreviation} {year}");
    match bytes.get(10) {
        None => Some(date),
        Some(b'T' | b' ') => {
            let hour = digits(11..13).filter(|h| *h < 24)?;
            let minute = digits(14..16).filter(|m| *m < 60)?;
            if bytes.get(13) != Some(&b':') {
                return None;
            }
            Some(format!("{date}, {hour:02}:{minute:02}"))
        }
        Some(_) => None,
    }
}

/// `<time>` for a date the reader can read and a machine can parse, or
/// the text as given when it is no ISO date.
pub(crate) fn html_time(value: &str) -> String {
    match readable_date(value) {
        Some(readable) => format!(
            "<time datetime=\"{}\">{}</time>",
            escape_html(value),
            escape_html(&readable)
        ),
        None => escape_html(value),
    }
}

/// "1 Dec 2024 – 28 Apr 2025", from the dates of the stories that have one.
fn date_range(articles: &[ArticleOutput]) -> Option<String> {
    let mut days: Vec<&str> = articles
        .iter()
        .filter_map(article_date)
        .filter_map(|d| d.get(0..10))
        .filter(|d| readable_date(d).is_some())
        .collect();
    days.sort_unstable();
    let first = readable_date(days.first()?)?;
    let last = readable_date(days.last()?)?;
    Some(if first == last {
        first
    } else {
        format!("{first} – {last}")
    })
}

/// Everything of a page before its content: the head with the inline
/// style sheet, then `<main class="{class}">`.
fn page_start(title: &str, class: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n<main class=\"{class}\">\n",
        escape_html(title)
    )
}

const PAGE_END: &str = "</main>\n</body>\n</html>\n";

/// The date, and the source linked to the article's own page: "1 Dec 2024,
/// 12:43 · Prothom Alo".
fn meta_parts(article: &ArticleOutput) -> Vec<String> {
    let mut meta: Vec<String> = Vec::new();
    match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => meta.push(html_time(published)),
        (None, Some(updated)) => meta.push(format!("updated {}", html_time(updated))),
        (None, None) => {}
    }
    match (source_name(article), known(&article.url).and_then(web_link)) {
        (Some(source), Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
            escape_html(&url),
            escape_html(&source)
        )),
        (Some(source), None) => meta.push(escape_html(&source)),
        (None, Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">original</a>",
            escape_html(&url)
        )),
        (None, None) => {}
    }
    meta
}

/// The summary, labelled with how it was made.
fn summary_html(article: &ArticleOutput) -> String {
    let summary = single_line(&article.summary.text);
    if summary.is_empty() {
        return "<p class=\"summary\"><em>No summary.</em></p>\n".to_string();
    }
    format!(
        "<p class=\"summary\"><span class=\"method\" title=\"{}\">{}</span>{}</p>\n",
        if is_extractive(&article.summary) {
            "Sentences selected from the translation"
        } else {
            "How this summary was made"
        },
        escape_html(&format!("{} summary", article.summary.method)),
        escape_html(&summary)
    )
}

/// A list of warnings, as the digest shows an article's.
fn warnings_list<'w>(warnings: impl IntoIterator<Item = &'w Warning>) -> String {
    let items: Vec<String> = warnings
        .into_iter()
        .map(|warning| {
            format!(
                "<li>{}</li>\n",
                escape_html(&single_line(&warning.to_string()))
            )
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<ul class=\"warnings\" aria-label=\"Warnings\">\n{}</ul>\n",
        items.concat()
    )
}

/// The file name of an article's page, which the digest links to.
pub(crate) fn article_page_name(id: &str) -> String {
    format!("{id}.html")
}

fn render_story_html(
    html: &mut String,
    article: &ArticleOutput,
    same_text: &[&ArticleOutput],
    heading: &str,
) {
    html.push_str(&format!(
        "<article id=\"story-{}\">\n<{heading}><a href=\"{}\">{}</a></{heading}>\n",
        escape_html(&article.id),
        escape_html(&format!(
            "{}{}",
            article.digest.folder,
            article_page_name(&article.id)
        )),
        escape_html(&english_title(article))
    ));
    let meta = meta_parts(article);
    if !meta.is_empty() {
        html.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }
    if !same_text.is_empty() {
        let inputs: Vec<String> = same_text
            .iter()
            .map(|copy| {
                format!(
                    "<a href=\"{}\"><code>{}</code></a>",
                    escape_html(&format!(
                        "{}{}",
                        copy.digest.folder,
                        article_page_name(&copy.id)
                    )),
                    escape_html(&single_line(&copy.input))
                )
            })
            .collect();
        html.push_str(&format!(
            "<p class=\"inputs\">Same text in {} inputs: {}</p>\n",
            same_text.len(),
            inputs.join(", ")
        ));
    }
    html.push_str(&summary_html(article));
    html.push_str(&warnings_list(&article.warnings));

    let bengali_title = single_line(&article.title.bn);
    let bengali_paragraphs: Vec<String> = article
        .paragraphs
        .iter()
        .map(|paragraph| paragraph_text(paragraph, |pair| &pair.bn))
        .filter(|p| !p.is_empty())
        .collect();
    if !bengali_title.is_empty() || !bengali_paragraphs.is_empty() {
        html.push_str(
            "<details>\n<summary>Bengali original</summary>\n<div class=\"bn\" lang=\"bn\">\n",
        );
        if !bengali_title.is_empty() {
            html.push_str(&format!(
                "<p class=\"bn-title\">{}</p>\n",
                escape_html(&bengali_title)
            ));
        }
        for paragraph in bengali_paragraphs {
            html.push_str(&format!("<p>{}</p>\n", escape_html(&paragraph)));
        }
        html.push_str("</div>\n</details>\n");
    }
    html.push_str("</article>\n");
}

/// A paragraph's sentences in one language as one line of text.
fn paragraph_text(sentences: &[SentencePair], pick: fn(&SentencePair) -> &str) -> String {
    let joined: Vec<String> = sentences
        .iter()
        .map(|pair| single_line(pick(pair)))
        .filter(|s| !s.is_empty())
        .collect();
    joined.join(" ")
}

/// `digest.html`: the digest as one self-contained page (no scripts, fonts
/// or other files), readable on a phone and in dark mode, with each
/// story's Bengali original behind a toggle and its title linking to the
/// article's page. `older_articles` counts the article files in the folder
/// that this run did not write, which the digest leaves out.
pub(crate) fn render_digest_html(
    articles: &[ArticleOutput],
    failed: &[FailedInput],
    intro: Option<&str>,
    scope: &DigestScope,
) -> String {
    let stories = DigestStories::new(articles, scope);
    let mut html = page_start("Anubad digest", "digest");
    html.push_str("<header>\n<h1>Anubad digest</h1>\n");
    html.push_str(&format!(
        "<p class=\"scope\">{}</p>\n",
        escape_html(&stories.scope_line(scope.older_articles))
    ));
    if !articles.is_empty() {
        let mut batch = Vec::new();
        if let Some(range) = date_range(articles) {
            batch.push(escape_html(&range));
        }
        let mut models: Vec<String> = articles
            .iter()
            .map(|a| {
                let licence = known(&a.model.licence).unwrap_or("licence unknown");
                format!("{} ({licence})", single_line(&a.model.name))
            })
            .collect();
        models.sort();
        models.dedup();
        batch.push(format!(
            "translated from Bengali with {}",
            escape_html(&models.join(", "))
        ));
        html.push_str(&format!("<p class=\"batch\">{}</p>\n", batch.join(" · ")));
    }
    if let Some(intro) = intro.map(single_line).filter(|i| !i.is_empty()) {
        html.push_str(&format!(
            "<p class=\"intro\">{}</p>\n<p class=\"method\">{INTRO_LABEL}</p>\n",
            escape_html(&intro)
        ));
    }
    html.push_str("</header>\n");

    for group in &stories.groups {
        let grouped = group.stories.len() > 1;
        if grouped {
            html.push_str(&format!(
                "<section class=\"group\">\n<h2 class=\"group\">{}</h2>\n",
                escape_html(&group_heading(group))
            ));
        }
        for article in &group.stories {
            let heading = if grouped { "h3" } else { "h2" };
            render_story_html(&mut html, article, stories.same_text_as(article), heading);
        }
        if grouped {
            html.push_str("</section>\n");
        }
    }

    if !failed.is_empty() {
        let mut failed: Vec<&FailedInput> = failed.iter().collect();
        failed.sort();
        html.push_str("<section class=\"failed\">\n<h2>Failed inputs</h2>\n<ul>\n");
        for FailedInput { input, reason } in failed {
            html.push_str(&format!(
                "<li><code>{}</code>: {}</li>\n",
                escape_html(&single_line(input)),
                escape_html(&single_line(reason))
            ));
        }
        html.push_str("</ul>\n</section>\n");
    }

    if !articles.is_empty() {
        html.push_str(
            "<footer>Machine translation: names and numbers may be wrong; \
             each title opens the full translation with its Bengali original.</footer>\n",
        );
    }
    html.push_str(PAGE_END);
    html
}

/// One sentence of a paragraph in `<id>.html`, underlined when a warning
/// concerns it, with the warning right after it in the English.
fn sentence_html(text: &str, warnings: &[&Warning], show_warnings: bool) -> String {
    let text = escape_html(&single_line(text));
    if warnings.is_empty() {
        return text;
    }
    let mut html = format!("<span class=\"flagged\">{text}</span>");
    if show_warnings {
        for warning in warnings {
            html.push_str(&format!(
                "<span class=\"flag\" role=\"note\">⚠ {}</span>",
                escape_html(&single_line(&warning.text_at_place()))
            ));
        }
    }
    html
}

/// `<id>.html`: one article for a reader, as self-contained as the digest:
/// English title, summary, the translation paragraph by paragraph with the
/// Bengali beside or below each, every warning next to what it concerns
/// (the article's own at the top), source, date, byline, input, model and
/// licence.
pub(crate) fn render_article_html(article: &ArticleOutput) -> String {
    let title = english_title(article);
    let mut html = page_start(&title, "article");
    html.push_str(&format!(
        "<p class=\"back\"><a href=\"{DIGEST_HTML_FILE_NAME}\">← Digest</a></p>\n"
    ));

    // Warnings whose place is gone (an article edited by hand, or one of an
    // older version) are shown with the article's own.
    let paragraph_count = article.paragraphs.len();
    let in_paragraph = |p: usize| (1..=paragraph_count).contains(&p);
    let has_sentence =
        |p: usize, s: usize| in_paragraph(p) && (1..=article.paragraphs[p - 1].len()).contains(&s);
    let at_top: Vec<&Warning> = article
        .warnings
        .iter()
        .filter(|w| match w.place() {
            Place::Article => true,
            Place::Title => false,
            Place::Paragraph(p) => !in_paragraph(p),
            Place::Sentence {
                paragraph,
                sentence,
            } => !has_sentence(paragraph, sentence),
        })
        .collect();
    let at = |place: Place| -> Vec<&Warning> {
        article
            .warnings
            .iter()
            .filter(|w| w.place() == place)
            .collect()
    };

    html.push_str(&format!("<header>\n<h1>{}</h1>\n", escape_html(&title)));
    let translated_title = single_line(&article.title.en);
    if article.summary.headline.is_some() && !translated_title.is_empty() {
        html.push_str(&format!(
            "<p class=\"meta\">Translated title: {}</p>\n",
            escape_html(&translated_title)
        ));
    }
    for warning in at(Place::Title) {
        html.push_str(&format!(
            "<p class=\"flag\" role=\"note\">⚠ Title: {}</p>\n",
            escape_html(&single_line(&warning.text_at_place()))
        ));
    }
    let bengali_title = single_line(&article.title.bn);
    if !bengali_title.is_empty() {
        html.push_str(&format!(
            "<p class=\"bn bn-title\" lang=\"bn\">{}</p>\n",
            escape_html(&bengali_title)
        ));
    }
    let mut meta = meta_parts(article);
    if let Some(byline) = known(&article.byline) {
        meta.push(format!(
            "<span class=\"byline\" lang=\"bn\">{}</span>",
            escape_html(&single_line(byline))
        ));
    }
    if !meta.is_empty() {
        html.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }
    html.push_str("</header>\n");
    html.push_str(&warnings_list(at_top));

    html.push_str("<h2 class=\"part\">Summary</h2>\n");
    html.push_str(&summary_html(article));

    html.push_str("<h2 class=\"part\">Translation</h2>\n");
    if article.paragraphs.is_empty() {
        html.push_str("<p><em>Only the title was translated.</em></p>\n");
    }
    for (p, paragraph) in (1..).zip(&article.paragraphs) {
        let sentence_warnings: Vec<Vec<&Warning>> = (1..=paragraph.len())
            .map(|s| {
                at(Place::Sentence {
                    paragraph: p,
                    sentence: s,
                })
            })
            .collect();
        let side = |pick: fn(&SentencePair) -> &str, show_warnings: bool| -> String {
            paragraph
                .iter()
                .zip(&sentence_warnings)
                .map(|(pair, warnings)| sentence_html(pick(pair), warnings, show_warnings))
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        html.push_str(&format!(
            "<div class=\"para\" id=\"p{p}\">\n<p class=\"en\">{}</p>\n\
             <p class=\"bn\" lang=\"bn\">{}</p>\n",
            side(|pair| &pair.en, true),
            side(|pair| &pair.bn, false)
        ));
        for warning in at(Place::Paragraph(p)) {
            html.push_str(&format!(
                "<p class=\"flag\" role=\"note\">⚠ Paragraph {p}: {}</p>\n",
                escape_html(&single_line(&warning.text_at_place()))
            ));
        }
        html.push_str("</div>\n");
    }

    html.push_str("<footer>\n");
    html.push_str(&format!(
        "<p>Input: <code>{}</code></p>\n",
        escape_html(&single_line(&article.input))
    ));
    html.push_str(&format!(
        "<p class=\"model\">{}</p>\n",
        model_line(&article.model, escape_html)
    ));
    html.push_str(
        "<p>Machine translation: names and numbers may be wrong; the Bengali original \
         goes with each paragraph.</p>\n</footer>\n",
    );
    html.push_str(PAGE_END);
    html
}
