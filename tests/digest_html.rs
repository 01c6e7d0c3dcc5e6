//! `digest.html` and each article's `<id>.html` as a reader sees them: the
//! binary runs on the fixture articles, then headless Chromium loads a page,
//! gives back the DOM it built, measures its layout at phone width (a copy
//! of the page with a measuring script added, since the pages themselves
//! carry none) and takes phone-sized screenshots in light and dark mode.
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

/// Runs the binary on the fixture articles, two pages (one without a
/// story, so the digest lists a failed input) and a feed record whose title
/// carries markup and whose number the tiny model loses; returns `--out`.
fn run_fixtures(work: &Path) -> PathBuf {
    let out = work.join("out");
    // A page title with markup and an ampersand, as a scraped feed may give.
    let jsonl = work.join("feed.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": \"hostile\", \"title\": \"<script>alert(1)</script> কিম & পুতিন\", \
          \"text\": \"কিম রাশিয়া সফর করেছেন।\", \"published\": \"2025-07-13\", \
          \"url\": \"javascript:alert(1)\"}\n",
    )
    .unwrap();
    let fixtures = root().join("tests/fixtures");
    let run = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .env("HF_HOME", work.join("hf"))
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
    out
}

/// What a script measures of `page` in Chromium at phone width: the
/// document's width against the viewport's, whether dark mode was on, and
/// each `selector` box's padding (top, right, bottom, left, in CSS pixels)
/// and background against the page's. The pages carry no script, and
/// headless Chromium lays out a window no narrower than 500 pixels, so the
/// page is loaded into a phone-wide frame of a measuring page instead.
fn measure(browser: &Path, profile: &Path, page: &Path, selector: &str, dark: bool) -> Value {
    const MEASURING_PAGE: &str = "<!DOCTYPE html><html><body style=\"margin:0\">\
        <iframe id=\"phone\" style=\"border:0;width:WIDTHpx;height:HEIGHTpx\" \
        srcdoc=\"PAGE\"></iframe><script>\
        const phone = document.getElementById('phone');\
        phone.onload = () => {\
          const doc = phone.contentDocument, win = phone.contentWindow;\
          const boxes = [...doc.querySelectorAll(SELECTOR)].map(b => {\
            const s = win.getComputedStyle(b);\
            return {padding: [s.paddingTop, s.paddingRight, s.paddingBottom, s.paddingLeft]\
              .map(parseFloat), background: s.backgroundColor};});\
          const measured = {scrollWidth: doc.documentElement.scrollWidth,\
            innerWidth: win.innerWidth,\
            dark: win.matchMedia('(prefers-color-scheme: dark)').matches,\
            pageBackground: win.getComputedStyle(doc.body).backgroundColor, boxes};\
          const pre = document.createElement('pre');\
          pre.id = 'measured';\
          pre.textContent = JSON.stringify(measured);\
          document.body.appendChild(pre);\
        };</script></body></html>";
    let html = std::fs::read_to_string(page).unwrap();
    let measuring = MEASURING_PAGE
        .replace("WIDTH", &PHONE_WIDTH.to_string())
        .replace("HEIGHT", &PHONE_HEIGHT.to_string())
        .replace("SELECTOR", &format!("{selector:?}"))
        .replace("PAGE", &escape_html(&html));
    let measuring_page = page.with_file_name(format!(
        "measure-{}",
        page.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&measuring_page, measuring).unwrap();
    let mut flags = vec![
        "--dump-dom".to_string(),
        "--virtual-time-budget=5000".to_string(),
    ];
    if dark {
        flags.push("--force-dark-mode".to_string());
    }
    let dumped = chromium(browser, profile, &measuring_page, &flags);
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let dom = String::from_utf8(dumped.stdout).unwrap();
    let marker = "<pre id=\"measured\">";
    let start = dom.find(marker).expect("the measuring script ran") + marker.len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let measured: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(measured["dark"], dark, "{measured}");
    assert_eq!(measured["innerWidth"], PHONE_WIDTH, "{measured}");
    measured
}

/// Nothing on `page` is wider than a phone, in light and dark mode, and
/// every `selector` box whose background stands out from the page's keeps
/// its text off its edges.
fn check_phone_layout(browser: &Path, profile: &Path, page: &Path, selector: &str) {
    for dark in [false, true] {
        let measured = measure(browser, profile, page, selector, dark);
        assert!(
            measured["scrollWidth"].as_u64().unwrap() <= u64::from(PHONE_WIDTH),
            "{} scrolls sideways at phone width (dark: {dark}): {measured}",
            page.display()
        );
        let boxes = measured["boxes"].as_array().unwrap();
        assert!(!boxes.is_empty(), "no {selector} on {}", page.display());
        for measured_box in boxes {
            let background = &measured_box["background"];
            if background == &measured["pageBackground"] || background == "rgba(0, 0, 0, 0)" {
                continue;
            }
            for side in measured_box["padding"].as_array().unwrap() {
                assert!(
                    side.as_f64().unwrap() >= 8.0,
                    "a {selector} box's text touches its edge (dark: {dark}): {measured_box}"
                );
            }
        }
    }
}

/// Phone-sized screenshots of `page` in light and dark mode: both taken,
/// not blank, and different.
fn check_screenshots(browser: &Path, profile: &Path, page: &Path, work: &Path) {
    let stem = page.file_stem().unwrap().to_string_lossy();
    let light = work.join(format!("{stem}-light.png"));
    let dark = work.join(format!("{stem}-dark.png"));
    for (shot, dark_mode) in [(&light, false), (&dark, true)] {
        let mut flags = vec![
            format!("--screenshot={}", shot.display()),
            format!("--window-size={PHONE_WIDTH},{PHONE_HEIGHT}"),
        ];
        if dark_mode {
            // Headless Chromium then reports `prefers-color-scheme: dark`.
            flags.push("--force-dark-mode".to_string());
        }
        let taken = chromium(browser, profile, page, &flags);
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
    let out = run_fixtures(work.path());
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
        let to_translation = ids.iter().any(|id| href == format!("{id}.html"));
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
    assert!(dom.contains("5 articles from this run."), "{dom}");
    for (id, article) in ids.iter().zip(&articles) {
        let title = escape_html(article["title"]["en"].as_str().unwrap());
        assert!(
            dom.contains(&format!("<a href=\"{id}.html\">{title}</a>")),
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
    assert!(dom.contains("<h2>Failed inputs</h2>"));
    assert_eq!(
        dom.matches("no-body.html").count(),
        1,
        "the path once: {dom}"
    );

    check_phone_layout(&browser, &profile, &page, "article");
    check_screenshots(&browser, &profile, &page, work.path());
}

/// `(paragraph, sentence, text)` of each warning of `article` about one
/// sentence ("paragraph 2, sentence 1: number ৫০ (50) is not in the
/// translation"), as `<id>.json` writes them.
fn sentence_warnings(article: &Value) -> Vec<(usize, usize, String)> {
    article["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|warning| {
            let text = warning.as_str()?;
            let (paragraph, rest) = text.strip_prefix("paragraph ")?.split_once(", sentence ")?;
            let (sentence, what) = rest.split_once(": ")?;
            Some((
                paragraph.parse().ok()?,
                sentence.parse().ok()?,
                what.to_string(),
            ))
        })
        .collect()
}

#[test]
fn a_phone_browser_shows_an_article_with_its_original_and_warnings_in_place() {
    let Some(browser) = find_chromium() else {
        eprintln!(
            "SKIPPED: no chromium found (install it, or set ANUBAD_CHROMIUM); \
             no article page was rendered"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let out = run_fixtures(work.path());
    let profile = work.path().join("chromium-profile");
    let mut warnings_shown = 0;
    for id in [
        "kim-troops",
        "lavrov-visit",
        "self-defence",
        "jugantor",
        "hostile",
    ] {
        let article: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(format!("{id}.json"))).unwrap())
                .unwrap();
        let page = out.join(format!("{id}.html"));
        let html = std::fs::read_to_string(&page).expect("page written");
        for loader in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            assert!(!html.contains(loader), "{loader} in {id}.html");
        }
        assert!(attribute_values(&html, "src").is_empty());
        assert!(!html.contains("javascript:"));
        let dumped = chromium(&browser, &profile, &page, &["--dump-dom".to_string()]);
        assert!(
            dumped.status.success(),
            "{}",
            String::from_utf8_lossy(&dumped.stderr)
        );
        let dom = String::from_utf8(dumped.stdout).unwrap();
        let title = escape_html(article["title"]["en"].as_str().unwrap());
        assert!(dom.contains(&format!("<h1>{title}</h1>")), "{dom}");
        assert!(!dom.contains("<script"), "{dom}");

        // Paragraph by paragraph: the English, then the Bengali beside it,
        // and each warning about a sentence inside that paragraph.
        let paragraphs = article["paragraphs"].as_array().unwrap();
        for (p, paragraph) in (1..).zip(paragraphs) {
            let start = dom
                .find(&format!("<div class=\"para\" id=\"p{p}\">"))
                .unwrap_or_else(|| panic!("{id}: no paragraph {p}:\n{dom}"));
            let block = &dom[start..start + dom[start..].find("</div>").unwrap()];
            let english = block.find("<p class=\"en\">").expect(block);
            let bengali = block.find("<p class=\"bn\" lang=\"bn\">").expect(block);
            assert!(english < bengali, "{block}");
            for pair in paragraph.as_array().unwrap() {
                let en = escape_html(pair["en"].as_str().unwrap());
                let bn = escape_html(pair["bn"].as_str().unwrap());
                let en_at = block.find(&en).unwrap_or_else(|| panic!("{en} in {block}"));
                let bn_at = block.find(&bn).unwrap_or_else(|| panic!("{bn} in {block}"));
                assert!(en_at < bengali && bn_at > bengali, "{block}");
            }
            for (_, sentence, what) in sentence_warnings(&article)
                .into_iter()
                .filter(|(paragraph, _, _)| *paragraph == p)
            {
                let en = escape_html(paragraph[sentence - 1]["en"].as_str().unwrap());
                let flagged = block
                    .find(&format!("<span class=\"flagged\">{en}</span>"))
                    .unwrap_or_else(|| panic!("sentence {sentence} not marked: {block}"));
                let note = block
                    .find(&format!("⚠ {}", escape_html(&what)))
                    .unwrap_or_else(|| panic!("{what} not in paragraph {p}: {block}"));
                assert!(flagged < note && note < bengali, "{block}");
                warnings_shown += 1;
            }
        }
        match article["model"]["licence"].as_str() {
            Some(licence) => assert!(dom.contains(&format!("licence: {}", escape_html(licence)))),
            None => assert!(dom.contains("licence unknown"), "{dom}"),
        }
        assert!(dom.contains(article["model"]["name"].as_str().unwrap()));
        check_phone_layout(&browser, &profile, &page, ".para, header, footer");
    }
    assert!(
        warnings_shown > 0,
        "the fixtures gave no warning about a sentence to look for"
    );
    // Screenshots of one article with a warning, light and dark.
    check_screenshots(&browser, &profile, &out.join("jugantor.html"), work.path());
}
