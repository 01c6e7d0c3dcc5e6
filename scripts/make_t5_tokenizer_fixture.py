#!/usr/bin/env python3
"""Build tests/fixtures/t5-tokenizer/: what transformers does with a bare `spiece.model`.

Hub repos of T5-family models (BanglaT5, MADLAD-400, mT5) ship
`spiece.model` plus `tokenizer_config.json` / `special_tokens_map.json`,
sometimes without `tokenizer.json`. With no `tokenizer.json`, transformers
5.x converts the SentencePiece model into a fast tokenizer inside
`AutoTokenizer.from_pretrained(dir)`. This script records what that gives,
so that src/tokenize/t5.rs can be tested against it without Python.

What it does
------------
1. Trains two tiny SentencePiece unigram models on the Bengali sentences of
   /work/shared/articles plus a few English and mixed lines:
   - `t5.model`: T5 layout (pad 0, eos 1, unk 2, no bos) with user-defined
     pieces `<2en>` / `<2bn>`, and
   - `madlad.model`: MADLAD-400's layout (unk 0, <s> 1, </s> 2) with
     `<2en>` / `<2bn>` and byte fallback.
   Both use a small custom normalization rule table (a slice of NFKC:
   Latin-1 / fullwidth / NBSP / Bengali nukta and two-part vowel signs)
   instead of nmt_nfkc, whose 240 KB charsmap would not fit the fixture
   budget; the Precompiled normalizer code path is the same.
2. Lays out three model directories the way hub repos look:
   - `t5-v5`: the tokenizer_config.json that transformers 5 writes
     (`T5Tokenizer.save_pretrained`), tokenizer.json deleted;
   - `t5-v4`: the tokenizer_config.json + special_tokens_map.json that
     transformers 4.x wrote (BanglaT5's repos look like this);
   - `madlad`: MADLAD-400's own tokenizer_config.json / special_tokens_map.json;
   - `mt5`: google/mt5-*'s (no extra ids, `additional_special_tokens: null`);
   - `t5-bare`: a tokenizer_config.json naming only the class.
3. Loads each with `AutoTokenizer.from_pretrained(dir)` and records, for
   every test string, `tokenizer(text)["input_ids"]` and
   `decode(ids, skip_special_tokens=True)`; also decodes a few hand-made id
   lists (special tokens in the middle, unknown pieces).
4. Writes cases.json (inputs once, outputs per directory).

Run from the repository root:

    /work/fixture-venv/bin/python scripts/make_t5_tokenizer_fixture.py [--nfkc OUTDIR] [--all]

`--nfkc OUTDIR` additionally writes the same layout with nmt_nfkc models
and every test string to OUTDIR (not committed; point
ANUBAD_T5_FIXTURE_DIR at it to run the Rust test on it). `--all` keeps
every generated string in the committed fixture instead of a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sentencepiece as spm  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, T5Tokenizer  # noqa: E402

SEED = 20250713
REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "tests" / "fixtures" / "t5-tokenizer"
ARTICLES = Path("/work/shared/articles")
COMMITTED_CASES = 200

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Kim Jong Un met Sergei Lavrov in Pyongyang on 12 July 2025.",
    "North Korean troops fought in Kursk, KCNA said on Monday.",
    "Russia's foreign minister said the alliance is unconditional.",
    "Prices rose 3.5% in June; the central bank held rates at 9.25%.",
]


def article_sentences() -> list[str]:
    lines = []
    for path in sorted(ARTICLES.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            # Sentence-sized pieces: split after danda / ? / !.
            for part in re.split(r"(?<=[।?!])\s+", line):
                if part.strip():
                    lines.append(part.strip())
    return lines


def normalization_rules() -> str:
    """A small NFKC-like rule table in sentencepiece's TSV format."""
    rules: dict[tuple[int, ...], tuple[int, ...]] = {}
    chars = list(range(0xA0, 0x180)) + list(range(0xFF01, 0xFF5F)) + [0x3000, 0x2002, 0x2003]
    chars += list(range(0xFB00, 0xFB07)) + [0x2126, 0x212B, 0x2460, 0x2461, 0x00BD]
    for cp in chars:
        target = unicodedata.normalize("NFKC", chr(cp))
        if target != chr(cp) and target:
            rules[(cp,)] = tuple(ord(c) for c in target)
    for cp in (0x09, 0x0A, 0x0D, 0x0B, 0x0C):
        rules[(cp,)] = (0x20,)
    # Bengali: two-part vowel signs and nukta letters, both spellings -> one.
    rules[(0x09C7, 0x09BE)] = (0x09CB,)
    rules[(0x09C7, 0x09D7)] = (0x09CC,)
    rules[(0x09A1, 0x09BC)] = (0x09DC,)
    rules[(0x09A2, 0x09BC)] = (0x09DD,)
    rules[(0x09AF, 0x09BC)] = (0x09DF,)
    out = []
    for source, target in sorted(rules.items()):
        out.append(
            " ".join(f"{c:X}" for c in source) + "\t" + " ".join(f"{c:X}" for c in target)
        )
    return "\n".join(out) + "\n"


def train(corpus: Path, prefix: Path, layout: str, normalization: str, rules: Path | None) -> Path:
    common = dict(
        input=str(corpus),
        model_prefix=str(prefix),
        model_type="unigram",
        num_threads=1,
        minloglevel=2,
        seed_sentencepiece_size=100000,
        user_defined_symbols=["<2en>", "<2bn>"],
    )
    if rules is not None:
        common["normalization_rule_tsv"] = str(rules)
    else:
        common["normalization_rule_name"] = normalization
    if layout == "t5":
        spm.SentencePieceTrainer.train(
            **common, vocab_size=420, character_coverage=0.9995,
            pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        )
    else:
        spm.SentencePieceTrainer.train(
            **common, vocab_size=640, character_coverage=0.9995, byte_fallback=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        )
    return prefix.with_suffix(".model")


def t5_v5_config(model: Path, directory: Path) -> None:
    """What transformers 5 writes: save_pretrained, then drop tokenizer.json."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(model, Path(scratch) / "spiece.model")
        tokenizer = T5Tokenizer.from_pretrained(scratch)
        tokenizer.save_pretrained(str(directory))
    (directory / "tokenizer.json").unlink(missing_ok=True)
    config = json.loads((directory / "tokenizer_config.json").read_text())
    # Paths of the machine that wrote it say nothing about behaviour.
    for key in ("is_local", "local_files_only", "name_or_path"):
        config.pop(key, None)
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def t5_v4_config(directory: Path) -> None:
    """BanglaT5-style files written by transformers 4.x's T5Tokenizer."""
    extra = [f"<extra_id_{i}>" for i in range(100)]
    config = {
        "additional_special_tokens": extra,
        "eos_token": "</s>",
        "extra_ids": 100,
        "model_max_length": 512,
        "pad_token": "<pad>",
        "sp_model_kwargs": {},
        "special_tokens_map_file": None,
        "tokenizer_class": "T5Tokenizer",
        "unk_token": "<unk>",
    }
    special = {"additional_special_tokens": extra, "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def mt5_config(directory: Path) -> None:
    """google/mt5-*'s files: no extra ids, `additional_special_tokens: null`."""
    config = {
        "additional_special_tokens": None,
        "eos_token": "</s>",
        "extra_ids": 0,
        "pad_token": "<pad>",
        "sp_model_kwargs": {},
        "tokenizer_class": "T5Tokenizer",
        "unk_token": "<unk>",
    }
    special = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def bare_config(directory: Path) -> None:
    """Only the class name: every other setting takes transformers' default."""
    config = {"tokenizer_class": "T5Tokenizer"}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def madlad_config(directory: Path) -> None:
    """google/madlad400-3b-mt's tokenizer_config.json and special_tokens_map.json."""
    def added(content: str) -> dict:
        return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}

    def plain(content: str) -> dict:
        return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}

    config = {
        "added_tokens_decoder": {"0": added("<unk>"), "1": added("<s>"), "2": added("</s>")},
        "additional_special_tokens": [],
        "clean_up_tokenization_spaces": True,
        "eos_token": "</s>",
        "extra_ids": 0,
        "legacy": False,
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<s>",
        "sp_model_kwargs": {},
        "tokenizer_class": "T5Tokenizer",
        "unk_token": "<unk>",
    }
    special = {"eos_token": plain("</s>"), "pad_token": plain("<s>"), "unk_token": plain("<unk>")}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def test_strings(sentences: list[str], rng: random.Random) -> list[str]:
    out = list(sentences)
    out += ENGLISH
    odd = [
        "", " ", "  \t\n ", "<2en>", "<2en> ", "<2bn>",
        "<2en> আমি ভাত খাই।", "<2en>আমি ভাত খাই।", " <2en> আমি", "আমি <2en> তুমি",
        "<extra_id_0>", "a<extra_id_0>b", "<extra_id_0> আজ <extra_id_1>", "<extra_id_99>",
        "</s>", "আজ</s>কাল", "<pad> আজ", "<s> আজ", "<unk> আজ", "<unk>",
        "আজ\u00a0ঢাকায়", "আজ\tঢাকায়\nবৃষ্টি", "আজ  ঢাকায়   বৃষ্টি", "  আজ ঢাকায় ",
        "র\u200d্যাব", "ক\u200cষ", "\u200d", "\u200c\u200c",
        "ক\u09c7\u09be", "প\u09a1\u09bcে", "য\u09bc", "ড়", "০১২৩৪৫৬৭৮৯", "১২ জুলাই ২০২৫",
        "১,২৫০ কোটি টাকা", "12.5% বৃদ্ধি", "ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ", "ﬁne ½ café Ω",
        "ভালো খবর 😀 আজ", "😀😀", "中文 আর", "Кириллица тест", "don't , do it . ok ?",
        "“উত্তর কোরিয়া”", "‘রাশিয়া’", "—", "a - b", "...", "।", "x।y", "\u2047", "▁", "▁▁ক",
        "tab\there", "line\r\nbreak", "\u3000全角", "e\u0301", "Ångström",
    ]
    out += odd
    # Mixed strings from pieces of the above.
    pool = sentences + ENGLISH + odd
    for _ in range(150):
        parts = rng.sample(pool, 3)
        cut = [p[: rng.randint(0, max(1, len(p)))] for p in parts]
        sep = rng.choice([" ", "  ", "\t", "\n", "\u00a0", "", " <2en> ", "<extra_id_3>"])
        out.append(sep.join(cut))
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def record(directory: Path, texts: list[str]) -> dict:
    tok = AutoTokenizer.from_pretrained(str(directory))
    assert type(tok).__name__ == "T5Tokenizer", type(tok)
    ids = [tok(t)["input_ids"] for t in texts]
    decoded = [tok.decode(i, skip_special_tokens=True) for i in ids]
    size = len(tok)
    # Hand-made id lists: specials in the middle, every id range.
    rng = random.Random(SEED)
    id_lists = [[], [tok.eos_token_id], [tok.pad_token_id, 10, tok.eos_token_id, 11]]
    id_lists += [[rng.randrange(size) for _ in range(rng.randint(1, 12))] for _ in range(40)]
    id_decoded = [tok.decode(i, skip_special_tokens=True) for i in id_lists]
    added = {str(i): t.content for i, t in tok.added_tokens_decoder.items() if t.special}
    return {
        "input_ids": ids,
        "decoded": decoded,
        "id_lists": id_lists,
        "id_lists_decoded": id_decoded,
        "eos_id": tok.eos_token_id,
        "pad_id": tok.pad_token_id,
        "len": size,
        "special_ids": sorted(int(i) for i in added),
    }


def build(out: Path, normalization: str | None, keep_all: bool) -> None:
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    sentences = article_sentences()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        corpus = scratch / "corpus.txt"
        corpus.write_text("\n".join(sentences + ENGLISH * 3 + ["<2en> " + s for s in sentences[:20]]) + "\n", encoding="utf-8")
        rules = None
        if normalization is None:
            rules = scratch / "rules.tsv"
            rules.write_text(normalization_rules())
        t5_model = train(corpus, scratch / "t5", "t5", normalization or "", rules)
        madlad_model = train(corpus, scratch / "madlad", "madlad", normalization or "", rules)
        shutil.copy(t5_model, out / "t5.model")
        shutil.copy(madlad_model, out / "madlad.model")
        layouts = {}
        for name, model, configure in [
            ("t5-v5", t5_model, None),
            ("t5-v4", t5_model, t5_v4_config),
            ("madlad", madlad_model, madlad_config),
            ("mt5", t5_model, mt5_config),
            ("t5-bare", t5_model, bare_config),
        ]:
            directory = scratch / name
            directory.mkdir()
            if configure is None:
                t5_v5_config(model, directory)
            else:
                configure(directory)
            shutil.copy(model, directory / "spiece.model")
            layouts[name] = directory
            for config_file in ("tokenizer_config.json", "special_tokens_map.json"):
                if (directory / config_file).exists():
                    shutil.copy(directory / config_file, out / f"{name}.{config_file}")
        texts = test_strings(sentences, rng)
        if not keep_all:
            head = [t for t in texts if len(t) <= 80]
            rng.shuffle(head)
            texts = head[:COMMITTED_CASES]
        cases = {
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "texts": texts,
            "layouts": {name: record(directory, texts) for name, directory in layouts.items()},
        }
    (out / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{out}: {len(texts)} strings, layouts {list(layouts)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nfkc", type=Path, help="also write an nmt_nfkc variant with every string here")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    build(OUT, None, args.all)
    if args.nfkc:
        build(args.nfkc, "nmt_nfkc", True)


if __name__ == "__main__":
    main()
