//! `examples/spark/translate.py` on Spark in local mode (`local[2]`, four
//! partitions, so two `anubad run - --emit jsonl` processes share one
//! cache at a time) over 200 articles made from the fixture pages, each
//! varied by a number: its results must be those of one plain `anubad
//! run` of the same articles, as JSON Lines (JSONL in) and as Parquet
//! (Parquet in).
//!
//! Python with pyspark is `ANUBAD_TEST_PYTHON`, else `python3`; Spark also
//! needs Java 17 (`JAVA_HOME`, else `java` on `PATH`). Without either the
//! test says which is missing and passes, except under `CI=true`, where it
//! fails (`.ci/run` installs pyspark). With `ANUBAD_TEST_POSTGRES` (see
//! `support/postgres.rs`) the Spark runs share a PostgreSQL cache, as on a
//! cluster; without it, a cache folder.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, model_dir, read_json, root, run_articles, stderr};

#[path = "support/postgres.rs"]
mod server;
use server::TestDatabase;

const ARTICLES: usize = 200;

/// Fields that differ between the two runs by design: `input` is `stdin#N`
/// (a line of one partition) against `in.jsonl#N`, the fingerprint hashes
/// the input's name, and timings are times.
const DIFFERING: [&str; 3] = ["input", "fingerprint", "timings"];

/// One Spark job must not run longer than this (30–45 s on two busy cores).
const SPARK_TIMEOUT: Duration = Duration::from_secs(300);

/// Python with pyspark, or why there is none.
fn find_pyspark() -> Result<OsString, String> {
    let python = std::env::var_os("ANUBAD_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let java = match std::env::var_os("JAVA_HOME") {
        Some(home) => PathBuf::from(home).join("bin/java").into_os_string(),
        None => "java".into(),
    };
    let works = |program: &OsString, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !works(&python, &["-c", "import pyspark"]) {
        return Err(format!(
            "{} cannot import pyspark (set ANUBAD_TEST_PYTHON to a python with \
             `pip install -r examples/spark/requirements.txt`)",
            python.to_string_lossy()
        ));
    }
    if !works(&java, &["-version"]) {
        return Err(format!(
            "no Java at {} (Spark 4 needs Java 17; set JAVA_HOME)",
            java.to_string_lossy()
        ));
    }
    Ok(python)
}

fn bengali_digits(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|d| char::from_u32('০' as u32 + d.to_digit(10).unwrap()).unwrap())
        .collect()
}

/// 200 article records from the fixture pages: each gets its own report
/// number (a paragraph and, for some, the title), some a URL or a date, and
/// every seventh comes as HTML; the last two lines fail (a record
/// without text, a line that is not JSON).
fn articles_jsonl() -> String {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(articles_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (
                path.file_stem().unwrap().to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    pages.sort();
    let mut lines = String::new();
    for i in 0..ARTICLES {
        let (stem, page) = &pages[i % pages.len()];
        let number = bengali_digits(i + 1);
        let (title, body) = page.trim().split_once("\n\n").unwrap();
        let body = format!("{body}\n\nএই প্রতিবেদনের নম্বর {number}। মোট {number} জন সাক্ষী ছিলেন।");
        let mut record = json!({ "id": format!("{stem}-{i:03}") });
        if i % 7 == 0 {
            let paragraphs: String = body.split("\n\n").map(|p| format!("<p>{p}</p>")).collect();
            record["html"] = json!(format!(
                "<html><head><title>{title}</title></head><body><article>\
                 <h1>{title}</h1>{paragraphs}</article></body></html>"
            ));
        } else {
            record["text"] = json!(format!("{title}\n\n{body}"));
        }
        if i % 4 == 1 {
            record["title"] = json!(format!("{title} ({number})"));
        }
        if i % 2 == 0 {
            record["url"] = json!(format!("https://example.com/news/{i}"));
        }
        if i % 5 == 0 {
            record["published"] = json!(format!("2024-12-{:02}T12:43:00+06:00", 1 + i % 28));
        }
        lines.push_str(&record.to_string());
        lines.push('\n');
    }
    lines.push_str("{\"id\": \"no-text\"}\nnot JSON\n");
    lines
}

/// `python ARGS` in `work` with the test's offline HF cache, Spark in
/// `local[2]` without its web UI, stdout and stderr to files; killed after
/// [`SPARK_TIMEOUT`]. Returns the exit status and stderr.
fn spark(python: &OsString, work: &Path, name: &str, args: &[&OsStr]) -> (ExitStatus, String) {
    let mut command = Command::new(python);
    // The binary's environment as the other tests give it (private HF cache, offline).
    for (key, value) in anubad(work).get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let log = work.join(format!("{name}.stderr"));
    command
        .args(args)
        .current_dir(work)
        .env("PYSPARK_PYTHON", python)
        .env("PYSPARK_DRIVER_PYTHON", python)
        .env(
            "PYSPARK_SUBMIT_ARGS",
            "--master local[2] --conf spark.ui.enabled=false \
             --conf spark.ui.showConsoleProgress=false pyspark-shell",
        )
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        // The Parquet run imports the script: no __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("ANUBAD_CACHE")
        .env_remove("ANUBAD_MODEL")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(work.join(format!("{name}.stdout"))).unwrap())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = command.spawn().expect("python starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SPARK_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "{name}: Spark ran past {SPARK_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("{name}: {:.1}s", started.elapsed().as_secs_f64());
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

/// The result objects in a folder of `part-*` JSON Lines files, in order.
fn read_parts(dir: &Path) -> Vec<Value> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("part-")
        })
        .collect();
    parts.sort();
    assert!(!parts.is_empty(), "no part files in {}", dir.display());
    parts
        .iter()
        .flat_map(|part| {
            std::fs::read_to_string(part)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn without_differing(record: &Value) -> Value {
    let mut record = record.clone();
    for field in DIFFERING {
        record.as_object_mut().unwrap().remove(field);
    }
    record
}

/// Splits results into articles by id (no id twice) and failures.
fn by_id(results: Vec<Value>) -> (BTreeMap<String, Value>, Vec<Value>) {
    let mut articles = BTreeMap::new();
    let mut failed = Vec::new();
    for result in results {
        // Parquet gives every row every column, `null` where it has none.
        if !result["error"].is_null() {
            failed.push(result);
            continue;
        }
        let id = result["id"]
            .as_str()
            .expect("a result has an id")
            .to_string();
        assert!(articles.insert(id.clone(), result).is_none(), "{id} twice");
    }
    (articles, failed)
}

/// The two inputs that fail, each with its input's id where it had one.
fn check_failures(failed: &[Value]) {
    let mut failed = failed.to_vec();
    failed.sort_by_key(|failure| failure["input_id"].to_string());
    assert_eq!(failed.len(), 2, "{failed:?}");
    for failure in &failed {
        assert_eq!(failure["schema_version"], 2);
        assert!(
            failure["input"].as_str().unwrap().starts_with("stdin#"),
            "{failure}"
        );
    }
    assert_eq!(failed[0]["input_id"], "no-text");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("`text`"),
        "{failed:?}"
    );
    assert_eq!(failed[1]["input_id"], Value::Null);
    assert!(
        failed[1]["error"].as_str().unwrap().contains("`id`"),
        "{failed:?}"
    );
}

/// Reads Parquet input made from `in.jsonl`, runs the example with Parquet
/// out, and prints the results as JSON lines (nulls kept).
const PARQUET_ROUND_TRIP: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import translate
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sparkContext.addPyFile(translate.__file__)  # its functions run on the executors
spark.read.json("in.jsonl").write.parquet("in.parquet")
code = translate.main(["in.parquet", "--output", "out.parquet", "--output-format", "parquet"]
                      + sys.argv[2:])
spark.conf.set("spark.sql.jsonGenerator.ignoreNullFields", "false")
for line in spark.read.parquet("out.parquet").toJSON().collect():
    print(line)
sys.exit(code)
"#;

#[test]
fn spark_results_equal_a_plain_run() {
    let python = match find_pyspark() {
        Ok(python) => python,
        Err(missing) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true and the Spark test cannot run: {missing}")
        }
        Err(missing) => {
            eprintln!("skipping the Spark test: {missing}");
            return;
        }
    };
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let input = work.join("in.jsonl");
    std::fs::write(&input, articles_jsonl()).unwrap();

    let plain = work.join("plain");
    // Greedy: the Spark runs pass `--beams 1` through the script, and the
    // settings are in every <id>.json.
    let output = run_articles(work, &[&input], &plain, &["--beams", "1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let mut expected = BTreeMap::new();
    for entry in std::fs::read_dir(&plain).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".json").filter(|id| *id != "manifest") {
            expected.insert(id.to_string(), read_json(&path));
        }
    }
    assert_eq!(expected.len(), ARTICLES);

    // JSON Lines in and out, with a cache of its own: Spark's anubad
    // processes translate everything themselves. The cache is a database
    // of the PostgreSQL server when there is one (`ANUBAD_TEST_POSTGRES`,
    // as `.ci/run` gives), else a folder.
    let script = root().join("examples/spark/translate.py");
    let binary = env!("CARGO_BIN_EXE_anubad");
    let model = model_dir();
    let database = std::env::var("ANUBAD_TEST_POSTGRES")
        .is_ok_and(|url| !url.is_empty())
        .then(TestDatabase::create)
        .flatten();
    let spark_cache = match &database {
        Some(database) => OsString::from(&database.url),
        None => work.join("spark-cache").into_os_string(),
    };
    eprintln!("the Spark runs' cache: {}", spark_cache.to_string_lossy());
    let anubad_args: [&OsStr; 11] = [
        "--partitions".as_ref(),
        "4".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--anubad".as_ref(),
        binary.as_ref(),
        "--cache".as_ref(),
        &spark_cache,
        // Words after `--` go to anubad as they are.
        "--".as_ref(),
        "--beams".as_ref(),
        "1".as_ref(),
    ];
    let mut args: Vec<&OsStr> = vec![
        script.as_ref(),
        "in.jsonl".as_ref(),
        "--output".as_ref(),
        "out".as_ref(),
    ];
    args.extend(anubad_args);
    let (status, log) = spark(&python, work, "jsonl", &args);
    assert_eq!(status.code(), Some(1), "two inputs fail; stderr:\n{log}");
    assert!(
        log.contains(&format!("{ARTICLES} articles ok, 2 failed")),
        "{log}"
    );
    let (got, failed) = by_id(read_parts(&work.join("out")));
    check_failures(&failed);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (id, result) in &got {
        assert!(
            result["input"].as_str().unwrap().starts_with("stdin#"),
            "{result}"
        );
        assert_eq!(
            without_differing(result),
            without_differing(&expected[id]),
            "{id}: Spark's result differs from the plain run's {id}.json"
        );
    }

    // Parquet in and out (the cache is warm now). Spark gives every row
    // every column and types of its own, so the fields that carry the
    // article are compared.
    let examples = root().join("examples/spark");
    let mut args: Vec<&OsStr> = vec![
        "-c".as_ref(),
        PARQUET_ROUND_TRIP.as_ref(),
        examples.as_ref(),
    ];
    args.extend(anubad_args);
    let (status, log) = spark(&python, work, "parquet", &args);
    assert_eq!(status.code(), Some(1), "two inputs fail; stderr:\n{log}");
    assert!(
        log.contains(&format!("{ARTICLES} articles ok, 2 failed")),
        "{log}"
    );
    // Every sentence came from the cache the first Spark run filled.
    let closing: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" sentences: "))
        .collect();
    assert!(!closing.is_empty(), "no closing line from anubad:\n{log}");
    for line in closing {
        assert!(line.contains(": 0 translated,"), "{line}");
    }
    let lines = std::fs::read_to_string(work.join("parquet.stdout")).unwrap();
    let results = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (got, failed) = by_id(results);
    check_failures(&failed);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (id, result) in &got {
        for field in [
            "title",
            "paragraphs",
            "summary",
            "warnings",
            "published",
            "url",
            "model",
        ] {
            assert_eq!(
                result[field], expected[id][field],
                "{id}: {field} differs in Parquet"
            );
        }
    }
}
