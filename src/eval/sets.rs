//! Evaluation sets as they come: one file of lines per side (FLORES-style
//! `src` and `ref` files, and hypotheses), a TSV of source and reference
//! columns, or JSON Lines with `src` and `ref` (a string or a list of
//! them).

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: no sentences", path.display())]
    Empty { path: PathBuf },
}

/// Sources and their references, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalSet {
    pub sources: Vec<String>,
    /// Reference streams, each as long as `sources`.
    pub references: Vec<Vec<String>>,
}

/// A text file's lines, one segment each: split at `\n`, a `\r` before it
/// dropped (as Python reads text files for sacreBLEU); no final empty line
/// for a file that ends in a newline.
pub fn read_lines(path: &Path) -> Result<Vec<String>, SetError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(split_lines(&text))
}

fn split_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
        .collect()
}

/// The set in `path`: JSON Lines when it ends in `.jsonl`, else TSV
/// (source, then one column per reference; a first row naming its
/// columns `src`, `ref`... is a header).
pub fn read_set(path: &Path) -> Result<EvalSet, SetError> {
    let lines = read_lines(path)?;
    let jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    let set = if jsonl {
        parse_jsonl(path, &lines)?
    } else {
        parse_tsv(path, &lines)?
    };
    if set.sources.is_empty() {
        return Err(SetError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(set)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum References {
    One(String),
    Several(Vec<String>),
}

#[derive(Deserialize)]
struct Record {
    src: String,
    #[serde(rename = "ref")]
    reference: References,
}

fn parse_jsonl(path: &Path, lines: &[String]) -> Result<EvalSet, SetError> {
    let mut rows = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|e| SetError::Record {
            path: path.to_path_buf(),
            line: number + 1,
            message: format!("not a {{\"src\", \"ref\"}} record: {e}"),
        })?;
        let references = match record.reference {
            References::One(reference) => vec![reference],
            References::Several(references) => references,
        };
        rows.push((number + 1, record.src, references));
    }
    collect_rows(path, rows)
}

fn parse_tsv(path: &Path, lines: &[String]) -> Result<EvalSet, SetError> {
    let mut rows = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let mut columns = line.split('\t').map(str::to_string);
        let source = columns.next().unwrap_or_default();
        let references: Vec<String> = columns.collect();
        let header =
            number == 0 && source == "src" && references.iter().all(|c| c.starts_with("ref"));
        if header {
            continue;
        }
        rows.push((number + 1, source, references));
    }
    collect_rows(path, rows)
}

/// Rows into streams: every row needs as many references as the first.
fn collect_rows(path: &Path, rows: Vec<(usize, String, Vec<String>)>) -> Result<EvalSet, SetError> {
    let streams = rows.first().map_or(0, |(_, _, refs)| refs.len());
    let mut set = EvalSet {
        sources: Vec::with_capacity(rows.len()),
        references: vec![Vec::with_capacity(rows.len()); streams],
    };
    for (line, source, references) in rows {
        if references.len() != streams || streams == 0 {
            return Err(SetError::Record {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "{} references where the first row has {streams} (at least one needed)",
                    references.len()
                ),
            });
        }
        set.sources.push(source);
        for (stream, reference) in set.references.iter_mut().zip(references) {
            stream.push(reference);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn lines_keep_empty_ones_and_drop_crlf() {
        assert_eq!(split_lines("a\r\n\nb\n"), ["a", "", "b"]);
        assert!(split_lines("").is_empty());
    }

    #[test]
    fn tsv_with_header_and_two_references() {
        let (_dir, path) = write("set.tsv", "src\tref1\tref2\nক\tk\tK\nখ\tkh\tKh\n");
        let set = read_set(&path).unwrap();
        assert_eq!(set.sources, ["ক", "খ"]);
        assert_eq!(set.references, [vec!["k", "kh"], vec!["K", "Kh"]]);
    }

    #[test]
    fn jsonl_takes_a_reference_or_a_list() {
        let (_dir, path) = write(
            "set.jsonl",
            "{\"src\": \"ক\", \"ref\": \"k\"}\n\n{\"src\": \"খ\", \"ref\": [\"kh\"]}\n",
        );
        let set = read_set(&path).unwrap();
        assert_eq!(set.references, [vec!["k", "kh"]]);
    }

    #[test]
    fn a_row_missing_its_reference_is_named() {
        let (_dir, path) = write("set.tsv", "ক\tk\nখ\n");
        let error = read_set(&path).unwrap_err().to_string();
        assert!(
            error.ends_with(
                "set.tsv:2: 0 references where the first row has 1 (at least one needed)"
            ),
            "{error}"
        );
    }
}
