//! `digest.html` as a reader sees it: the binary runs on the fixture
//! articles, then headless Chromium loads the page, gives back the DOM it
//! built and takes phone-sized screenshots in light and dark mode.
//!
//! Chromium is found at `ANUBAD_CHROMIUM`, else `chromium`,
//! `chromium-browser` or `google-chrome` on `PATH`; without one the test
//! says so on stderr and passes, since CI machines may have no browser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PHONE_WIDTH: u32 = 390;
const PHONE_HEIGHT: u32 = 844;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ANUBAD_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium headless on `page` with `extra` flags, killing it after a
/// minute so a hung browser fails the test instead of stalling it.
fn chromium(browser: &Path, profile: &Path, page: &Path, extra: &[String]) -> Output {
    let child = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let id = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let watcher = std::thread::spawn(move || child.wait_with_output());
    while !watcher.is_finished() {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    watcher.join().unwrap().expect("chromium output")
}

/// Width and height from a PNG's IHDR chunk, or `None` for anything that
/// is not a PNG.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    if bytes.len() < 24 || bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((word(16), word(20)))
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The values of every `name="…"` attribute in `html`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let marker = format!(" {name}=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn a_phone_browser_shows_every_story_with_the_original_folded_away() {
    let Some(browser) = find_chromium() else {
        eprintln!(
            "SKIPPED: no chromium found (install it, or set ANUBAD_CHROMIUM); \
             digest.html was not rendered"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    // A page title with markup and an ampersand, as a scraped feed may give.
    let jsonl = work.path().join("feed.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": \"hostile\", \"title\": \"<script>alert(1)</script> কিম & পুতিন\", \
          \"text\": \"কিম রাশিয়া সফর করেছেন।\", \"published\": \"2025-07-13\", \
          \"url\": \"javascript:alert(1)\"}\n",
    )
    .unwrap();
    let fixtures = root().join("tests/fixtures");
    let run = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .env("HF_HOME", work.path().join("hf"))
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("HF_ENDPOINT")
        .stdin(Stdio::null())
        .arg("run")
        .arg(fixtures.join("articles"))
        .arg(fixtures.join("html/jugantor.html"))
        .arg(fixtures.join("html/no-body.html"))
        .arg(&jsonl)
        .arg("--out")
        .arg(&out)
        .arg("--model")
        .arg(fixtures.join("marian-tiny"))
        .arg("--no-cache")
        .output()
        .expect("binary runs");
    // no-body.html fails on purpose, so the failed-inputs section shows.
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = out.join("digest.html");
    let html = std::fs::read_to_string(&page).expect("digest.html written");
    let ids = [
        "kim-troops",
        "lavrov-visit",
        "self-defence",
        "jugantor",
        "hostile",
    ];
    let articles: Vec<Value> = ids
        .iter()
        .map(|id| {
            let text = std::fs::read_to_string(out.join(format!("{id}.json"))).unwrap();
            serde_json::from_str(&text).unwrap()
        })
        .collect();

    // Nothing is fetched from anywhere: no scripts, style sheets, images or
    // fonts; the only links are to the translations and the article pages.
    for loader in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(loader), "{loader} in digest.html");
    }
    assert!(attribute_values(&html, "src").is_empty());
    let article_urls: Vec<&str> = articles.iter().filter_map(|a| a["url"].as_str()).collect();
    for href in attribute_values(&html, "href") {
        let to_translation = ids.iter().any(|id| href == format!("{id}.md"));
        let to_article = article_urls
            .iter()
            .any(|url| escape_html(&url.replace(' ', "%20")) == href);
        assert!(to_translation || to_article, "unexpected link {href}");
    }
    assert!(!html.contains("javascript:"));

    let profile = work.path().join("chromium-profile");
    let dumped = chromium(&browser, &profile, &page, &["--dump-dom".to_string()]);
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let dom = String::from_utf8(dumped.stdout).unwrap();
    assert!(dom.contains("<h1>Anubad digest</h1>"), "{dom}");
    assert!(dom.contains("5 stories"), "{dom}");
    for (id, article) in ids.iter().zip(&articles) {
        let title = escape_html(article["title"]["en"].as_str().unwrap());
        assert!(
            dom.contains(&format!("<a href=\"{id}.md\">{title}</a>")),
            "title of {id} ({title}) not shown:\n{dom}"
        );
        let bengali = escape_html(article["title"]["bn"].as_str().unwrap());
        assert!(dom.contains(&bengali), "Bengali title of {id} missing");
    }
    // The markup in the page title stayed text.
    assert!(!dom.contains("<script"), "{dom}");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; কিম &amp; পুতিন"));
    // One closed toggle per story, holding Bengali.
    assert_eq!(dom.matches("<details>").count(), ids.len(), "{dom}");
    assert!(!dom.contains("<details open"), "{dom}");
    assert_eq!(dom.matches("lang=\"bn\"").count(), ids.len());
    assert_eq!(dom.matches(">extractive summary</span>").count(), ids.len());
    assert!(dom.contains("<time datetime=\"2025-06-02T18:45:00+06:00\">2 Jun 2025, 18:45</time>"));
    assert!(dom.contains("<h2>Failed inputs</h2>") && dom.contains("no-body.html"));

    let light = work.path().join("light.png");
    let dark = work.path().join("dark.png");
    for (shot, dark_mode) in [(&light, false), (&dark, true)] {
        let mut flags = vec![
            format!("--screenshot={}", shot.display()),
            format!("--window-size={PHONE_WIDTH},{PHONE_HEIGHT}"),
        ];
        if dark_mode {
            // Headless Chromium then reports `prefers-color-scheme: dark`.
            flags.push("--force-dark-mode".to_string());
        }
        let taken = chromium(&browser, &profile, &page, &flags);
        assert!(
            taken.status.success(),
            "{}",
            String::from_utf8_lossy(&taken.stderr)
        );
        let bytes = std::fs::read(shot).expect("screenshot written");
        assert_eq!(png_size(&bytes), Some((PHONE_WIDTH, PHONE_HEIGHT)));
        // A blank page of this size compresses to under 3 KB; text makes more.
        assert!(bytes.len() > 20_000, "{} bytes only", bytes.len());
        if let Some(keep) = std::env::var_os("ANUBAD_KEEP_SCREENSHOTS") {
            let name = shot.file_name().unwrap();
            std::fs::copy(shot, Path::new(&keep).join(name)).unwrap();
        }
    }
    assert_ne!(
        std::fs::read(&light).unwrap(),
        std::fs::read(&dark).unwrap(),
        "dark mode looks the same as light mode"
    );
}
