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
    let digest = render_digest(
        std::slice::from_ref(&a),
        &[],
        Some("Rain fell in Dhaka."),
        &DigestScope::default(),
    );
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
    let html = render_digest_html(
        std::slice::from_ref(&a),
        &[],
        Some("Rain fell in Dhaka."),
        &DigestScope::default(),
    );
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
        schema_version: SCHEMA_VERSION,
        anubad_version: ANUBAD_VERSION.to_string(),
        id: id.to_string(),
        input: format!("news/{id}.txt"),
        title: Bilingual {
            // Each its own text: articles of equal text are one story.
            bn: format!("ঢাকায় বৃষ্টি {id}"),
            en: format!("Rain in Dhaka {id}"),
        },
        url: Some("https://example.com/a (1)".to_string()),
        published: published.map(str::to_string),
        updated: None,
        source: Some("Prothom Alo".to_string()),
        source_en: None,
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
        digest: Default::default(),
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
    finish_run(
        dir.path(),
        &RunArticles::of(&[changed, article("b", None)]),
        &[],
        None,
        false,
    )
    .unwrap();
    assert_eq!(
        dir_entries(dir.path()),
        vec![
            "a.html",
            "a.json",
            "a.md",
            "b.html",
            "b.json",
            "b.md",
            "digest.html",
            "digest.md",
            "manifest.json"
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
    finish_run(
        dir.path(),
        &RunArticles::of(std::slice::from_ref(&first)),
        &[],
        None,
        false,
    )
    .unwrap();
    let names = [
        "a.json",
        "a.md",
        "a.html",
        "digest.md",
        "digest.html",
        "manifest.json",
    ];
    let before: Vec<_> = names
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    write_article(dir.path(), &first).unwrap();
    finish_run(
        dir.path(),
        &RunArticles::of(std::slice::from_ref(&first)),
        &[],
        None,
        false,
    )
    .unwrap();
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
    for (page, old) in [("a.md", &before[1]), ("a.html", &before[2])] {
        let after = fs::metadata(dir.path().join(page)).unwrap();
        assert_eq!(after.modified().unwrap(), old.modified().unwrap(), "{page}");
    }
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
    assert_eq!(safe_id("manifest"), "manifest_");
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

    assert_eq!(value["schema_version"], SCHEMA_VERSION);
    assert_eq!(value["anubad_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn unknown_fields_are_written_as_null_and_files_without_them_still_read() {
    let mut undated = article("b", None);
    undated.url = None;
    undated.source = None;
    let json = serde_json::to_value(&undated).unwrap();
    for unknown in [
        "url",
        "published",
        "updated",
        "source",
        "source_en",
        "byline",
    ] {
        assert_eq!(
            json.get(unknown),
            Some(&serde_json::Value::Null),
            "{unknown}"
        );
    }
    assert_eq!(json["summary"]["headline"], serde_json::Value::Null);
    let back: ArticleOutput = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, undated);

    // As earlier versions wrote it: no versions, unknown fields left out.
    let mut old = json;
    let record = old.as_object_mut().unwrap();
    record.retain(|_, value| !value.is_null());
    record.remove("schema_version");
    record.remove("anubad_version");
    old["summary"].as_object_mut().unwrap().remove("headline");
    let read: ArticleOutput = serde_json::from_value(old).unwrap();
    assert_eq!(read.schema_version, 0);
    assert_eq!(read.paragraphs, undated.paragraphs);
    assert_eq!(read.source, None);
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
    write_article(dir.path(), &article("a", None)).unwrap();
    fs::remove_file(dir.path().join("a.html")).unwrap();
    assert_eq!(existing_fingerprint(dir.path(), "a"), None);

    // A record of an earlier layout is out of date whatever its fingerprint.
    let mut older = article("c", None);
    older.schema_version = 0;
    write_article(dir.path(), &older).unwrap();
    assert!(read_article(dir.path(), "c").is_some());
    assert_eq!(existing_fingerprint(dir.path(), "c"), None);

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
    assert!(md.contains("**ঢাকায় বৃষ্টি a**"));
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
    let digest = render_digest(&[a], &[], None, &DigestScope::default());
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
    let digest = render_digest(&articles, &[], None, &DigestScope::default());
    let positions: Vec<usize> = ["new.md", "mid.md", "old.md", "b-undated.md", "c-undated.md"]
        .iter()
        .map(|link| digest.find(&format!("(<{link}>)")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{digest}");
    assert!(digest.starts_with(
        "# Anubad digest\n\n5 articles from this run.\n\n\
         Translated with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0).\n\n"
    ));
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
    write_digest(
        dir.path(),
        &articles,
        &failed,
        None,
        &DigestScope::default(),
    )
    .unwrap();
    let first = fs::read(dir.path().join(DIGEST_FILE_NAME)).unwrap();

    let mut reversed = articles.clone();
    reversed.reverse();
    let mut failed_reversed = failed.clone();
    failed_reversed.reverse();
    write_digest(
        dir.path(),
        &reversed,
        &failed_reversed,
        None,
        &DigestScope::default(),
    )
    .unwrap();
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
    let digest = render_digest(
        &[],
        &[failed_input("x.txt", "empty")],
        None,
        &DigestScope::default(),
    );
    assert!(digest.contains("No articles were translated in this run."));
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
        &DigestScope::default(),
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
    let html = render_digest_html(&[updated_only, dated], &[], None, &DigestScope::default());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("prefers-color-scheme:dark"));
    assert!(html.contains("<a href=\"a.html\">Rain in Dhaka a</a>"));
    assert!(html.contains("<time datetime=\"2024-12-01T12:43:00+06:00\">1 Dec 2024, 12:43</time>"));
    assert!(html.contains("updated <time datetime=\"2024-11-30\">30 Nov 2024</time>"));
    assert!(html.contains("<p class=\"scope\">2 articles from this run.</p>\n<p class=\"batch\">30 Nov 2024 – 1 Dec 2024 · translated from Bengali with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0)</p>"));
    assert!(html.contains(">extractive summary</span>It rained in Dhaka."));
    assert!(html.contains("<li>number 28 missing</li>"));
    assert!(
        html.contains("<a href=\"https://example.com/a%20(1)\" rel=\"noreferrer\">Prothom Alo</a>")
    );
    // The original is there, behind a closed toggle, marked as Bengali.
    assert!(html.contains("<details>\n<summary>Bengali original</summary>\n<div class=\"bn\" lang=\"bn\">\n<p class=\"bn-title\">ঢাকায় বৃষ্টি a</p>\n<p>আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।</p>"));
    assert!(!html.contains("<details open"));
    // Newest first, as in digest.md.
    assert!(html.find("a.html").unwrap() < html.find("b.html").unwrap());
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
    let md = render_digest(&articles, &[], None, &DigestScope::default());
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
    let html = render_digest_html(&articles, &[], None, &DigestScope::default());
    assert!(html.contains("<h2 class=\"group\">2 stories: Kim Jong Un, North Korea, Russia</h2>"));
    assert!(html.contains("<h3><a href=\"troops.html\">"));
    assert!(html.contains("<h2><a href=\"rain.html\">"));
}

/// An article with a warning of every place: a sentence, a paragraph, the
/// title, the whole article, and a sentence that is not there.
fn warned_article() -> ArticleOutput {
    let mut a = article("a", Some("2024-12-01T12:43:00+06:00"));
    a.source = Some("প্রথম আলো".to_string());
    a.source_en = Some("Prothom Alo".to_string());
    a.byline = Some("নিজস্ব প্রতিবেদক".to_string());
    a.warnings = vec![
        Warning::NumberMissing {
            paragraph: 2,
            sentence: 1,
            number: "১২৩".to_string(),
            value: "123".to_string(),
        },
        Warning::ParagraphTranslationCutOff { paragraph: 1 },
        Warning::TitleTranslationCutOff,
        Warning::SummaryCutOff,
        Warning::NumberMissing {
            paragraph: 9,
            sentence: 1,
            number: "৯".to_string(),
            value: "9".to_string(),
        },
    ];
    a
}

#[test]
fn an_article_page_shows_each_warning_where_it_applies() {
    let html = render_article_html(&warned_article());
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{html}"))
    };
    // The sentence the number went missing from, then the warning, inside
    // its paragraph, before the Bengali of that paragraph.
    let flagged = at("<span class=\"flagged\">123 people were stranded.</span>");
    let note = at(
        "<span class=\"flag\" role=\"note\">⚠ number ১২৩ (123) is not in the translation</span>",
    );
    let paragraph_2 = at("<div class=\"para\" id=\"p2\">");
    let bengali_2 = at("<span class=\"flagged\">১২৩ জন আটকা পড়েছেন।</span>");
    assert!(paragraph_2 < flagged && flagged < note && note < bengali_2);
    // The paragraph's own warning closes that paragraph.
    let paragraph_1 = at("<div class=\"para\" id=\"p1\">");
    let cut_off = at("⚠ Paragraph 1: translation cut off at the token limit");
    assert!(paragraph_1 < cut_off && cut_off < paragraph_2);
    // The title's by the title; the article's, and one whose sentence is
    // not there, at the top, before the summary.
    let title_note = at("⚠ Title: translation cut off at the token limit");
    assert!(at("<h1>") < title_note && title_note < at("</header>"));
    let top = at("<ul class=\"warnings\" aria-label=\"Warnings\">");
    let summary = at("<h2 class=\"part\">Summary</h2>");
    for sentence in [
        "<li>summary cut off at the token limit; it may be incomplete</li>",
        "<li>paragraph 9, sentence 1: number ৯ (9) is not in the translation</li>",
    ] {
        let found = at(sentence);
        assert!(top < found && found < summary, "{sentence}");
    }
    assert_eq!(html.matches("<li>").count(), 2, "{html}");
}

#[test]
fn an_article_page_has_the_whole_article_for_a_reader() {
    let html = render_article_html(&warned_article());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Rain in Dhaka a</title>"));
    assert!(html.contains("<h1>Rain in Dhaka a</h1>"));
    assert!(html.contains("<a href=\"digest.html\">"));
    assert!(html.contains("<p class=\"bn bn-title\" lang=\"bn\">ঢাকায় বৃষ্টি a</p>"));
    // Date, the outlet by its English name linked to the page, byline.
    assert!(html.contains(
        "<time datetime=\"2024-12-01T12:43:00+06:00\">1 Dec 2024, 12:43</time> · \
         <a href=\"https://example.com/a%20(1)\" rel=\"noreferrer\">Prothom Alo</a> · \
         <span class=\"byline\" lang=\"bn\">নিজস্ব প্রতিবেদক</span>"
    ));
    // Labelled as the digest labels it.
    assert!(html.contains(">extractive summary</span>It rained in Dhaka.</p>"));
    // Every paragraph in English with its Bengali, in order.
    let first = html
        .find("<p class=\"en\">It rained in Dhaka today. Water collected on the roads.</p>\n<p class=\"bn\" lang=\"bn\">আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।</p>")
        .expect(&html);
    let second = html.find("id=\"p2\"").unwrap();
    assert!(first < second);
    assert!(html.contains("<code>news/a.txt</code>"));
    assert!(html.contains(
        "Translated by Helsinki-NLP/opus-mt-bn-en (revision abc123), licence: CC-BY-4.0."
    ));
    for external in ["<script", "<link", "<img", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    // The digest's style sheet, not a copy.
    let digest = render_digest_html(&[warned_article()], &[], None, &DigestScope::default());
    let style = |page: &str| {
        page[page.find("<style>").unwrap()..page.find("</style>").unwrap()].to_string()
    };
    assert_eq!(style(&html), style(&digest));
}

#[test]
fn an_article_page_escapes_everything_from_the_page() {
    let mut hostile = article("x", None);
    hostile.title.en = "<script>alert(1)</script> & co".to_string();
    hostile.byline = Some("<b>রিপোর্টার</b>".to_string());
    hostile.paragraphs = vec![vec![pair("<i>বাক্য</i>", "<img src=x onerror=alert(1)>")]];
    hostile.url = Some("javascript:alert(1)".to_string());
    hostile.input = "<evil>.txt".to_string();
    hostile.model.licence = Some("<u>MIT</u>".to_string());
    let html = render_article_html(&hostile);
    for raw in [
        "<script",
        "<b>",
        "<i>",
        "<img",
        "<u>",
        "javascript:",
        "<evil>",
    ] {
        assert!(!html.contains(raw), "{raw} in:\n{html}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn the_digest_shows_one_story_per_text_listing_every_input() {
    let original = article("rain", Some("2024-05-01"));
    let mut copy = original.clone();
    copy.id = "rain-2".to_string();
    copy.input = "saved/rain.html".to_string();
    copy.published = None;
    // Another rendering of the same normalized text.
    copy.title.bn = format!("  {}  ", original.title.bn);
    let other = article("other", Some("2024-04-01"));
    let articles = [copy, other, original];

    let md = render_digest(&articles, &[], None, &DigestScope::default());
    assert_eq!(md.matches("## [Rain in Dhaka rain]").count(), 1, "{md}");
    assert!(!md.contains("## [Rain in Dhaka rain-2]"), "{md}");
    assert!(
        md.contains(
            "Same text in 2 inputs:\n\n- news/rain.txt ([rain](<rain.md>))\n\
             - saved/rain.html ([rain-2](<rain-2.md>))\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("3 articles from this run (1 with the same text as another, shown with it).")
    );

    let html = render_digest_html(&articles, &[], None, &DigestScope::default());
    assert_eq!(html.matches("<article ").count(), 2, "{html}");
    assert!(html.contains(
        "<p class=\"inputs\">Same text in 2 inputs: <a href=\"rain.html\"><code>news/rain.txt</code></a>, \
         <a href=\"rain-2.html\"><code>saved/rain.html</code></a></p>"
    ), "{html}");
}

#[test]
fn the_manifest_lists_the_runs_articles_their_files_copies_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let original = article("rain", Some("2024-05-01"));
    let mut copy = original.clone();
    copy.id = "rain-2".to_string();
    copy.input = "saved/rain.txt".to_string();
    let failed = [FailedInput::new("x.txt".to_string(), "x.txt: empty")];
    finish_run(
        dir.path(),
        &RunArticles::of(&[copy, original]),
        &failed,
        None,
        false,
    )
    .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "anubad_version": env!("CARGO_PKG_VERSION"),
            "articles": [
                {"id": "rain", "input": "news/rain.txt",
                 "files": ["rain.json", "rain.md", "rain.html"], "duplicate_of": null},
                {"id": "rain-2", "input": "saved/rain.txt",
                 "files": ["rain-2.json", "rain-2.md", "rain-2.html"], "duplicate_of": "rain"},
            ],
            "failed": [{"input": "x.txt", "reason": "empty"}],
            "digest": ["digest.md", "digest.html"],
        })
    );
}

#[test]
fn a_failure_names_its_input_once() {
    let named = FailedInput::new("in/a.txt".to_string(), "in/a.txt: not UTF-8 text");
    assert_eq!(named.reason, "not UTF-8 text");
    let unnamed = FailedInput::new("in/a.txt".to_string(), "cannot write out/a.json");
    assert_eq!(unnamed.reason, "cannot write out/a.json");
    let md = render_digest(
        &[],
        std::slice::from_ref(&named),
        None,
        &DigestScope::default(),
    );
    assert_eq!(md.matches("a.txt").count(), 1, "{md}");
    let html = render_digest_html(&[], &[named], None, &DigestScope::default());
    assert_eq!(html.matches("a.txt").count(), 1, "{html}");
}

#[test]
fn earlier_runs_articles_are_counted_or_pruned_and_nothing_else_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    for id in ["kept", "old", "older"] {
        write_article(out, &article(id, None)).unwrap();
    }
    // Not anubad's: a JSON of another shape, a record under another name,
    // pages without a record, anything else.
    fs::write(out.join("notes.json"), "{\"id\": \"notes\"}").unwrap();
    fs::copy(out.join("old.json"), out.join("renamed.json")).unwrap();
    fs::write(out.join("lonely.md"), "# mine\n").unwrap();
    fs::write(out.join("lonely.html"), "<p>mine</p>").unwrap();
    fs::write(out.join("readme.txt"), "mine").unwrap();
    let run = [article("kept", None)];

    let counted = finish_run(out, &RunArticles::of(&run), &[], None, false).unwrap();
    assert_eq!(counted.older_articles, 2);
    assert_eq!(counted.pruned_articles, 0);
    let digest = fs::read_to_string(out.join(DIGEST_FILE_NAME)).unwrap();
    assert!(digest.contains("1 article from this run; 2 older articles in this folder are not included (run with --prune to remove them)."), "{digest}");
    assert!(!digest.contains("old.md"), "{digest}");
    assert!(out.join("old.json").exists());

    let pruned = finish_run(out, &RunArticles::of(&run), &[], None, true).unwrap();
    assert_eq!(pruned.pruned_articles, 2);
    assert_eq!(pruned.older_articles, 0);
    let mut removed: Vec<String> = pruned
        .pruned_files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            "old.html",
            "old.json",
            "old.md",
            "older.html",
            "older.json",
            "older.md"
        ]
    );
    assert_eq!(
        dir_entries(out),
        [
            "digest.html",
            "digest.md",
            "kept.html",
            "kept.json",
            "kept.md",
            "lonely.html",
            "lonely.md",
            "manifest.json",
            "notes.json",
            "readme.txt",
            "renamed.json",
        ]
    );
    let digest = fs::read_to_string(out.join(DIGEST_FILE_NAME)).unwrap();
    assert!(digest.contains("1 article from this run.\n"), "{digest}");
}

#[test]
fn a_digest_of_more_than_a_thousand_articles_shows_the_newest_and_says_so() {
    use crate::output::run_articles::DIGEST_MAX_ARTICLES;
    let dir = tempfile::tempdir().unwrap();
    let mut run = RunArticles::new();
    let total = DIGEST_MAX_ARTICLES + 5;
    for day in 0..total {
        // Days 0..1005 after 2020-01-01, in an order that is not by date.
        let n = (day * 7919) % total;
        let date = (chrono_like_date(n)).to_string();
        run.add(&article(&format!("a{n:04}"), Some(&date)), "");
    }
    finish_run(dir.path(), &run, &[], None, false).unwrap();
    let digest = std::fs::read_to_string(dir.path().join("digest.md")).unwrap();
    assert!(
        digest.contains(&format!(
            "{total} articles from this run. The digest shows the newest {DIGEST_MAX_ARTICLES}; \
             manifest.json lists every article."
        )),
        "{}",
        &digest[..300]
    );
    // The five oldest are left out, the newest is in.
    for n in 0..5 {
        assert!(!digest.contains(&format!("(<a{n:04}.md>)")), "a{n:04}");
    }
    assert!(digest.contains(&format!("(<a{:04}.md>)", total - 1)));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["articles"].as_array().unwrap().len(), total);
}

/// `n` days after 2020-01-01 as an ISO date (months of 28 days are enough
/// for an order).
fn chrono_like_date(n: usize) -> String {
    format!(
        "{}-{:02}-{:02}",
        2020 + n / 336,
        n % 336 / 28 + 1,
        n % 28 + 1
    )
}
