#!/usr/bin/env python3
"""Build tests/fixtures/bangla-normalizer/cases.json from the Python original.

BanglaT5 expects its inputs to go through csebuetnlp's normalizer
(github.com/csebuetnlp/normalizer, commit d405944). src/tokenize/bangla_normalizer.rs
ports `normalize(text)` with default arguments; this script records what the
original returns on:
- every line of /work/shared/articles (whole lines and their sentences), and
- generated strings mixing Bengali, Latin (with accents), digits,
  punctuation, every kind of quote and dash, emoji, control characters,
  HTML entities, ANSI escapes, fullwidth forms, ligatures and odd Unicode
  (nukta and two-part vowel spellings, ZWJ/ZWNJ, NBSP, soft hyphen, BOM).

Strings that ftfy would treat as mojibake (its `fix_encoding` step re-decodes
them, which the Rust port does not do) are detected by running `fix_text`
with and without `fix_encoding`; they are written to `mojibake` instead of `cases`,
with the original's output, so the difference stays visible.

Setup (a private venv with the versions upstream's setup.py pins):

    python3 -m venv /work/scratch/normvenv
    /work/scratch/normvenv/bin/pip install regex emoji==1.4.2 ftfy==6.0.3
    git clone https://github.com/csebuetnlp/normalizer && \\
        /work/scratch/normvenv/bin/pip install ./normalizer

Run from the repository root:

    /work/scratch/normvenv/bin/python scripts/make_normalizer_fixture.py [--cases N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import ftfy
from normalizer import normalize

SEED = 20250713
REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "tests" / "fixtures" / "bangla-normalizer" / "cases.json"
ARTICLES = Path("/work/shared/articles")
UPSTREAM_COMMIT = "d405944dde5ceeacb7c2fd3245ae2a9dea5f35c9"

BENGALI_WORDS = (
    "আমি তুমি সে আজ কাল ঢাকায় বৃষ্টি হয়েছে উত্তর কোরিয়া রাশিয়া কিম জং উন "
    "সেনা পাঠানো কুরস্ক অঞ্চলে যুদ্ধ প্রধানমন্ত্রী বাংলাদেশ সরকার র‍্যাব "
    "ক্ষমতা শক্তিশালী ব্যাংক কোটি টাকা"
).split()
LATIN_WORDS = "the quick brown fox Kim Lavrov Pyongyang café naïve Afganistán Ørsted Ærø Škoda Ýmir façade".split()
ODD = [
    "\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u3000", "\u2028", "\u2029",
    "\u0085", "\u0080", "\u0093", "\u0094", "\u0009", "\r", "\r\n", "\n", "\x0b", "\x0c", "\x00", "\x07", "\x1b[31m",
    "\x1b[0m", "\x1b", "\x7f", "\u206a", "\ufff9", "\u1680", "\u2002", "\u202f", "\u205f",
    "‘", "’", "‚", "‛", "“", "”", "„", "‟", "«", "»", "‹", "›", "❛", "❜", "❝", "❞", "`", "´", "´´", "ʼ",
    "＂", "〝", "〞", "—", "–", "―", "━", "…", "।", "॥", "৷", "|", "、", "，", "：", "？", "！", "（", "）",
    "《", "》", "「", "」", "〈", "〉", "【", "】", "％", "～", "∶", "；",
    "０", "１", "９", "Ａ", "ｚ", "ﬁ", "ﬂ", "ﬀ", "Ĳ", "ǅ", "²", "³", "¹", "½", "™", "℃",
    "&amp;", "&lt;", "&gt;", "&quot;", "&nbsp;", "&#2437;", "&#x9A4;", "&#128;", "&#0;", "&#xD800;",
    "&#1114112;", "&#12ab;", "&AMP;", "&eacute;", "&Eacute;", "&EACUTE;", "&hellip;", "&mdash;", "&amp;amp;",
    "&copy", "&bogus;", "&#x;", "&#;", "<b>", "a<b",
    "😀", "👨🏻‍🎨", "🇧🇩", "❤️", "🏝",
    "য\u09bc", "ড\u09bc", "ঢ\u09bc", "ব\u09bc", "য়", "ড়", "ঢ়", "ে\u09be", "ক\u09c7\u09be", "ক\u09c7\u09d7",
    "ক\u09c7ক\u09d7", "ক\u09c7\u0981\u09d7", "ক\u09c7\u0981\u09be", "অ\u09be", "ত্\u200d", "ৎ", "\u09bc", "\u09d7",
    "০১২৩৪৫৬৭৮৯", "12.5%", "3,000", "১২:৩০", "e\u0301", "Ã©", "Ã", "â€œ", "Ã¶",
    "Кириллица", "中文", "עברית", "ελληνικά",
]
PUNCT = list(".,;:!?()[]{}\"'-_/\\@#$%^&*+=<>~")


def article_lines() -> list[str]:
    out = []
    for path in sorted(ARTICLES.glob("*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(line)
                out.extend(p for p in re.split(r"(?<=[।?!])\s+", line) if p.strip() and p != line)
    return out


def generated(rng: random.Random, count: int) -> list[str]:
    out = list(ODD)
    pools = [BENGALI_WORDS, LATIN_WORDS, ODD, PUNCT, [str(rng.randint(0, 10**6)) for _ in range(50)]]
    seps = [" ", "  ", "", "\t", "\n", "\u00a0", " \n "]
    while len(out) < count:
        parts = []
        for _ in range(rng.randint(1, 9)):
            pool = rng.choices(pools, weights=[5, 2, 4, 2, 1])[0]
            parts.append(rng.choice(pool))
        out.append("".join(p + rng.choice(seps) for p in parts))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1100, help="generated strings")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(SEED)
    inputs = article_lines() + generated(rng, args.cases)
    seen, cases, mojibake = set(), [], []
    for text in inputs:
        if text in seen:
            continue
        seen.add(text)
        entry = {"input": text, "expected": normalize(text)}
        # ftfy's mojibake repair is the one step not ported; it also acts on
        # what earlier fixes (HTML entities) produce, so compare whole runs.
        if ftfy.fix_text(text, normalization="NFC") != ftfy.fix_text(
            text, normalization="NFC", fix_encoding=False
        ):
            mojibake.append(entry)
        else:
            cases.append(entry)
    versions = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=False
    ).stdout.split()
    fixture = {
        "upstream_commit": UPSTREAM_COMMIT,
        "python_packages": [v for v in versions if v.split("==")[0].lower() in {"ftfy", "emoji", "regex", "wcwidth"}],
        "cases": cases,
        "mojibake": mojibake,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(cases)} cases, {len(mojibake)} mojibake cases")


if __name__ == "__main__":
    main()
