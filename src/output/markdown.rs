//! `<id>.md` and `digest.md`.

use crate::output::article::{ArticleOutput, SentencePair};
use crate::output::view::{
    english_title, group_heading, is_extractive, known, model_line, single_line, source_name,
    DigestScope, DigestStories, INTRO_LABEL,
};
use crate::output::FailedInput;

/// Escapes `text` so Markdown shows it literally as inline text at the start
/// of a block (heading, paragraph, list item or link text).
pub(crate) fn escape_markdown(text: &str) -> String {
    let text = single_line(text);
    let chars: Vec<char> = text.chars().collect();
    // A trailing run of `#` would be taken as a heading's closing sequence.
    let trailing_hashes_from = chars
        .iter()
        .rposition(|&c| c != '#')
        .map_or(0, |last| last + 1);
    let leading_digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut escaped = String::with_capacity(text.len() + 8);
    for (index, &c) in chars.iter().enumerate() {
        let needs_escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' => true,
            '#' => index == 0 || index >= trailing_hashes_from,
            // Only at the start would these open a list, quote, rule or fence.
            '-' | '+' | '=' | '~' => index == 0,
            // `1.` or `1)` at the start would open an ordered list.
            '.' | ')' => {
                leading_digits > 0
                    && index == leading_digits
                    && chars.get(index + 1).is_none_or(|next| next.is_whitespace())
            }
            _ => false,
        };
        if needs_escape {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A link destination in `<…>` form, which allows spaces and parentheses;
/// only the characters that would end it need encoding.
fn link_destination(url: &str) -> String {
    let mut encoded = String::from("<");
    for c in url.trim().chars() {
        match c {
            '<' => encoded.push_str("%3C"),
            '>' => encoded.push_str("%3E"),
            ' ' => encoded.push_str("%20"),
            c if c.is_whitespace() || c.is_control() => {}
            c => encoded.push(c),
        }
    }
    encoded.push('>');
    encoded
}

fn paragraph_text(sentences: &[SentencePair], pick: fn(&SentencePair) -> &str) -> String {
    let joined: Vec<String> = sentences
        .iter()
        .map(|pair| single_line(pick(pair)))
        .filter(|s| !s.is_empty())
        .collect();
    escape_markdown(&joined.join(" "))
}

pub(crate) fn render_article_markdown(article: &ArticleOutput) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "# {}\n\n",
        escape_markdown(&english_title(article))
    ));
    let translated_title = single_line(&article.title.en);
    if article.summary.headline.is_some() && !translated_title.is_empty() {
        md.push_str(&format!(
            "Translated title: {}\n\n",
            escape_markdown(&translated_title)
        ));
    }
    if let Some(line) = date_and_source(article) {
        md.push_str(&format!("{line}\n\n"));
    }
    if let Some(url) = known(&article.url) {
        md.push_str(&format!(
            "[Original article]({})\n\n",
            link_destination(url)
        ));
    }

    md.push_str("## Summary\n\n");
    let summary = single_line(&article.summary.text);
    if summary.is_empty() {
        md.push_str("_No summary._\n\n");
    } else {
        md.push_str(&format!("{}\n\n", escape_markdown(&summary)));
    }
    if is_extractive(&article.summary) {
        md.push_str("_Extractive summary: sentences selected from the translation._\n\n");
    }

    md.push_str("## Translation\n\n");
    for paragraph in &article.paragraphs {
        let text = paragraph_text(paragraph, |pair| &pair.en);
        if !text.is_empty() {
            md.push_str(&format!("{text}\n\n"));
        }
    }

    md.push_str("## Original (Bengali)\n\n");
    let bengali_title = single_line(&article.title.bn);
    if !bengali_title.is_empty() {
        md.push_str(&format!("**{}**\n\n", escape_markdown(&bengali_title)));
    }
    for paragraph in &article.paragraphs {
        let text = paragraph_text(paragraph, |pair| &pair.bn);
        if !text.is_empty() {
            md.push_str(&format!("{text}\n\n"));
        }
    }

    if !article.warnings.is_empty() {
        md.push_str("## Warnings\n\n");
        for warning in &article.warnings {
            md.push_str(&format!("- {}\n", escape_markdown(&warning.to_string())));
        }
        md.push('\n');
    }

    md.push_str("---\n\n");
    md.push_str(&format!(
        "_{}_\n",
        model_line(&article.model, escape_markdown)
    ));
    md
}

/// `digest.md`; `older_articles` counts the article files in the folder that
/// this run did not write, which the digest leaves out.
pub(crate) fn render_digest(
    articles: &[ArticleOutput],
    failed: &[FailedInput],
    intro: Option<&str>,
    scope: &DigestScope,
) -> String {
    let stories = DigestStories::new(articles, scope);
    let mut md = String::from("# Anubad digest\n\n");
    md.push_str(&format!(
        "{}\n\n",
        escape_markdown(&stories.scope_line(scope.older_articles))
    ));
    if !articles.is_empty() {
        let mut models: Vec<String> = articles
            .iter()
            .map(|a| {
                let licence = known(&a.model.licence).unwrap_or("licence unknown");
                format!(
                    "{} ({})",
                    escape_markdown(&a.model.name),
                    escape_markdown(licence)
                )
            })
            .collect();
        models.sort();
        models.dedup();
        md.push_str(&format!("Translated with {}.\n\n", models.join(", ")));
    }
    if let Some(intro) = intro.map(single_line).filter(|i| !i.is_empty()) {
        md.push_str(&format!(
            "{}\n\n_{INTRO_LABEL}_\n\n",
            escape_markdown(&intro)
        ));
    }

    for group in &stories.groups {
        let story_level = if group.stories.len() > 1 {
            md.push_str(&format!(
                "## {}\n\n",
                escape_markdown(&group_heading(group))
            ));
            "###"
        } else {
            "##"
        };
        for article in &group.stories {
            md.push_str(&format!(
                "{story_level} [{}]({})\n\n",
                escape_markdown(&english_title(article)),
                link_destination(&format!("{}{}.md", article.digest.folder, article.id))
            ));
            if let Some(line) = date_and_source(article) {
                md.push_str(&format!("{line}\n\n"));
            }
            let same_text = stories.same_text_as(article);
            if !same_text.is_empty() {
                md.push_str(&format!("Same text in {} inputs:\n\n", same_text.len()));
                for copy in same_text {
                    md.push_str(&format!(
                        "- {} ([{}]({}))\n",
                        escape_markdown(&copy.input),
                        escape_markdown(&copy.id),
                        link_destination(&format!("{}{}.md", copy.digest.folder, copy.id))
                    ));
                }
                md.push('\n');
            }
            let summary = single_line(&article.summary.text);
            if !summary.is_empty() {
                md.push_str(&format!("{}\n\n", escape_markdown(&summary)));
            }
            match article.warnings.len() {
                0 => {}
                1 => md.push_str("_1 warning_\n\n"),
                n => md.push_str(&format!("_{n} warnings_\n\n")),
            }
        }
    }

    if !failed.is_empty() {
        let mut failed: Vec<&FailedInput> = failed.iter().collect();
        failed.sort();
        md.push_str("## Failed inputs\n\n");
        for FailedInput { input, reason } in failed {
            md.push_str(&format!(
                "- {}: {}\n",
                escape_markdown(input),
                escape_markdown(reason)
            ));
        }
        md.push('\n');
    }
    // Exactly one newline at the end, whatever the last section was.
    let trimmed_len = md.trim_end().len();
    md.truncate(trimmed_len);
    md.push('\n');
    md
}

/// "2024-05-01 · Prothom Alo", or `None` when neither is known.
pub(crate) fn date_and_source(article: &ArticleOutput) -> Option<String> {
    let date = match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => Some(published.to_string()),
        (None, Some(updated)) => Some(format!("updated {updated}")),
        (None, None) => None,
    };
    let source = source_name(article);
    let parts: Vec<String> = [date.as_deref(), source.as_deref()]
        .into_iter()
        .flatten()
        .map(escape_markdown)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}
