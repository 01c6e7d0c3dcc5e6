//! `digest.html`: one self-contained page (styles inlined, no scripts) for
//! reading the digest in a browser or on a phone.

use crate::output::sources::display_source_name;

use crate::output::article::ArticleOutput;
use crate::output::view::{
    article_date, digest_groups, english_title, group_heading, is_extractive, known, single_line,
    INTRO_LABEL,
};
use crate::output::FailedInput;
use crate::text::english;

/// Inline style sheet of `digest.html`: system fonts only, one readable
/// column on any width, and colours that follow the reader's dark mode.
const DIGEST_CSS: &str = "\
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
article{background:var(--card);margin:0 0 1.5rem}\
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
footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--rule);margin-top:2rem;padding-top:.75rem}";

/// Escapes text for HTML element content and double-quoted attributes.
fn escape_html(text: &str) -> String {
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

fn render_story_html(html: &mut String, article: &ArticleOutput, heading: &str) {
    html.push_str(&format!(
        "<article id=\"story-{}\">\n<{heading}><a href=\"{}\">{}</a></{heading}>\n",
        escape_html(&article.id),
        escape_html(&format!("{}.md", article.id)),
        escape_html(&english_title(article))
    ));

    let mut meta: Vec<String> = Vec::new();
    match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => meta.push(html_time(published)),
        (None, Some(updated)) => meta.push(format!("updated {}", html_time(updated))),
        (None, None) => {}
    }
    let source = known(&article.source).map(display_source_name);
    match (source.as_deref(), known(&article.url).and_then(web_link)) {
        (Some(source), Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
            escape_html(&url),
            escape_html(source)
        )),
        (Some(source), None) => meta.push(escape_html(source)),
        (None, Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">original</a>",
            escape_html(&url)
        )),
        (None, None) => {}
    }
    if !meta.is_empty() {
        html.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }

    let summary = single_line(&article.summary.text);
    let label = format!("{} summary", article.summary.method);
    if summary.is_empty() {
        html.push_str("<p class=\"summary\"><em>No summary.</em></p>\n");
    } else {
        html.push_str(&format!(
            "<p class=\"summary\"><span class=\"method\" title=\"{}\">{}</span>{}</p>\n",
            if is_extractive(&article.summary) {
                "Sentences selected from the translation"
            } else {
                "How this summary was made"
            },
            escape_html(&label),
            escape_html(&summary)
        ));
    }

    if !article.warnings.is_empty() {
        html.push_str("<ul class=\"warnings\" aria-label=\"Warnings\">\n");
        for warning in &article.warnings {
            html.push_str(&format!(
                "<li>{}</li>\n",
                escape_html(&single_line(&warning.to_string()))
            ));
        }
        html.push_str("</ul>\n");
    }

    let bengali_title = single_line(&article.title.bn);
    let bengali_paragraphs: Vec<String> = article
        .paragraphs
        .iter()
        .map(|paragraph| {
            let sentences: Vec<String> = paragraph
                .iter()
                .map(|pair| single_line(&pair.bn))
                .filter(|s| !s.is_empty())
                .collect();
            sentences.join(" ")
        })
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

/// `digest.html`: the digest as one self-contained page (no scripts, fonts
/// or other files), readable on a phone and in dark mode, with each
/// story's Bengali original behind a toggle.
pub(crate) fn render_digest_html(
    articles: &[ArticleOutput],
    failed: &[FailedInput],
    intro: Option<&str>,
) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>Anubad digest</title>\n",
    );
    html.push_str(&format!(
        "<style>{DIGEST_CSS}</style>\n</head>\n<body>\n<main>\n"
    ));

    html.push_str("<header>\n<h1>Anubad digest</h1>\n");
    let count = articles.len();
    if count == 0 {
        html.push_str("<p class=\"batch\">No articles were translated.</p>\n");
    } else {
        let noun = if count == 1 { "story" } else { "stories" };
        let mut batch = vec![format!("{count} {noun}")];
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

    for group in digest_groups(articles) {
        if group.stories.len() > 1 {
            html.push_str(&format!(
                "<section class=\"group\">\n<h2 class=\"group\">{}</h2>\n",
                escape_html(&group_heading(&group))
            ));
            for article in &group.stories {
                render_story_html(&mut html, article, "h3");
            }
            html.push_str("</section>\n");
        } else {
            for article in &group.stories {
                render_story_html(&mut html, article, "h2");
            }
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

    if count > 0 {
        html.push_str(
            "<footer>Machine translation: names and numbers may be wrong; \
             each title opens the full translation with its Bengali original.</footer>\n",
        );
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}
