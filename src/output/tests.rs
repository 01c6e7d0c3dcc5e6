use super::*;
use crate::output::article::*;
use crate::output::html::*;
use crate::output::ids::*;
use crate::output::markdown::*;
use crate::output::view::*;
use std::time::Duration;

fn pair(bn: &str, en: &str) -> SentencePair {
    SentencePair {
        bn: bn.to_string(),
        en: en.to_string(),
    }
}

#[test]
fn readers_see_outlets_by_their_english_names_and_llm_headlines_first() {
    let mut a = article("a", Some("2024-05-01"));
    a.source = Some("আল জাজিরা".to_string());
    a.summary.headline = Some("Rain floods Dhaka streets".to_string());
    let digest = render_digest(std::slice::from_ref(&a), &[], Some("Rain fell in Dhaka."));
    assert!(digest.contains("2024-05-01 · Al Jazeera"), "{digest}");
    assert!(!digest.contains("আল জাজিরা"), "{digest}");
    assert!(
        digest.contains("## [Rain floods Dhaka streets](<a.md>)"),
        "{digest}"
    );
    assert!(
        digest.contains(&format!("Rain fell in Dhaka.\n\n_{INTRO_LABEL}_")),
        "{digest}"
    );
    let html = render_digest_html(std::slice::from_ref(&a), &[], Some("Rain fell in Dhaka."));
    assert!(html.contains("Al Jazeera"), "{html}");
    assert!(
        html.contains("<p class=\"intro\">Rain fell in Dhaka.</p>"),
        "{html}"
    );
    let markdown = render_article_markdown(&a);
    assert!(markdown.starts_with("# Rain floods Dhaka streets\n\nTranslated title: "));
    // The JSON keeps the name as the page wrote it.
    assert_eq!(a.source.as_deref(), Some("আল জাজিরা"));
}

fn article(id: &str, published: Option<&str>) -> ArticleOutput {
    ArticleOutput {
        id: id.to_string(),
        input: format!("news/{id}.txt"),
        title: Bilingual {
            bn: "ঢাকায় বৃষ্টি".to_string(),
            en: format!("Rain in Dhaka {id}"),
        },
        url: Some("https://example.com/a (1)".to_string()),
        published: published.map(str::to_string),
        updated: None,
        source: Some("Prothom Alo".to_string()),
        byline: None,
        paragraphs: vec![
            vec![
                pair("আজ ঢাকায় বৃষ্টি হয়েছে।", "It rained in Dhaka today."),
                pair("রাস্তায় পানি জমেছে।", "Water collected on the roads."),
            ],
            vec![pair("১২৩ জন আটকা পড়েছেন।", "123 people were stranded.")],
        ],
        summary: Summary::extractive("It rained in Dhaka.".to_string()),
        model: ModelInfo {
            name: "Helsinki-NLP/opus-mt-bn-en".to_string(),
            revision: Some("abc123".to_string()),
            licence: Some("CC-BY-4.0".to_string()),
        },
        generation: serde_json::json!({"beam": 4, "max_len": 256}),
        warnings: vec![],
        timings: Timings {
            translate_ms: 120,
            total_ms: 150,
            cached_segments: 1,
            translated_segments: 2,
        },
        fingerprint: format!("fp-{id}"),
    }
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writing_leaves_only_the_outputs_behind() {
    let dir = tempfile::tempdir().unwrap();
    write_article(dir.path(), &article("a", Some("2024-05-01"))).unwrap();
    write_article(dir.path(), &article("b", None)).unwrap();
    let mut changed = article("a", Some("2024-05-02"));
    changed.fingerprint = "new".to_string();
    write_article(dir.path(), &changed).unwrap();
    write_digest(dir.path(), &[changed, article("b", None)], &[], None).unwrap();
    assert_eq!(
        dir_entries(dir.path()),
        vec![
            "a.json",
            "a.md",
            "b.json",
            "b.md",
            "digest.html",
            "digest.md"
        ]
    );
}

#[test]
fn failed_write_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    // A directory in place of the target makes the final rename fail.
    fs::create_dir(out.join("a.json")).unwrap();
    let error = write_article(&out, &article("a", None)).unwrap_err();
    assert!(error.to_string().contains("a.json"), "{error}");
    assert_eq!(dir_entries(&out), vec!["a.json"]);
}

#[test]
fn output_dir_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::write(&out, "x").unwrap();
    assert!(matches!(
        write_article(&out, &article("a", None)),
        Err(OutputError::CreateDir { .. })
    ));
}

#[test]
fn unchanged_content_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let first = article("a", Some("2024-05-01"));
    write_article(dir.path(), &first).unwrap();
    write_digest(dir.path(), std::slice::from_ref(&first), &[], None).unwrap();
    let names = ["a.json", "a.md", "digest.md", "digest.html"];
    let before: Vec<_> = names
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    write_article(dir.path(), &first).unwrap();
    write_digest(dir.path(), std::slice::from_ref(&first), &[], None).unwrap();
    for (name, old) in names.iter().zip(&before) {
        let new = fs::metadata(dir.path().join(name)).unwrap();
        assert_eq!(old.modified().unwrap(), new.modified().unwrap(), "{name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(old.ino(), new.ino(), "{name} was replaced");
        }
    }
    // A change does rewrite: only the JSON carries timings.
    let mut slower = first.clone();
    slower.timings.total_ms += 1;
    write_article(dir.path(), &slower).unwrap();
    assert_eq!(read_article(dir.path(), "a"), Some(slower));
    let md_after = fs::metadata(dir.path().join("a.md")).unwrap();
    assert_eq!(md_after.modified().unwrap(), before[1].modified().unwrap());
}

#[cfg(unix)]
#[test]
fn outputs_are_not_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write_article(dir.path(), &article("a", None)).unwrap();
    let mode = fs::metadata(dir.path().join("a.md"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn safe_id_keeps_bengali_and_replaces_path_characters() {
    assert_eq!(safe_id("ঢাকায় বৃষ্টি"), "ঢাকায়-বৃষ্টি");
    // Virama conjuncts and vowel signs stay whole; ZWJ is dropped, not
    // turned into a separator.
    assert_eq!(safe_id("র\u{200d}্যাব"), "র্যাব");
    assert_eq!(safe_id("২০২৪_খবর"), "২০২৪_খবর");
    assert_eq!(safe_id("news/2024/05/story"), "news-2024-05-story");
    assert_eq!(safe_id("a\\b:c*d?e\"f<g>h|i"), "a-b-c-d-e-f-g-h-i");
    assert_eq!(safe_id("../../etc/passwd"), "etc-passwd");
    assert_eq!(safe_id(".hidden"), "hidden");
    assert_eq!(safe_id("report.v2"), "report.v2");
    assert_eq!(safe_id("trailing. "), "trailing");
}

#[test]
fn safe_id_is_never_empty() {
    for raw in ["", "..", ".", "/", "   ", "???", "-", "\u{200c}"] {
        assert_eq!(safe_id(raw), "article", "{raw:?}");
    }
}

#[test]
fn safe_id_bounds_length_in_characters_and_bytes() {
    let ascii = safe_id(&"a".repeat(1000));
    assert_eq!(ascii.chars().count(), MAX_ID_CHARS);
    let bengali = safe_id(&"ক".repeat(1000));
    assert!(bengali.chars().count() <= MAX_ID_CHARS);
    assert!(bengali.len() <= MAX_ID_BYTES);
    assert!(!bengali.is_empty());
    // A cut that lands on a separator does not leave it dangling.
    let cut_at_dash = safe_id(&format!("{}-tail", "a".repeat(MAX_ID_CHARS - 1)));
    assert!(!cut_at_dash.ends_with('-'));
}

#[test]
fn safe_id_avoids_reserved_names() {
    assert_eq!(safe_id("CON"), "CON_");
    assert_eq!(safe_id("nul.txt"), "nul.txt_");
    assert_eq!(safe_id("com1"), "com1_");
    assert_eq!(safe_id("Digest"), "Digest_");
    assert_eq!(safe_id("console"), "console");
    assert_eq!(safe_id("com10"), "com10");
    assert_eq!(safe_id("digest-2"), "digest-2");
}

#[test]
fn safe_id_is_idempotent() {
    for raw in [
        "ঢাকায় বৃষ্টি",
        "../x",
        "CON",
        "digest",
        &"ক".repeat(500),
        &format!("{}-x", "a".repeat(99)),
        "a--b..c",
    ] {
        let once = safe_id(raw);
        assert_eq!(safe_id(&once), once, "{raw:?}");
    }
}

#[test]
fn allocator_makes_ids_unique_ignoring_case() {
    let mut ids = IdAllocator::new();
    assert_eq!(ids.allocate("story"), "story");
    assert_eq!(ids.allocate("Story"), "Story-2");
    assert_eq!(ids.allocate("story"), "story-3");
    assert_eq!(ids.allocate("story-2"), "story-2-2");
    assert_eq!(ids.allocate("a/b"), "a-b");
    assert_eq!(ids.allocate("a?b"), "a-b-2");
    assert_eq!(ids.allocate(""), "article");
    assert_eq!(ids.allocate(".."), "article-2");
}

#[test]
fn json_roundtrips_with_the_agreed_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut original = article("a", Some("2024-05-01"));
    original.warnings = vec![Warning::from("number 123 missing")];
    write_article(dir.path(), &original).unwrap();
    assert_eq!(read_article(dir.path(), "a"), Some(original.clone()));

    let text = fs::read_to_string(dir.path().join("a.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in [
        "id",
        "input",
        "title",
        "url",
        "published",
        "source",
        "paragraphs",
        "summary",
        "model",
        "generation",
        "warnings",
        "timings",
        "fingerprint",
    ] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    assert_eq!(value["paragraphs"][0][0]["bn"], "আজ ঢাকায় বৃষ্টি হয়েছে।");
    assert_eq!(value["timings"]["cached_segments"], 1);

    let mut undated = article("b", None);
    undated.url = None;
    undated.source = None;
    let json = serde_json::to_value(&undated).unwrap();
    for absent in ["url", "published", "source"] {
        assert!(json.get(absent).is_none(), "{absent} should be omitted");
    }
    let back: ArticleOutput = serde_json::from_value(json).unwrap();
    assert_eq!(back, undated);
}

#[test]
fn summary_methods_are_written_by_their_lowercase_names() {
    for (method, name) in [
        (SummaryMethod::Extractive, "extractive"),
        (SummaryMethod::Llm, "llm"),
    ] {
        assert_eq!(serde_json::to_value(method).unwrap(), name);
        assert_eq!(
            serde_json::from_value::<SummaryMethod>(name.into()).unwrap(),
            method
        );
        assert_eq!(method.to_string(), name);
    }
}

#[test]
fn missing_or_broken_outputs_have_no_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(existing_fingerprint(dir.path(), "a"), None);
    write_article(dir.path(), &article("a", None)).unwrap();
    assert_eq!(
        existing_fingerprint(dir.path(), "a"),
        Some("fp-a".to_string())
    );
    fs::remove_file(dir.path().join("a.md")).unwrap();
    assert_eq!(existing_fingerprint(dir.path(), "a"), None);

    fs::write(dir.path().join("b.json"), "{ not json").unwrap();
    fs::write(dir.path().join("b.md"), "# b\n").unwrap();
    assert_eq!(read_article(dir.path(), "b"), None);
    assert_eq!(existing_fingerprint(dir.path(), "b"), None);
    assert_eq!(read_article(dir.path(), "../b"), None);
}

#[test]
fn unsafe_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = write_article(&out, &article("../escape", None));
    assert!(matches!(result, Err(OutputError::UnsafeId { .. })));
    assert!(!dir.path().join("escape.json").exists());
}

#[test]
fn markdown_has_both_languages_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write_article(dir.path(), &article("a", Some("2024-05-01"))).unwrap();
    let md = fs::read_to_string(dir.path().join("a.md")).unwrap();
    assert!(md.starts_with("# Rain in Dhaka a\n"));
    assert!(md.contains("2024-05-01 · Prothom Alo"));
    assert!(md.contains("[Original article](<https://example.com/a%20(1)>)"));
    assert!(md.contains("Extractive summary"));
    assert!(md.contains("\n\nIt rained in Dhaka today. Water collected on the roads.\n\n"));
    assert!(md.contains("\n\n123 people were stranded.\n\n"));
    assert!(md.contains("**ঢাকায় বৃষ্টি**"));
    assert!(md.contains("আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।"));
    assert!(md.contains("১২৩ জন আটকা পড়েছেন।"));
    assert!(md.contains("Helsinki-NLP/opus-mt-bn-en (revision abc123), licence: CC-BY-4.0."));
    let order: Vec<usize> = [
        "## Summary",
        "## Translation",
        "## Original (Bengali)",
        "---",
    ]
    .iter()
    .map(|h| md.find(h).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{md}");
}

#[test]
fn abstractive_summary_has_no_extractive_note() {
    let mut a = article("a", None);
    a.summary.method = SummaryMethod::Llm;
    assert!(!render_article_markdown(&a).contains("Extractive"));
}

#[test]
fn markdown_syntax_in_text_is_shown_literally() {
    assert_eq!(escape_markdown("# Breaking"), "\\# Breaking");
    assert_eq!(escape_markdown("C# rises #"), "C# rises \\#");
    assert_eq!(escape_markdown("[link](x)"), "\\[link\\](x)");
    assert_eq!(escape_markdown("- not a list"), "\\- not a list");
    assert_eq!(escape_markdown("1. not a list"), "1\\. not a list");
    assert_eq!(escape_markdown("2024. Dhaka"), "2024\\. Dhaka");
    assert_eq!(escape_markdown("a_b *c* <d>"), "a\\_b \\*c\\* \\<d\\>");
    assert_eq!(escape_markdown("line\nbreak"), "line break");
    assert_eq!(escape_markdown("3.5 percent"), "3.5 percent");

    let mut a = article("a", None);
    a.title.en = "[Update] # Floods\n## Now".to_string();
    let digest = render_digest(&[a], &[], None);
    assert!(
        digest.contains("## [\\[Update\\] # Floods ## Now](<a.md>)"),
        "{digest}"
    );
}

#[test]
fn digest_orders_newest_first_then_undated_by_id() {
    let articles = vec![
        article("c-undated", None),
        article("old", Some("2023-12-31")),
        article("b-undated", None),
        article("new", Some("2024-05-02T08:00:00+06:00")),
        article("mid", Some("2024-05-01")),
    ];
    let digest = render_digest(&articles, &[], None);
    let positions: Vec<usize> = ["new.md", "mid.md", "old.md", "b-undated.md", "c-undated.md"]
        .iter()
        .map(|link| digest.find(&format!("(<{link}>)")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{digest}");
    assert!(digest.contains("5 articles translated with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0)."));
}

fn failed_input(input: &str, reason: &str) -> FailedInput {
    FailedInput {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

#[test]
fn digest_is_deterministic_and_independent_of_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut warned = article("b", Some("2024-05-01"));
    warned.warnings = vec![Warning::from("x"), Warning::from("y")];
    let articles = vec![article("a", None), warned, article("c", Some("2024-01-01"))];
    let failed = vec![
        failed_input("z.txt", "not UTF-8"),
        failed_input("feed.jsonl#3", "missing body"),
    ];
    write_digest(dir.path(), &articles, &failed, None).unwrap();
    let first = fs::read(dir.path().join(DIGEST_FILE_NAME)).unwrap();

    let mut reversed = articles.clone();
    reversed.reverse();
    let mut failed_reversed = failed.clone();
    failed_reversed.reverse();
    write_digest(dir.path(), &reversed, &failed_reversed, None).unwrap();
    let second = fs::read(dir.path().join(DIGEST_FILE_NAME)).unwrap();
    assert_eq!(first, second);

    let text = String::from_utf8(first).unwrap();
    assert!(text.contains("_2 warnings_"));
    let failed_section = text.find("## Failed inputs").unwrap();
    let feed = text.find("- feed.jsonl#3: missing body").unwrap();
    let z = text.find("- z.txt: not UTF-8").unwrap();
    assert!(failed_section < feed && feed < z, "{text}");
    assert!(text.ends_with("not UTF-8\n") && !text.ends_with("\n\n"));
}

#[test]
fn empty_digest_says_so() {
    let digest = render_digest(&[], &[failed_input("x.txt", "empty")], None);
    assert!(digest.contains("No articles were translated."));
    assert!(digest.contains("- x.txt: empty"));
}
#[test]
fn html_digest_escapes_everything_from_the_page() {
    let mut hostile = article("x", Some("2024-12-01T12:43:00+06:00"));
    hostile.title.en = "<script>alert(1)</script> Tom & Jerry \"quoted\"".to_string();
    hostile.title.bn = "<b>শিরোনাম</b>".to_string();
    hostile.source = Some("A&B <News>".to_string());
    hostile.summary.text = "x < y & z".to_string();
    hostile.warnings = vec![Warning::from("number <1> lost")];
    hostile.url = Some("javascript:alert(1)".to_string());
    let html = render_digest_html(
        &[hostile],
        &[failed_input("<evil>.txt", "bad & worse")],
        None,
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry &quot;quoted&quot;")
    );
    assert!(html.contains("A&amp;B &lt;News&gt;"));
    assert!(html.contains("x &lt; y &amp; z"));
    assert!(html.contains("<li>number &lt;1&gt; lost</li>"));
    assert!(html.contains("<code>&lt;evil&gt;.txt</code>: bad &amp; worse"));
}

#[test]
fn html_digest_shows_each_story_for_a_reader() {
    let mut dated = article("a", Some("2024-12-01T12:43:00+06:00"));
    dated.warnings = vec![Warning::from("number 28 missing")];
    let mut updated_only = article("b", None);
    updated_only.updated = Some("2024-11-30".to_string());
    let html = render_digest_html(&[updated_only, dated], &[], None);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("prefers-color-scheme:dark"));
    assert!(html.contains("<a href=\"a.md\">Rain in Dhaka a</a>"));
    assert!(html.contains("<time datetime=\"2024-12-01T12:43:00+06:00\">1 Dec 2024, 12:43</time>"));
    assert!(html.contains("updated <time datetime=\"2024-11-30\">30 Nov 2024</time>"));
    assert!(html.contains("2 stories · 30 Nov 2024 – 1 Dec 2024 · translated from Bengali with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0)"));
    assert!(html.contains(">extractive summary</span>It rained in Dhaka."));
    assert!(html.contains("<li>number 28 missing</li>"));
    assert!(
        html.contains("<a href=\"https://example.com/a%20(1)\" rel=\"noreferrer\">Prothom Alo</a>")
    );
    // The original is there, behind a closed toggle, marked as Bengali.
    assert!(html.contains("<details>\n<summary>Bengali original</summary>\n<div class=\"bn\" lang=\"bn\">\n<p class=\"bn-title\">ঢাকায় বৃষ্টি</p>\n<p>আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।</p>"));
    assert!(!html.contains("<details open"));
    // Newest first, as in digest.md.
    assert!(html.find("a.md").unwrap() < html.find("b.md").unwrap());
    // Nothing is loaded from elsewhere.
    for external in ["<script", "<link", "<img", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn readable_dates_only_for_iso_dates() {
    assert_eq!(
        readable_date("2025-06-02T18:45:00+06:00").as_deref(),
        Some("2 Jun 2025, 18:45")
    );
    assert_eq!(readable_date("2025-06-02").as_deref(), Some("2 Jun 2025"));
    for odd in [
        "২০২৫-০৬-০২",
        "June 2, 2025",
        "2025-13-01",
        "2025-06-02Tnoon",
        "",
    ] {
        assert_eq!(readable_date(odd), None, "{odd}");
    }
    assert_eq!(html_time("June 2, 2025"), "June 2, 2025");
}

#[test]
fn stories_about_one_event_share_a_heading_in_both_digests() {
    let mut troops = article("troops", Some("2025-04-28"));
    troops.title.en = "North Korea confirms sending troops to Russia".to_string();
    troops.summary.text = "North Korea has confirmed that its troops fought for Russia in the Kursk region, Kim Jong Un said.".to_string();
    let mut lavrov = article("lavrov", Some("2024-12-01"));
    lavrov.title.en = "Kim Jong Un meets Lavrov".to_string();
    lavrov.summary.text =
        "Russian Foreign Minister Sergei Lavrov met Kim Jong Un in North Korea.".to_string();
    troops.paragraphs.clear();
    lavrov.paragraphs.clear();
    let mut rain = article("rain", Some("2025-01-10"));
    rain.summary.text = "It rained in Dhaka.".to_string();
    let articles = [lavrov, rain, troops];
    let md = render_digest(&articles, &[], None);
    let heading = md
        .find("## 2 stories: Kim Jong Un, North Korea, Russia\n")
        .expect(&md);
    let troops_at = md.find("### [North Korea confirms").expect(&md);
    let lavrov_at = md.find("### [Kim Jong Un meets Lavrov]").expect(&md);
    let rain_at = md.find("## [Rain in Dhaka rain]").expect(&md);
    // The group sits where its newest story would; newest first inside.
    assert!(
        heading < troops_at && troops_at < lavrov_at && lavrov_at < rain_at,
        "{md}"
    );
    let html = render_digest_html(&articles, &[], None);
    assert!(html.contains("<h2 class=\"group\">2 stories: Kim Jong Un, North Korea, Russia</h2>"));
    assert!(html.contains("<h3><a href=\"troops.md\">"));
    assert!(html.contains("<h2><a href=\"rain.md\">"));
}
