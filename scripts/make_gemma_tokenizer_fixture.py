#!/usr/bin/env python3
"""Build tests/fixtures/gemma-tokenizer/cases.json: what transformers builds
from the SentencePiece tokenizer a GGUF file carries.

Gemma GGUF files (ggml-org/gemma-3-*-GGUF) hold no tokenizer.json: the
vocabulary is stored as `tokenizer.ggml.model = "llama"` plus tokens, scores
and llama.cpp token types, and the merges must be recovered from it. This
script records what transformers 5.x makes of such metadata, so that
`tokenizer_from_gguf` in src/tokenize/gguf.rs can be tested without Python.

What it does
------------
1. Trains two tiny SentencePiece **BPE** models (byte fallback, digits split,
   whitespace-only pieces allowed, identity normalization) on the Bengali
   articles under /work/shared/articles plus the English docs:
   - `gemma`: Gemma's layout (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <mask> 4),
     no dummy prefix, user-defined `<start_of_turn>`, `<end_of_turn>`,
     `▁▁`, `▁▁▁▁`, `<mark>`;
   - `llama`: Llama 2's layout (<unk> 0, <s> 1, </s> 2), with the dummy
     prefix, user-defined `<mark>` and `▁▁`.
2. Writes the GGUF tokenizer metadata llama.cpp's convert_hf_to_gguf.py
   (`_create_vocab_sentencepiece`) would: every piece with its score and type
   (1 normal, 2 unknown, 3 control, 5 unused, 6 byte), then the
   tokenizer_config.json `added_tokens_decoder` entries override: special
   ones become control (3), the others user-defined (4) with "▁" written as
   a real space, and all of them score -1000. For the Gemma layout the
   added tokens are those of google/gemma-3's tokenizer_config.json
   (specials, `<start_of_turn>`/`<end_of_turn>` special, whitespace runs and
   `<mark>` not).
3. Builds the reference tokenizer with transformers'
   `integrations.gguf.gguf_tokenizer_mapping.convert_gguf_tokenizer` from
   that metadata (architecture `gemma3` resp. `llama`), and records
   `encode(text, add_special_tokens=False)` ids and
   `decode(ids, skip_special_tokens=False/True)` for every test string.
   For comparison it also prints how often the tokenizer transformers builds
   from the `.model` file itself (`GemmaTokenizer` / `LlamaTokenizer`
   `.from_pretrained` on a directory holding only `tokenizer.model`) and sentencepiece's own encoder agree.

Run from the repository root:

    /work/fixture-venv/bin/python scripts/make_gemma_tokenizer_fixture.py
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sentencepiece as spm  # noqa: E402
import transformers  # noqa: E402
from transformers import GemmaTokenizer, LlamaTokenizer  # noqa: E402
from transformers.integrations.gguf.gguf_tokenizer_mapping import (  # noqa: E402
    convert_gguf_tokenizer,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "tests" / "fixtures" / "gemma-tokenizer"
ARTICLES = Path("/work/shared/articles")
DOCS = Path("/work/shared/docs")

# llama.cpp's SentencePieceTokenTypes.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

TEST_STRINGS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "আমি ভাত খাই।",
    "ইউক্রেন যুদ্ধে রাশিয়ার পক্ষে সেনা পাঠাতে প্রস্তুত কিম",
    "প্রকাশ : ০১ ডিসেম্বর ২০২৪, ১২:৪৩ পিএম",
    "Prices rose 3.5% in June 2025; 1234567890.",
    "Emoji 😀 and 🦙🦙 plus ✅",
    " leading space",
    "trailing space ",
    "  two leading spaces and two trailing  ",
    "double  spaces   and    four",
    "line one\nline two\n\nline four",
    "\ttab\tseparated\t",
    "<start_of_turn>user\nTranslate: আমি ভাত খাই।<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nHi<end_of_turn>",
    "text<mark>marked<mark> text",
    "<mask> and <pad> and <unk> and <eos>",
    "<s>Llama [INST] hi [/INST]</s>",
    "Zürich naïve café – “quotes” — ©",
    "中文 and Ελληνικά",
    "",
    " ",
    "\n",
    "KCNA: কিম জং উন বলেছেন, 'রাশিয়া আমাদের বন্ধু।'",
]

GEMMA_ADDED = {
    # id: (content, special) as in google/gemma-3's tokenizer_config.json.
    0: ("<pad>", True),
    1: ("<eos>", True),
    2: ("<bos>", True),
    3: ("<unk>", True),
    4: ("<mask>", True),
    5: ("<start_of_turn>", True),
    6: ("<end_of_turn>", True),
    7: ("▁▁", False),
    8: ("▁▁▁▁", False),
    9: ("<mark>", False),
}
LLAMA_ADDED = {
    # Llama 2's tokenizer_config.json lists only its three specials.
    0: ("<unk>", True),
    1: ("<s>", True),
    2: ("</s>", True),
}


def corpus_lines() -> list[str]:
    lines = []
    for path in sorted(ARTICLES.glob("*.txt")) + sorted(DOCS.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(line)
    return lines


def train(prefix: Path, layout: str) -> Path:
    common = dict(
        sentence_iterator=iter(corpus_lines()),
        model_prefix=str(prefix),
        model_type="bpe",
        vocab_size=900,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        character_coverage=0.9995,
        num_threads=1,
        minloglevel=2,
    )
    if layout == "gemma":
        spm.SentencePieceTrainer.train(
            **common,
            add_dummy_prefix=False,
            pad_id=0, eos_id=1, bos_id=2, unk_id=3,
            pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
            control_symbols=["<mask>"],
            user_defined_symbols=["<start_of_turn>", "<end_of_turn>", "▁▁", "▁▁▁▁", "<mark>"],
        )
    else:
        spm.SentencePieceTrainer.train(
            **common,
            add_dummy_prefix=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            user_defined_symbols=["<mark>", "▁▁"],
        )
    return prefix.with_suffix(".model")


def gguf_vocab(sp: spm.SentencePieceProcessor, added: dict[int, tuple[str, bool]]):
    """tokens, scores, token types as llama.cpp's `_create_vocab_sentencepiece` writes them."""
    tokens, scores, types = [], [], []
    for token_id in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(token_id))
        scores.append(sp.get_score(token_id))
        if sp.is_unknown(token_id):
            types.append(UNKNOWN)
        elif sp.is_control(token_id):
            types.append(CONTROL)
        elif sp.is_unused(token_id):
            types.append(UNUSED)
        elif sp.is_byte(token_id):
            types.append(BYTE)
        else:
            types.append(NORMAL)
    for token_id, (content, special) in added.items():
        assert tokens[token_id] == content, (token_id, tokens[token_id], content)
        if special:
            types[token_id] = CONTROL
        else:
            content = content.replace("\u2581", " ")
            types[token_id] = USER_DEFINED
        scores[token_id] = -1000.0
        tokens[token_id] = content
    return tokens, scores, types


def record(layout: str, workdir: Path) -> dict:
    model_file = train(workdir / layout, layout)
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    added = GEMMA_ADDED if layout == "gemma" else LLAMA_ADDED
    tokens, scores, types = gguf_vocab(sp, added)
    if layout == "gemma":
        architecture, ids = "gemma3", dict(bos=2, eos=1, unk=3, pad=0)
        add_space_prefix = False
    else:
        architecture, ids = "llama", dict(bos=1, eos=2, unk=0, pad=None)
        add_space_prefix = True
    # What `get_gguf_tokenizer` reads out of the file.
    tokenizer_dict = {
        "tokenizer_type": "llama",
        "tokens": tokens,
        "scores": scores,
        "token_type": types,
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
        "unk_token_id": ids["unk"],
        "add_prefix_space": add_space_prefix,
    }
    if ids["pad"] is not None:
        tokenizer_dict["pad_token_id"] = ids["pad"]
    reference, _ = convert_gguf_tokenizer(architecture, tokenizer_dict)
    assert reference.get_vocab_size(with_added_tokens=True) == len(tokens), "tokens were added"

    model_dir = workdir / f"{layout}-hf"
    model_dir.mkdir()
    shutil.copy(model_file, model_dir / "tokenizer.model")
    from_model = (GemmaTokenizer if layout == "gemma" else LlamaTokenizer).from_pretrained(str(model_dir))

    cases = []
    agree_model = agree_sp = 0
    for text in TEST_STRINGS:
        encoding = reference.encode(text, add_special_tokens=False)
        cases.append(
            {
                "text": text,
                "ids": encoding.ids,
                "decoded": reference.decode(encoding.ids, skip_special_tokens=False),
                "decoded_skip_special": reference.decode(encoding.ids, skip_special_tokens=True),
            }
        )
        from_model_ids = from_model.encode(text, add_special_tokens=False)
        agree_model += from_model_ids == encoding.ids
        if from_model_ids != encoding.ids:
            print(f"  {layout}: the .model tokenizer differs on {text!r}:\n    gguf  {encoding.ids}\n    model {from_model_ids}")
        agree_sp += sp.encode(text) == encoding.ids
        if sp.encode(text) != encoding.ids:
            print(f"  {layout}: sentencepiece differs on {text!r}:\n    gguf {encoding.ids}\n    spm  {sp.encode(text)}")
    print(
        f"{layout}: {len(tokens)} tokens; transformers from the .model file agrees on "
        f"{agree_model}/{len(cases)}, sentencepiece on {agree_sp}/{len(cases)}"
    )
    metadata = {
        "general.architecture": architecture,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": ids["bos"],
        "tokenizer.ggml.eos_token_id": ids["eos"],
        "tokenizer.ggml.unknown_token_id": ids["unk"],
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_space_prefix": add_space_prefix,
    }
    if ids["pad"] is not None:
        metadata["tokenizer.ggml.padding_token_id"] = ids["pad"]
    return {"metadata": metadata, "cases": cases}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fixture = {
            "generated_by": "scripts/make_gemma_tokenizer_fixture.py",
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "gemma": record("gemma", Path(tmp)),
            "llama": record("llama", Path(tmp)),
        }
    path = OUT / "cases.json"
    path.write_text(json.dumps(fixture, ensure_ascii=False, indent=None) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
