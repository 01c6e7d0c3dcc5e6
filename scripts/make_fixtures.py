#!/usr/bin/env python3
"""Build the tiny Marian parity fixtures under tests/fixtures/.

What it does
------------
1. Collects Bengali text: the sentences of the saved news pages in
   /work/shared/articles (if present) plus the hand-written sentences below.
2. Trains two SentencePiece unigram models laid out like opus-mt's
   (eos_id 0, unk_id 1, no <s>/<pad> in the spm): `source.spm` on the Bengali
   text and `target.spm` on its romanization (a fixed character table, see
   `romanize`) plus a few English sentences.
3. Writes a shared `vocab.json` ordered as opus-mt's are
   ("</s>": 0, "<unk>": 1, pieces..., "<pad>" last) and loads it with
   `MarianTokenizer(source.spm, target.spm, vocab.json)`.
4. Builds a MarianMTModel with opus-mt's config flags (swish, scale_embedding,
   sinusoidal positions, post-norm, shared + tied embeddings, a non-zero
   final_logits_bias) but tiny sizes, trains it for about two minutes on CPU to
   map Bengali word spans to their romanization, so outputs depend on the input
   and end with EOS on their own.
5. Saves it twice with `save_pretrained`:
   tests/fixtures/marian-tiny/      (model.safetensors)
   tests/fixtures/marian-tiny-pth/  (pytorch_model.bin, see save_legacy_bin)
   and records in marian-tiny/expected.json what transformers does with it:
   tokenizer ids, decoded text, `generate()` outputs (greedy and beam search,
   several settings) and raw logits.

How to run
----------
From the repository root, with the pinned environment of
scripts/requirements-fixtures.txt:

    python -m venv /work/fixture-venv
    /work/fixture-venv/bin/pip install -r scripts/requirements-fixtures.txt
    /work/fixture-venv/bin/python scripts/make_fixtures.py

Everything is seeded and single-threaded; rerunning with the same versions
gives the same files. The training time is measured and printed, not used.

CI never runs this script (torch and transformers are several GB); the Rust
tests only read the committed fixtures.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

# Single thread before torch is imported: reproducible float reductions and
# polite on a shared 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import MarianConfig, MarianMTModel, MarianTokenizer  # noqa: E402
from transformers import GenerationConfig  # noqa: E402

SEED = 20250713
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
OUT_SAFETENSORS = FIXTURES / "marian-tiny"
OUT_PTH = FIXTURES / "marian-tiny-pth"
ARTICLES = Path("/work/shared/articles")

SOURCE_VOCAB_SIZE = 260
TARGET_VOCAB_SIZE = 200
MAX_LENGTH = 64
# A fixed step count (not a time budget) keeps the result reproducible; about
# 1–2 minutes on one CPU thread. FIXTURE_TRAIN_STEPS overrides it for quick
# trial runs of the script only.
TRAIN_STEPS = int(os.environ.get("FIXTURE_TRAIN_STEPS", "1500"))

# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

# Hand-written news-style sentences, so the fixture does not depend on the
# articles folder alone and covers digits, quotes and common words.
OWN_SENTENCES = [
    "আজ ঢাকায় বৃষ্টি হয়েছে।",
    "সরকার নতুন বাজেট ঘোষণা করেছে।",
    "প্রধানমন্ত্রী সংসদে ভাষণ দিয়েছেন।",
    "খেলায় বাংলাদেশ ৫ উইকেটে জিতেছে।",
    "শহরে যানজট বেড়েছে।",
    "নদীর পানি বিপদসীমার ওপরে।",
    "স্কুল আগামীকাল খুলবে।",
    "তিনি বলেন, ‘আমরা শান্তি চাই।’",
    "মন্ত্রী বলেছেন, “দাম কমবে।”",
    "চট্টগ্রাম বন্দরে ২০টি জাহাজ ভিড়েছে।",
    "৩ জন আহত হয়েছেন।",
    "বাজারে চালের দাম বেড়েছে।",
    "আবহাওয়া অফিস সতর্কবার্তা দিয়েছে।",
    "কৃষকেরা ধান কাটছেন।",
    "রাজধানীতে মেট্রোরেল চলছে।",
    "পরীক্ষার ফল প্রকাশিত হয়েছে।",
    "হাসপাতালে রোগীর সংখ্যা বাড়ছে।",
    "সভায় ১২ জন সদস্য উপস্থিত ছিলেন।",
    "ট্রেন দেরিতে ছেড়েছে।",
    "নির্বাচন কমিশন তারিখ ঘোষণা করেছে।",
    "বিদ্যুৎ সরবরাহ স্বাভাবিক হয়েছে।",
    "শিক্ষার্থীরা মিছিল করেছে।",
    "পুলিশ দুজনকে আটক করেছে।",
    "সেতুটি ২০২৬ সালে চালু হবে।",
    "বইমেলা শুরু হয়েছে।",
    "কিম জং উন মস্কো সফর করেছেন।",
    "উত্তর কোরিয়া ও রাশিয়া চুক্তি করেছে।",
    "জাতিসংঘ উদ্বেগ প্রকাশ করেছে।",
    "দেশে করোনার সংক্রমণ কমেছে।",
    "ব্যাংকের সুদের হার ৯ শতাংশ।",
    "তাপমাত্রা ৩৮ ডিগ্রি সেলসিয়াস।",
    "সোমবার সকালে ভূমিকম্প হয়েছে।",
    "আমি ভাত খাই।",
    "সে বই পড়ে।",
    "তারা মাঠে খেলছে।",
    "আমাদের গ্রামে একটি নদী আছে।",
    "বাংলা আমার মাতৃভাষা।",
    "কলকাতা ও ঢাকার মধ্যে বাস চলে।",
    "নতুন বছরে শুভেচ্ছা।",
    "দুর্ঘটনায় ৭ জন নিহত হয়েছেন।",
    "মেয়েটি গান গায়।",
    "ছেলেরা স্কুলে যায়।",
    "আকাশ মেঘলা থাকবে।",
    "ঝড়ের কারণে ফেরি বন্ধ।",
    "সংবাদ সম্মেলনে তিনি প্রশ্নের উত্তর দেন।",
]

# A little English for the target side, so ordinary English words segment
# sensibly in target.spm (the target of a real opus-mt model is English).
ENGLISH_SENTENCES = [
    "North Korea is ready to send troops to support Russia in the war.",
    "Kim Jong Un met Russian foreign minister Sergei Lavrov.",
    "The news agency KCNA said on Monday that the troops had been deployed.",
    "It rained in Dhaka today.",
    "The government announced a new budget.",
    "Bangladesh won the match by 5 wickets.",
    "Source: Al Jazeera",
    "Share this news on:",
]

# Romanization table (a simplified ISO 15919 in ASCII). Consonants carry an
# inherent "a" unless a vowel sign or virama follows or the word ends.
CONSONANTS = {
    "ক": "k", "খ": "kh", "গ": "g", "ঘ": "gh", "ঙ": "ng",
    "চ": "c", "ছ": "ch", "জ": "j", "ঝ": "jh", "ঞ": "ny",
    "ট": "tt", "ঠ": "tth", "ড": "dd", "ঢ": "ddh", "ণ": "nn",
    "ত": "t", "থ": "th", "দ": "d", "ধ": "dh", "ন": "n",
    "প": "p", "ফ": "ph", "ব": "b", "ভ": "bh", "ম": "m",
    "য": "j", "র": "r", "ল": "l", "শ": "sh", "ষ": "ss",
    "স": "s", "হ": "h",
}
# Base + nukta pairs (NFC keeps these decomposed: they are composition
# exclusions), romanized as one letter.
NUKTA_CONSONANTS = {"ড": "r", "ঢ": "rh", "য": "y"}
INDEPENDENT_VOWELS = {
    "অ": "a", "আ": "aa", "ই": "i", "ঈ": "ii", "উ": "u", "ঊ": "uu",
    "ঋ": "ri", "এ": "e", "ঐ": "oi", "ও": "o", "ঔ": "ou",
}
VOWEL_SIGNS = {
    "া": "aa", "ি": "i", "ী": "ii", "ু": "u", "ূ": "uu", "ৃ": "ri",
    "ে": "e", "ৈ": "oi", "ো": "o", "ৌ": "ou",
}
OTHER_SIGNS = {"ং": "ng", "ঃ": "h", "ঁ": "n", "ৎ": "t"}
PUNCTUATION = {"।": ".", "॥": ".", "‘": "'", "’": "'", "“": '"', "”": '"'}
VIRAMA = "্"
NUKTA = "়"
ZERO_WIDTH = {"\u200c", "\u200d"}
BENGALI_DIGITS = {chr(0x09E6 + d): str(d) for d in range(10)}


def romanize(text: str) -> str:
    """Deterministic Bengali → ASCII romanization used as the training target."""
    chars = [c for c in unicodedata.normalize("NFC", text) if c not in ZERO_WIDTH]
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        if c in CONSONANTS:
            if i + 1 < len(chars) and chars[i + 1] == NUKTA and c in NUKTA_CONSONANTS:
                out.append(NUKTA_CONSONANTS[c])
                i += 1
            else:
                out.append(CONSONANTS[c])
            nxt = chars[i + 1] if i + 1 < len(chars) else " "
            if nxt not in VOWEL_SIGNS and nxt != VIRAMA and is_bengali_letter(nxt):
                out.append("a")
        elif c in INDEPENDENT_VOWELS:
            out.append(INDEPENDENT_VOWELS[c])
        elif c in VOWEL_SIGNS:
            out.append(VOWEL_SIGNS[c])
        elif c in OTHER_SIGNS:
            out.append(OTHER_SIGNS[c])
        elif c in BENGALI_DIGITS:
            out.append(BENGALI_DIGITS[c])
        elif c in PUNCTUATION:
            out.append(PUNCTUATION[c])
        elif c in (VIRAMA, NUKTA):
            pass
        else:
            out.append(c)
        i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def is_bengali_letter(c: str) -> bool:
    return c in CONSONANTS or c in OTHER_SIGNS or c in INDEPENDENT_VOWELS


SENTENCE_END = re.compile(r"(?<=[।?!])\s+|(?<=[।?!][’”])\s*")


def article_lines() -> list[str]:
    if not ARTICLES.is_dir():
        print(f"note: {ARTICLES} absent; using the built-in sentences only", file=sys.stderr)
        return []
    lines: list[str] = []
    for path in sorted(ARTICLES.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                lines.append(line)
    return lines


def split_sentences(lines: list[str]) -> list[str]:
    sentences: list[str] = []
    for line in lines:
        for part in SENTENCE_END.split(line):
            part = part.strip()
            if part:
                sentences.append(part)
    return sentences


def has_bengali(text: str) -> bool:
    return any("\u0980" <= c <= "\u09ff" for c in text)


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def train_spm(lines: list[str], model_path: Path, vocab_size: int) -> None:
    """Unigram spm with Marian's special-id layout: </s>=0, <unk>=1, no <s>."""
    # Sentences from memory and the model into a buffer: a file input would
    # record its temporary path in the model's trainer_spec and make the
    # bytes differ from run to run.
    model = io.BytesIO()
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        character_coverage=1.0,
        eos_id=0,
        unk_id=1,
        bos_id=-1,
        pad_id=-1,
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        shuffle_input_sentence=False,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    model_path.write_bytes(model.getvalue())


def spm_pieces(model_path: Path) -> list[str]:
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    return [
        sp.id_to_piece(i)
        for i in range(sp.get_piece_size())
        if not (sp.is_control(i) or sp.is_unknown(i))
    ]


def build_tokenizer(work: Path, bengali_lines: list[str], target_lines: list[str]) -> MarianTokenizer:
    train_spm(bengali_lines, work / "source.spm", SOURCE_VOCAB_SIZE)
    train_spm(target_lines, work / "target.spm", TARGET_VOCAB_SIZE)
    # opus-mt's vocab.json comes from Marian's joint vocabulary with "<pad>"
    # appended by the conversion: "</s>" 0, "<unk>" 1, pieces, "<pad>" last.
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for piece in spm_pieces(work / "source.spm") + spm_pieces(work / "target.spm"):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    return MarianTokenizer(
        source_spm=str(work / "source.spm"),
        target_spm=str(work / "target.spm"),
        vocab=str(work / "vocab.json"),
        source_lang="bn",
        target_lang="en",
        model_max_length=512,
    )


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def build_model(tok: MarianTokenizer) -> MarianMTModel:
    vocab_size = len(tok.encoder)
    pad_id = tok.pad_token_id
    config = MarianConfig(
        vocab_size=vocab_size,
        decoder_vocab_size=vocab_size,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        activation_function="swish",
        # opus-mt uses 512. The sinusoidal tables are stored in the legacy
        # pytorch_model.bin (2 x rows x d_model floats), so fewer rows keep
        # that file small; inputs stay far below 256 tokens.
        max_position_embeddings=256,
        scale_embedding=True,
        static_position_embeddings=True,
        normalize_before=False,
        normalize_embedding=False,
        add_bias_logits=False,
        add_final_layer_norm=False,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.02,
        pad_token_id=pad_id,
        eos_token_id=0,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=0,
        bad_words_ids=[[pad_id]],
        num_beams=4,
        max_length=MAX_LENGTH,
        architectures=["MarianMTModel"],
    )
    model = MarianMTModel(config)
    # opus-mt's final_logits_bias is all zeros; a non-zero one proves the
    # Rust side adds it.
    with torch.no_grad():
        bias = torch.randn(1, vocab_size) * 0.5
        model.final_logits_bias.copy_(bias)
    return model


def save_legacy_bin(model: MarianMTModel, out_dir: Path) -> None:
    """Write the model the way old opus-mt repos ship it: config files plus a
    pickled `pytorch_model.bin`.

    transformers 5 ignores `safe_serialization=False` and always writes
    safetensors, so the .bin is written with `torch.save(model.state_dict())`,
    which is what transformers 4 did for this format. That state dict holds the
    tied aliases of the shared embedding (`model.encoder.embed_tokens.weight`,
    `model.decoder.embed_tokens.weight`, `lm_head.weight`: one storage,
    pickled once) and the sinusoidal `embed_positions` tables, like the
    original opus-mt conversions. The Rust loader must ignore or accept them.
    """
    model.save_pretrained(out_dir)
    (out_dir / "model.safetensors").unlink()
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    shared = state["model.shared.weight"]
    for alias in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        state[alias] = shared
    torch.save(state, out_dir / "pytorch_model.bin")


def generation_config(tok: MarianTokenizer) -> GenerationConfig:
    pad_id = tok.pad_token_id
    return GenerationConfig(
        bad_words_ids=[[pad_id]],
        bos_token_id=0,
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        max_length=MAX_LENGTH,
        num_beams=4,
        pad_token_id=pad_id,
    )


def training_pairs(sentences: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """Word spans of 1–6 words and their romanization: short enough that the
    tiny model learns to stop, varied enough that it must read the input."""
    pairs: set[tuple[str, str]] = set()
    for sentence in sentences:
        words = sentence.split()
        for n in range(1, 7):
            for start in range(0, max(1, len(words) - n + 1)):
                span = " ".join(words[start : start + n])
                if has_bengali(span):
                    pairs.add((span, romanize(span)))
    ordered = sorted(pairs)
    rng.shuffle(ordered)
    return ordered


def train(model: MarianMTModel, tok: MarianTokenizer, pairs: list[tuple[str, str]]) -> dict:
    pad_id = tok.pad_token_id
    encoded = []
    for src, tgt in pairs:
        src_ids = tok(src)["input_ids"]
        tgt_ids = tok(text_target=tgt)["input_ids"]
        if len(src_ids) <= 40 and len(tgt_ids) <= 60:
            encoded.append((src_ids, tgt_ids))
    rng = random.Random(SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    # Warm up, then decay linearly to a tenth: a lower final loss in few steps.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / 100) * max(0.1, 1.0 - step / TRAIN_STEPS),
    )
    model.train()
    batch_size = 32
    start = time.monotonic()
    steps = 0
    losses: list[float] = []
    while steps < TRAIN_STEPS:
        batch = rng.sample(encoded, batch_size)
        src_len = max(len(s) for s, _ in batch)
        tgt_len = max(len(t) for _, t in batch)
        input_ids = torch.full((batch_size, src_len), pad_id)
        attention = torch.zeros((batch_size, src_len), dtype=torch.long)
        labels = torch.full((batch_size, tgt_len), -100)
        for row, (s, t) in enumerate(batch):
            input_ids[row, : len(s)] = torch.tensor(s)
            attention[row, : len(s)] = 1
            labels[row, : len(t)] = torch.tensor(t)
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        steps += 1
        losses.append(loss.item())
        if steps % 200 == 0:
            print(f"step {steps}: loss {np.mean(losses[-200:]):.3f}", file=sys.stderr)
    # Wall time goes to stderr only, so that expected.json is reproducible.
    print(f"training took {time.monotonic() - start:.1f} s", file=sys.stderr)
    model.eval()
    return {
        "steps": steps,
        "final_loss": round(float(np.mean(losses[-100:])), 4),
        "train_pairs": len(encoded),
    }


# --------------------------------------------------------------------------
# Expected outputs
# --------------------------------------------------------------------------

TOKENIZER_EXTRA = [
    "",
    " ",
    "আজ ঢাকায় বৃষ্টি হয়েছে।",
    "  আজ ঢাকায় বৃষ্টি হয়েছে।",
    "আজ ঢাকায় বৃষ্টি হয়েছে।   ",
    "আজ  ঢাকায়   বৃষ্টি হয়েছে।",
    "আজ\tঢাকায়\tবৃষ্টি",
    "আজ\nঢাকায়",
    "কেসিসিএনএ (KCNA) জানিয়েছে",
    "Google News ফিডটি অনুসরণ করুন",
    "Hello world",
    "TASS",
    "১৪ হাজার সৈন্য",
    "14 হাজার সৈন্য",
    "০১:২৮:৩১ অপরাহ্ন, ১৩ জুলাই ২০২৫",
    "Apr 29, 2025",
    "তিনি বলেন, ‘আমরা শান্তি চাই।’",
    "মন্ত্রী বলেছেন, “দাম কমবে।”",
    "ভালো খবর 😀 আজ",
    "😀",
    "中文 আর हिन्दी",
    "∑ ≠ ∞",
    # য় ড় ঢ় precomposed (U+09DF U+09DC U+09DD) and as base + nukta
    # (U+09BC); NFC and NFKC both decompose them (composition exclusions).
    "কোরি\u09dfা",
    "কোরি\u09af\u09bcা",
    "প\u09dcে ও আষা\u09dd",
    "প\u09a1\u09bcে ও আষা\u09a2\u09bc",
    # ো precomposed (U+09CB) and as ে + া (U+09C7 U+09BE), which NFC composes.
    "ক\u09cbরিয়া মস্ক\u09cb",
    "ক\u09c7\u09beরিয়া মস্ক\u09c7\u09be",
    # ZWNJ / ZWJ inside conjuncts; ৎ vs ত্‍.
    "র\u200d্যাব",
    "ক্\u200cষ",
    "বিদ্যুৎ",
    "বিদ্যুত্\u200d",
    "ড. ইউনূস ও মো. রহিম",
    "সোমবার (২৮ এপ্রিল)",
    ">>ben<< আজ ঢাকায়",
    "ফুলবাড়ী।।",
    "ক্ষমতাসীন ওয়ার্কার্স পার্টির সেন্ট্রাল মিলিটারি কমিশন",
    "ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ",
    # Literal special-token text: the Python tokenizer splits these out as
    # the special tokens themselves before SentencePiece sees the text.
    "আজ </s> ঢাকায়",
    "<unk>",
    "আজ<pad>ঢাকায়",
    "\u00a0আজ\u00a0ঢাকায়\u3000বৃষ্টি",
]

GENERATION_SETTINGS = [
    ("greedy", {"num_beams": 1, "do_sample": False, "max_length": MAX_LENGTH}),
    ("beam4", {"num_beams": 4, "do_sample": False, "max_length": MAX_LENGTH}),
    (
        "beam3_lp0.6_norepeat2",
        {
            "num_beams": 3,
            "do_sample": False,
            "max_length": MAX_LENGTH,
            "length_penalty": 0.6,
            "no_repeat_ngram_size": 2,
            "early_stopping": True,
        },
    ),
    ("beam4_maxlen8", {"num_beams": 4, "do_sample": False, "max_length": 8}),
    ("greedy_maxlen8", {"num_beams": 1, "do_sample": False, "max_length": 8}),
    # Settings that make the length normalisation and stopping rules matter.
    (
        "beam5_lp2.0_never",
        {
            "num_beams": 5,
            "do_sample": False,
            "max_length": MAX_LENGTH,
            "length_penalty": 2.0,
            "early_stopping": "never",
        },
    ),
    (
        "beam4_lp-0.5_rep1.3",
        {
            "num_beams": 4,
            "do_sample": False,
            "max_length": MAX_LENGTH,
            "length_penalty": -0.5,
            "repetition_penalty": 1.3,
        },
    ),
    ("greedy_rep1.5", {"num_beams": 1, "do_sample": False, "max_length": MAX_LENGTH, "repetition_penalty": 1.5}),
]


def float32_list(values: torch.Tensor) -> list[float]:
    # Shortest decimal that reads back as the same float32, so the JSON stays
    # small and `"...".parse::<f32>()` gives the exact value.
    return [float(np.format_float_positional(np.float32(v), unique=True)) for v in values.tolist()]


def strip_batch_padding(ids: list[int], pad_id: int) -> list[int]:
    """Trailing pads in a batched generate() output only fill the row up to the
    longest row. A sequence starts with the decoder start token (= pad), so
    only pads after position 0 are removed."""
    end = len(ids)
    while end > 1 and ids[end - 1] == pad_id:
        end -= 1
    return ids[:end]


def generation_sources(sentences: list[str]) -> list[str]:
    article = [s for s in sentences if has_bengali(s)]
    short = [s for s in article if 2 <= len(s.split()) <= 8]
    medium = [s for s in article if 9 <= len(s.split()) <= 14]
    long = sorted((s for s in article if len(s.split()) > 18), key=len)
    rng = random.Random(SEED + 1)
    picked = rng.sample(short, min(10, len(short))) + rng.sample(medium, min(5, len(medium)))
    picked += long[:1] + long[-1:]
    with_digits = [s for s in article if re.search("[০-৯]", s) and s not in picked]
    with_quotes = [s for s in article if re.search("[‘“]", s) and s not in picked]
    picked += with_digits[:2] + with_quotes[:2]
    picked += [
        "আজ ঢাকায় বৃষ্টি হয়েছে।",
        "তিনি বলেন, ‘আমরা শান্তি চাই।’",
        "কিম",
        "১০ হাজার সৈন্য",
        "",
    ]
    return list(dict.fromkeys(picked))


def run_generation(model, tok, sources, settings):
    pad_id = tok.pad_token_id
    cases = []
    for source in sources:
        enc = tok([source], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**enc, **settings)
        ids = out[0].tolist()
        case = {}
        if settings["num_beams"] == 1:
            case["min_top2_margin"] = greedy_min_margin(model, enc, settings)
        cases.append(
            {
                "source": source,
                "input_ids": enc["input_ids"][0].tolist(),
                "output_ids": ids,
                "text": tok.batch_decode(out, skip_special_tokens=True)[0],
                # "eos": the model chose EOS before max_length; "max_length":
                # the sequence reached max_length (its last token is then the
                # EOS forced by forced_eos_token_id).
                "finish": "eos" if len(ids) < settings["max_length"] else "max_length",
                **case,
            }
        )
    enc = tok(sources, return_tensors="pt", padding=True)
    with torch.no_grad():
        batched = model.generate(**enc, **settings)
    batched_ids = [strip_batch_padding(row, pad_id) for row in batched.tolist()]
    mismatches = [
        case["source"] for case, row in zip(cases, batched_ids) if row != case["output_ids"]
    ]
    return cases, mismatches


def greedy_min_margin(model, enc, settings) -> float:
    """Smallest gap between the best and second-best processed score over the
    free greedy steps: how much float noise the greedy fixture tolerates."""
    with torch.no_grad():
        out = model.generate(**enc, **settings, return_dict_in_generate=True, output_scores=True)
    margins = []
    for step in out.scores:
        top2 = torch.topk(step[0], 2).values
        gap = float(top2[0] - top2[1])
        if np.isfinite(gap):  # the forced-EOS step has a gap of inf
            margins.append(gap)
    return round(min(margins), 5) if margins else float("inf")


def same_tokens_with_eager_attention(tok, generation) -> dict[str, bool]:
    """The reference runs with the default attention (sdpa); a different
    kernel must give the same tokens, or the fixture is too fragile for a
    reimplementation with its own float rounding."""
    eager = MarianMTModel.from_pretrained(OUT_SAFETENSORS, attn_implementation="eager").eval()
    result = {}
    for block in generation:
        same = True
        for case in block["cases"]:
            enc = tok([case["source"]], return_tensors="pt")
            with torch.no_grad():
                out = eager.generate(**enc, **block["settings"])
            same &= out[0].tolist() == case["output_ids"]
        result[block["name"]] = same
    return result


def logits_cases(model, tok, greedy_cases):
    cases = []
    chosen = [c for c in greedy_cases if len(c["output_ids"]) >= 3 and c["source"]][:5]
    for case in chosen:
        input_ids = torch.tensor([case["input_ids"]])
        decoder_input_ids = torch.tensor([case["output_ids"][:3]])
        with torch.no_grad():
            logits = model(input_ids=input_ids, decoder_input_ids=decoder_input_ids).logits[0]
        cases.append(
            {
                "source": case["source"],
                "input_ids": case["input_ids"],
                "decoder_input_ids": decoder_input_ids[0].tolist(),
                "logits": [float32_list(row) for row in logits],
            }
        )
    return cases


def detokenizer_id_lists(tok, sentences):
    vocab = tok.encoder
    pad, eos, unk = tok.pad_token_id, tok.eos_token_id, tok.unk_token_id
    target_examples = [romanize(s) for s in sentences[:4]] + ENGLISH_SENTENCES[:3]
    id_lists = [tok(text_target=t)["input_ids"] for t in target_examples]
    first = id_lists[0]
    id_lists += [
        [],
        [eos],
        [pad],
        [pad] + first,
        first[:3] + [unk] + first[3:],
        first[:2] + [eos] + first[2:],
        first[:2] + [pad, pad] + first[2:],
        [pad, unk, eos],
        # Source-side pieces decoded with the target spm.
        tok("আজ ঢাকায় বৃষ্টি হয়েছে।")["input_ids"],
        [vocab["▁"]] if "▁" in vocab else [],
        [vocab["▁"], vocab["▁"]] if "▁" in vocab else [],
    ]
    return id_lists


def file_sizes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}


def main() -> None:
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    lines = article_lines()
    sentences = split_sentences(lines) + OWN_SENTENCES
    bengali_lines = lines + OWN_SENTENCES
    bengali_sentences = [s for s in sentences if has_bengali(s)]
    target_lines = [romanize(s) for s in bengali_lines if has_bengali(s)] + ENGLISH_SENTENCES

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tok = build_tokenizer(work, bengali_lines, target_lines)
        print(f"vocab size {len(tok.encoder)}, pad id {tok.pad_token_id}", file=sys.stderr)

        model = build_model(tok)
        model.generation_config = generation_config(tok)
        # Trainable weights only: the sinusoidal position tables are frozen.
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        pairs = training_pairs(bengali_sentences, random.Random(SEED))
        stats = train(model, tok, pairs)
        print(f"trained: {stats}", file=sys.stderr)

        for out_dir, safe in ((OUT_SAFETENSORS, True), (OUT_PTH, False)):
            if out_dir.exists():
                shutil.rmtree(out_dir)
            out_dir.mkdir(parents=True)
            if safe:
                model.save_pretrained(out_dir)
            else:
                save_legacy_bin(model, out_dir)
            tok.save_pretrained(out_dir)

    # Everything below uses the saved files, the way a user of the fixture would.
    tok = MarianTokenizer.from_pretrained(OUT_SAFETENSORS)
    model = MarianMTModel.from_pretrained(OUT_SAFETENSORS).eval()
    reloaded_pth = MarianMTModel.from_pretrained(OUT_PTH).eval()
    for (name, a), (_, b) in zip(model.state_dict().items(), reloaded_pth.state_dict().items()):
        assert torch.equal(a, b), f"safetensors and .bin differ at {name}"

    tokenizer_texts = list(dict.fromkeys(bengali_sentences[:12] + sorted(bengali_sentences, key=len)[-2:] + TOKENIZER_EXTRA))
    tokenizer_cases = [{"text": t, "input_ids": tok(t)["input_ids"]} for t in tokenizer_texts]
    target_tokenizer_cases = [
        {"text": t, "input_ids": tok(text_target=t)["input_ids"]}
        for t in ["kim jong un", "North Korea, 14 troops.", "  double  spaces ", "", romanize(bengali_sentences[0])]
    ]
    id_lists = detokenizer_id_lists(tok, bengali_sentences)
    decode_spm_differs = [
        ids
        for ids in id_lists
        if tok.decode(ids, skip_special_tokens=True)
        != tok.decode(ids, skip_special_tokens=True, use_source_tokenizer=False)
    ]

    sources = generation_sources(sentences)
    generation = []
    batched_equal: dict[str, bool] = {}
    mismatched_sources: dict[str, list[str]] = {}
    for name, settings in GENERATION_SETTINGS:
        cases, mismatches = run_generation(model, tok, sources, settings)
        generation.append({"name": name, "settings": settings, "cases": cases})
        batched_equal[name] = not mismatches
        mismatched_sources[name] = mismatches

    greedy_cases = generation[0]["cases"]
    expected = {
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
        },
        "notes": {
            "tokenizer": "MarianTokenizer(text)['input_ids'] with the source spm; tokenizer_target uses text_target= (target spm)",
            "detokenizer": "decode(ids, skip_special_tokens=True); detokenizer_keep_special: skip_special_tokens=False. "
            "With a shared vocab transformers decodes pieces with the SOURCE spm (use_source_tokenizer defaults to True); "
            f"ids whose text would differ with the target spm: {decode_spm_differs}",
            "attention": f"attn_implementation={model.config._attn_implementation}",
            "output_ids": "Full generate() sequences at batch size 1, starting with decoder_start_token_id (= pad). "
            "The batched comparison strips trailing pad after position 0, which only comes from padding a row to the longest one.",
            "text": "batch_decode(output_ids, skip_special_tokens=True)",
            "logits": "model(input_ids, decoder_input_ids).logits[0] for the first 3 greedy output ids (teacher forcing); "
            "includes final_logits_bias; float32 written as its shortest round-trip decimal.",
            "romanization": "the model was trained to romanize Bengali word spans (scripts/make_fixtures.py::romanize)",
        },
        "special_ids": {
            "eos": tok.eos_token_id,
            "unk": tok.unk_token_id,
            "pad": tok.pad_token_id,
            "vocab_size": len(tok.encoder),
        },
        "training": {**stats, "parameters": n_params, "seed": SEED},
        "tokenizer": tokenizer_cases,
        "tokenizer_target": target_tokenizer_cases,
        "detokenizer": [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=True)} for ids in id_lists],
        "detokenizer_keep_special": [
            {"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)} for ids in id_lists
        ],
        "generation": generation,
        "batched_equals_single": all(batched_equal.values()),
        "batched_equals_single_by_setting": batched_equal,
        "batched_mismatched_sources": mismatched_sources,
        "eager_attention_equals_sdpa": same_tokens_with_eager_attention(tok, generation),
        "logits": logits_cases(model, tok, greedy_cases),
    }
    (OUT_SAFETENSORS / "expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    # marian-tiny-pth keeps only what differs: the pickled weights. The test
    # pairs them with marian-tiny's tokenizer and config files.
    for path in sorted(OUT_PTH.iterdir()):
        twin = OUT_SAFETENSORS / path.name
        if twin.exists() and twin.read_bytes() == path.read_bytes():
            path.unlink()

    for directory in (OUT_SAFETENSORS, OUT_PTH):
        print(f"{directory.relative_to(REPO_ROOT)}: {file_sizes(directory)}", file=sys.stderr)
    for block in generation:
        eos = sum(c["finish"] == "eos" for c in block["cases"])
        print(
            f"{block['name']}: {eos}/{len(block['cases'])} stop at EOS before max_length; "
            f"batched equal: {batched_equal[block['name']]}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
