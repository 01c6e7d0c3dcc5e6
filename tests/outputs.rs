//! What `anubad run` leaves in `--out` for a reader, through the real binary
//! on the fixture model: each article's HTML page, the JSON's versions and
//! shape, failed inputs in the digest, the manifest, `--prune`, and articles
//! of the same text shown once. Every test works in its own temporary
//! directory and cache; none touches the network.

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, read_json, root, run_articles, stderr};

const FIXTURE_IDS: [&str; 3] = ["kim-troops", "lavrov-visit", "self-defence"];

/// The fields of `<id>.json` that a page may not give.
const OPTIONAL_FIELDS: [&str; 6] = [
    "url",
    "published",
    "updated",
    "source",
    "source_en",
    "byline",
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The sentences of one language of an article record, paragraph by
/// paragraph.
fn sentences(article: &Value, language: &str) -> Vec<Vec<String>> {
    article["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|paragraph| {
            paragraph
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| pair[language].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn copy_article(name: &str, to: &Path) {
    std::fs::copy(articles_dir().join(name), to).unwrap();
}

#[test]
fn every_article_gets_a_page_the_html_digest_links_to() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let digest_html = read(&out.join("digest.html"));
    let digest_md = read(&out.join("digest.md"));
    for id in FIXTURE_IDS {
        let article = read_json(&out.join(format!("{id}.json")));
        let page = read(&out.join(format!("{id}.html")));
        assert!(
            digest_html.contains(&format!("<a href=\"{id}.html\">")),
            "{digest_html}"
        );
        assert!(!digest_html.contains(&format!("{id}.md")), "{digest_html}");
        assert!(digest_md.contains(&format!("(<{id}.md>)")), "{digest_md}");
        // Self-contained: nothing to load but the link back and the source.
        for loader in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            assert!(!page.contains(loader), "{loader} in {id}.html");
        }
        assert!(page.contains(&format!(
            "<h1>{}</h1>",
            escape_html(article["title"]["en"].as_str().unwrap())
        )));
        assert!(page.contains(&escape_html(article["title"]["bn"].as_str().unwrap())));
        assert!(page.contains(&escape_html(article["summary"]["text"].as_str().unwrap())));
        assert!(page.contains(">extractive summary</span>"));
        // Every sentence of every paragraph, in both languages, in order.
        let mut at = 0;
        for (english, bengali) in sentences(&article, "en")
            .iter()
            .zip(sentences(&article, "bn"))
        {
            for sentence in english.iter().chain(&bengali) {
                let found = page[at..]
                    .find(&escape_html(sentence))
                    .unwrap_or_else(|| panic!("{sentence:?} not in order in {id}.html"));
                at += found;
            }
        }
        let model = article["model"]["name"].as_str().unwrap();
        assert!(page.contains(&format!("Translated by {model}")), "{page}");
        assert!(page.contains("licence"), "{page}");
    }

    // A rerun leaves the pages alone; a page that went missing is rewritten.
    let page = out.join("kim-troops.html");
    let before = modified(&page);
    let rerun = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(stderr(&rerun).contains("3 unchanged"), "{}", stderr(&rerun));
    assert_eq!(modified(&page), before);
    std::fs::remove_file(&page).unwrap();
    let rerun = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(stderr(&rerun).contains("2 unchanged"), "{}", stderr(&rerun));
    assert!(page.is_file());
}

#[test]
fn article_json_has_versions_the_english_source_and_every_field_like_extract() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let page = root().join("tests/fixtures/html/jugantor.html");
    let text = articles_dir().join("kim-troops.txt");
    let output = run_articles(work.path(), &[&page, &text], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let extracted = anubad(work.path())
        .arg("extract")
        .arg(&page)
        .arg(&text)
        .output()
        .unwrap();
    assert!(extracted.status.success(), "{}", stderr(&extracted));
    let lines: Vec<Value> = String::from_utf8(extracted.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();

    for (id, line) in ["jugantor", "kim-troops"].iter().zip(&lines) {
        let article = read_json(&out.join(format!("{id}.json")));
        assert_eq!(article["schema_version"], 2);
        assert_eq!(article["anubad_version"], env!("CARGO_PKG_VERSION"));
        // What a page does not give is there as null, in both.
        for field in OPTIONAL_FIELDS {
            let written = article
                .get(field)
                .unwrap_or_else(|| panic!("{id}: no {field}"));
            let listed = line
                .get(field)
                .unwrap_or_else(|| panic!("extract {id}: no {field}"));
            assert_eq!(written, listed, "{id}: {field}");
        }
        assert!(article["summary"].get("headline").is_some(), "{id}");
    }
    let jugantor = read_json(&out.join("jugantor.json"));
    assert_eq!(jugantor["source"], "বাসস");
    assert_eq!(jugantor["source_en"], "BSS (Bangladesh Sangbad Sangstha)");
    assert!(read(&out.join("jugantor.html")).contains("BSS (Bangladesh Sangbad Sangstha)"));
    let kim = read_json(&out.join("kim-troops.json"));
    assert_eq!(kim["url"], Value::Null);
    assert_eq!(kim["byline"], Value::Null);
}

#[test]
fn an_article_file_of_an_earlier_version_is_read_and_rewritten() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    // As versions before the schema wrote it: no versions, no English
    // source name, unknown fields left out.
    let path = out.join("kim-troops.json");
    let mut old = read_json(&path);
    let record = old.as_object_mut().unwrap();
    record.retain(|_, value| !value.is_null());
    for field in ["schema_version", "anubad_version", "source_en"] {
        record.remove(field);
    }
    old["summary"].as_object_mut().unwrap().remove("headline");
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();

    let rerun = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("3 articles ok (2 unchanged)"),
        "{}",
        stderr(&rerun)
    );
    let rewritten = read_json(&path);
    assert_eq!(rewritten["schema_version"], 2);
    assert_eq!(rewritten["url"], Value::Null);
    assert_eq!(rewritten["paragraphs"], old["paragraphs"]);
}

#[test]
fn a_failed_input_is_named_once_in_both_digests() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    copy_article("kim-troops.txt", &inputs.join("good.txt"));
    std::fs::write(inputs.join("empty.txt"), "\n  \n").unwrap();
    std::fs::write(inputs.join("latin1.txt"), b"caf\xe9 Dhaka").unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&inputs], &out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let md = read(&out.join("digest.md"));
    let html = read(&out.join("digest.html"));
    for (name, reason) in [("empty.txt", "empty"), ("latin1.txt", "not UTF-8")] {
        assert_eq!(md.matches(name).count(), 1, "{md}");
        assert_eq!(html.matches(name).count(), 1, "{html}");
        let line = md.lines().find(|l| l.contains(name)).unwrap();
        assert!(line.starts_with("- ") && line.contains(reason), "{line}");
    }
}

#[test]
fn the_manifest_lists_the_run_and_prune_removes_only_older_articles() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let all = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(all.status.success(), "{}", stderr(&all));
    // Files anubad did not write, some named like its own.
    std::fs::write(
        out.join("notes.json"),
        "{\"id\": \"notes\", \"paragraphs\": []}",
    )
    .unwrap();
    std::fs::write(out.join("notes.md"), "# my notes\n").unwrap();
    std::fs::write(out.join("page.html"), "<p>my page</p>").unwrap();
    std::fs::write(out.join("readme.txt"), "mine").unwrap();
    let theirs = ["notes.json", "notes.md", "page.html", "readme.txt"];

    let one = articles_dir().join("kim-troops.txt");
    let kept = run_articles(work.path(), &[&one], &out, &[]);
    assert!(kept.status.success(), "{}", stderr(&kept));
    assert!(
        stderr(&kept).contains("note: 2 older articles in"),
        "{}",
        stderr(&kept)
    );
    let digest = read(&out.join("digest.md"));
    assert!(
        digest.contains(
            "1 article from this run; 2 older articles in this folder are not included \
             (run with --prune to remove them)."
        ),
        "{digest}"
    );
    let html = read(&out.join("digest.html"));
    assert!(html.contains("2 older articles in this folder"), "{html}");
    for id in ["lavrov-visit", "self-defence"] {
        assert!(
            !digest.contains(id) && !html.contains(id),
            "{id} in the digest"
        );
        assert!(out.join(format!("{id}.html")).exists());
    }
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["schema_version"], 2);
    assert_eq!(manifest["anubad_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        manifest["articles"],
        serde_json::json!([{
            "id": "kim-troops",
            "input": one.display().to_string(),
            "files": ["kim-troops.json", "kim-troops.md", "kim-troops.html"],
            "duplicate_of": null,
        }])
    );
    assert_eq!(manifest["failed"], serde_json::json!([]));

    let pruned = run_articles(work.path(), &[&one], &out, &["--prune", "-v"]);
    let err = stderr(&pruned);
    assert!(pruned.status.success(), "{err}");
    assert!(err.contains("pruned 2 older articles from"), "{err}");
    assert!(err.contains("(6 files)"), "{err}");
    for id in ["lavrov-visit", "self-defence"] {
        for extension in ["json", "md", "html"] {
            let file = out.join(format!("{id}.{extension}"));
            assert!(!file.exists(), "{} left", file.display());
            assert!(
                err.lines()
                    .any(|l| l.contains("removed") && l.contains(&format!("{id}.{extension}"))),
                "{err}"
            );
        }
    }
    for name in theirs {
        assert!(out.join(name).exists(), "{name} was removed");
    }
    for name in [
        "kim-troops.json",
        "kim-troops.md",
        "kim-troops.html",
        "manifest.json",
    ] {
        assert!(out.join(name).exists(), "{name} was removed");
    }
    let digest = read(&out.join("digest.md"));
    assert!(digest.contains("1 article from this run.\n"), "{digest}");

    // Without -v the count only; with nothing left, nothing to remove.
    let again = run_articles(work.path(), &[&one], &out, &["--prune"]);
    let err = stderr(&again);
    assert!(err.contains("pruned 0 older articles"), "{err}");
    assert!(!err.contains("removed"), "{err}");
}

#[test]
fn articles_of_the_same_text_are_one_story_listing_every_input() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    copy_article("kim-troops.txt", &inputs.join("kim-a.txt"));
    // The same report with other spacing and line ends.
    let text = read(&articles_dir().join("kim-troops.txt"));
    std::fs::write(inputs.join("kim-b.txt"), text.replace('\n', "  \r\n")).unwrap();
    copy_article("lavrov-visit.md", &inputs.join("lavrov-visit.md"));
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&inputs], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // Each input keeps its own files.
    let a = read_json(&out.join("kim-a.json"));
    let b = read_json(&out.join("kim-b.json"));
    assert_eq!(a["paragraphs"], b["paragraphs"]);
    assert!(out.join("kim-b.html").exists() && out.join("kim-b.md").exists());

    let title = a["title"]["en"].as_str().unwrap();
    let md = read(&out.join("digest.md"));
    assert!(
        md.contains("3 articles from this run (1 with the same text"),
        "{md}"
    );
    assert_eq!(
        md.matches("(<kim-a.md>)").count(),
        2,
        "heading and list: {md}"
    );
    assert_eq!(md.matches("(<kim-b.md>)").count(), 1, "list only: {md}");
    let listed = md.find("Same text in 2 inputs:").expect(&md);
    for name in ["kim-a.txt", "kim-b.txt"] {
        let at = md.find(name).expect(name);
        assert!(at > listed, "{name} listed under the story: {md}");
    }
    let html = read(&out.join("digest.html"));
    assert_eq!(
        html.matches(&format!(">{}</a></h", escape_html(title)))
            .count(),
        1,
        "{html}"
    );
    assert!(html.contains("Same text in 2 inputs"), "{html}");
    assert_eq!(html.matches("<article ").count(), 2, "{html}");

    let manifest = read_json(&out.join("manifest.json"));
    let duplicate_of = |id: &str| {
        manifest["articles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["id"] == id)
            .unwrap()["duplicate_of"]
            .clone()
    };
    assert_eq!(duplicate_of("kim-a"), Value::Null);
    assert_eq!(duplicate_of("kim-b"), "kim-a");
    assert_eq!(duplicate_of("lavrov-visit"), Value::Null);
}

#[test]
fn pages_are_never_read_back_or_written_over_an_input() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // An HTML article in --out, named on its own: its page would replace it.
    let page = out.join("jugantor.html");
    std::fs::copy(root().join("tests/fixtures/html/jugantor.html"), &page).unwrap();
    let before = std::fs::read(&page).unwrap();
    let refused = run_articles(work.path(), &[&page], &out, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--out"), "{}", stderr(&refused));
    assert_eq!(std::fs::read(&page).unwrap(), before);
    assert!(!out.join("jugantor.json").exists());

    // An earlier run's folder without its digest: its pages are not articles.
    let earlier = work.path().join("earlier");
    let first = run_articles(work.path(), &[&articles_dir()], &earlier, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    for name in ["digest.md", "digest.html", "manifest.json"] {
        std::fs::remove_file(earlier.join(name)).unwrap();
    }
    let again = run_articles(
        work.path(),
        &[&earlier],
        &work.path().join("again"),
        &["-v"],
    );
    let err = stderr(&again);
    // No page was read: nothing is left to translate, a usage error.
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("no articles to read in"), "{err}");
    assert!(!work.path().join("again/kim-troops.json").exists());
}
