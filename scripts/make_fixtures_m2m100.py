#!/usr/bin/env python3
"""Build the tiny NLLB (M2M100) parity fixtures under tests/fixtures/.

What it does
------------
1. Collects the same Bengali text as scripts/make_fixtures.py (imported, not
   copied): the sentences of /work/shared/articles plus its own sentences,
   and their romanization (`make_fixtures.romanize`).
2. Trains one SentencePiece *BPE* model on both (NLLB's spm is BPE, with
   `<unk>` 0, `<s>` 1, `</s>` 2) and turns it into an `NllbTokenizer` with
   transformers' own pieces (SentencePieceExtractor + NllbConverter's
   reordering), the vocabulary laid out as NLLB's: `<s>` 0, `<pad>` 1,
   `</s>` 2, `<unk>` 3, spm pieces, the 202 language codes, `<mask>` last
   (see `build_tokenizer` for why not `from_pretrained` on the bare spm).
   The spm normalizes with a small rule table (NFKC restricted to the
   characters that matter here, see `normalization_rules`) instead of
   `nmt_nfkc`, whose 240 KB precompiled table would be stored base64 in
   every tokenizer.json; the tokenizer.json still has NLLB's
   `Precompiled` + `Replace(" {2,}")` normalizer.
3. Builds an M2M100ForConditionalGeneration with the flags of
   facebook/nllb-200-distilled-600M's config.json (relu, scale_embedding,
   pre-norm, final layer norms, tied embeddings, pad 1, bos 0, eos 2,
   decoder_start 2, max_position_embeddings 1024) but tiny sizes, and trains
   it for about a minute on CPU to map Bengali word spans to their
   romanization with the target language prefix `eng_Latn`, so outputs depend
   on the input and end with EOS on their own.
4. Saves with `save_pretrained`:
   tests/fixtures/nllb-tiny/          model.safetensors, config.json,
                                      generation_config.json (like the hub's:
                                      no forced_bos_token_id), tokenizer.json,
                                      tokenizer_config.json, expected.json
   tests/fixtures/nllb-tiny-sharded/  the same model in several shards with
                                      model.safetensors.index.json, and the
                                      same config and tokenizer files
   The tokenizer is saved the way the hub's is, with the converter's default
   source language (`eng_Latn`) in tokenizer.json's template; expected.json
   is made with `src_lang="ben_Beng"`, as a user loads it.
5. Records in nllb-tiny/expected.json what transformers does: tokenizer ids,
   decoded text, generate() outputs (greedy, beam 4, beam 4 with
   no_repeat_ngram_size 3 + repetition_penalty 1.2, greedy with max_length 8),
   all with forced_bos_token_id = eng_Latn, and raw logits.

How to run
----------
From the repository root, with the pinned environment of
scripts/requirements-fixtures.txt:

    /work/fixture-venv/bin/python scripts/make_fixtures_m2m100.py

Seeded and single-threaded (make_fixtures sets OMP_NUM_THREADS=1 before torch
is imported). FIXTURE_TRAIN_STEPS overrides the step count for trial runs.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_fixtures as mf  # noqa: E402  (sets the single-thread env first)

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration  # noqa: E402
from transformers import NllbTokenizer  # noqa: E402
from transformers.convert_slow_tokenizer import NllbConverter, SentencePieceExtractor  # noqa: E402
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES  # noqa: E402
from tokenizers.models import BPE  # noqa: E402

SEED = mf.SEED
FIXTURES = mf.FIXTURES
OUT = FIXTURES / "nllb-tiny"
OUT_SHARDED = FIXTURES / "nllb-tiny-sharded"
SPM_VOCAB_SIZE = 260
MAX_LENGTH = 64
TRAIN_STEPS = int(os.environ.get("FIXTURE_TRAIN_STEPS", "1400"))
SRC_LANG = "ben_Beng"
TGT_LANG = "eng_Latn"


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def normalization_rules() -> str:
    """NFKC as SentencePiece rules, restricted to the blocks this text uses.

    Each line maps a code point sequence to its NFKC form: Bengali (nukta
    letters decompose, `ে` + `া` / `ে` + `ৗ` compose), Latin-1, general
    punctuation and spaces, full-width ASCII, the ideographic space."""
    rules: dict[tuple[int, ...], tuple[int, ...]] = {}
    ranges = [(0x00A0, 0x00FF), (0x0980, 0x09FF), (0x2000, 0x206F), (0x3000, 0x3000), (0xFF01, 0xFF5E)]
    for low, high in ranges:
        for cp in range(low, high + 1):
            c = chr(cp)
            target = unicodedata.normalize("NFKC", c)
            if target != c and target:
                rules[(cp,)] = tuple(ord(t) for t in target)
    bengali = [chr(cp) for cp in range(0x0980, 0x0A00)]
    for a in bengali:
        for b in bengali:
            pair = a + b
            composed = unicodedata.normalize("NFKC", pair)
            if composed != unicodedata.normalize("NFKC", a) + unicodedata.normalize("NFKC", b):
                rules[(ord(a), ord(b))] = tuple(ord(t) for t in composed)
    return "".join(
        " ".join(f"{cp:X}" for cp in src) + "\t" + " ".join(f"{cp:X}" for cp in dst) + "\n"
        for src, dst in sorted(rules.items())
    )


def train_spm(lines: list[str], work: Path) -> Path:
    rules = work / "rules.tsv"
    rules.write_text(normalization_rules(), encoding="utf-8")
    model = io.BytesIO()
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="bpe",
        vocab_size=SPM_VOCAB_SIZE,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        normalization_rule_tsv=str(rules),
        num_threads=1,
        shuffle_input_sentence=False,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    spm_dir = work / "spm"
    spm_dir.mkdir()
    path = spm_dir / "sentencepiece.bpe.model"
    path.write_bytes(model.getvalue())
    return spm_dir


def build_tokenizer(work: Path, lines: list[str]) -> NllbTokenizer:
    """An NllbTokenizer over the trained spm, with the hub's layout.

    transformers 5.23's own path (`NllbTokenizer.from_pretrained` on a folder
    with only `sentencepiece.bpe.model`) loses the language codes: the
    SentencePiece extractor passes `additional_special_tokens=[<s>, </s>]`,
    which replaces NLLB's default list, so `eng_Latn` maps to `<unk>`. So the
    pieces come from the same extractor and NllbConverter's reordering, and
    the language codes and `<mask>` are appended to the vocabulary in
    fairseq's order (codes, then `<mask>` last), as in the hub's files."""
    spm_dir = train_spm(lines, work)
    extracted = SentencePieceExtractor(str(spm_dir / "sentencepiece.bpe.model")).extract(BPE)
    vocab = NllbConverter.convert_from_spm(vocab=extracted["vocab"])["vocab"]
    for code in FAIRSEQ_LANGUAGE_CODES + ["<mask>"]:
        vocab[code] = len(vocab)
    tok = NllbTokenizer(
        vocab=vocab,
        merges=extracted["merges"],
        _spm_precompiled_charsmap=extracted["_spm_precompiled_charsmap"],
        model_max_length=1024,
    )
    ids = tok.get_vocab()
    assert [ids[t] for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert ids["<mask>"] == len(tok) - 1 and ids["zul_Latn"] == len(tok) - 2, (len(tok), ids["<mask>"])
    return tok


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def build_model(tok) -> M2M100ForConditionalGeneration:
    # facebook/nllb-200-distilled-600M's config.json, shrunk.
    config = M2M100Config(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        activation_function="relu",
        max_position_embeddings=1024,
        scale_embedding=True,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        encoder_layerdrop=0.0,
        decoder_layerdrop=0.0,
        init_std=0.02,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        tie_word_embeddings=True,
        use_cache=True,
        is_encoder_decoder=True,
        tokenizer_class="NllbTokenizer",
        architectures=["M2M100ForConditionalGeneration"],
    )
    return M2M100ForConditionalGeneration(config)


def hub_generation_config() -> GenerationConfig:
    # The hub's generation_config.json: no forced_bos_token_id, no num_beams.
    return GenerationConfig(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2, max_length=200, pad_token_id=1)


def train(model, tok, pairs) -> dict:
    pad_id = tok.pad_token_id
    encoded = []
    for src, tgt in pairs:
        src_ids = tok(src)["input_ids"]
        tgt_ids = tok(text_target=tgt)["input_ids"]
        if len(src_ids) <= 40 and len(tgt_ids) <= 60:
            encoded.append((src_ids, tgt_ids))
    assert encoded[0][1][0] == tok.convert_tokens_to_ids(TGT_LANG), encoded[0]
    rng = random.Random(SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / 100) * max(0.1, 1.0 - step / TRAIN_STEPS),
    )
    model.train()
    batch_size = 32
    start = time.monotonic()
    losses: list[float] = []
    for step in range(TRAIN_STEPS):
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
        # labels = [eng_Latn, pieces..., </s>]; the model shifts them right
        # behind decoder_start_token_id (</s>), as NLLB was trained.
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if (step + 1) % 200 == 0:
            print(f"step {step + 1}: loss {np.mean(losses[-200:]):.3f}", file=sys.stderr)
    print(f"training took {time.monotonic() - start:.1f} s", file=sys.stderr)
    model.eval()
    return {"steps": TRAIN_STEPS, "final_loss": round(float(np.mean(losses[-100:])), 4), "train_pairs": len(encoded)}


# --------------------------------------------------------------------------
# Expected outputs
# --------------------------------------------------------------------------

PAD_IN_TEXT = "আজ<pad>ঢাকায় বৃষ্টি"

TOKENIZER_EXTRA = mf.TOKENIZER_EXTRA + [
    "ben_Beng আজ",
    "আজ eng_Latn ঢাকায়",
    "আজ <mask> ঢাকায়",
    "আজ<mask>",
    "<s> আজ",
]


def generation_settings(eng_id: int) -> list[tuple[str, dict]]:
    base = {"do_sample": False, "forced_bos_token_id": eng_id}
    return [
        ("greedy", {**base, "num_beams": 1, "max_length": MAX_LENGTH}),
        ("beam4", {**base, "num_beams": 4, "max_length": MAX_LENGTH}),
        (
            "beam4_norepeat3_rep1.2",
            {**base, "num_beams": 4, "max_length": MAX_LENGTH, "no_repeat_ngram_size": 3, "repetition_penalty": 1.2},
        ),
        ("greedy_maxlen8", {**base, "num_beams": 1, "max_length": 8}),
    ]


def run_generation(model, tok, sources, settings):
    cases = []
    for source in sources:
        enc = tok([source], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**enc, **settings)
        ids = out[0].tolist()
        cases.append(
            {
                "source": source,
                "input_ids": enc["input_ids"][0].tolist(),
                "output_ids": ids,
                "text": tok.batch_decode(out, skip_special_tokens=True)[0],
                "finish": "eos" if ids[-1] == tok.eos_token_id and len(ids) > 1 else "max_length",
            }
        )
    enc = tok(sources, return_tensors="pt", padding=True)
    with torch.no_grad():
        batched = model.generate(**enc, **settings)
    batched_ids = [mf.strip_batch_padding(row, tok.pad_token_id) for row in batched.tolist()]
    mismatches = [c["source"] for c, row in zip(cases, batched_ids) if row != c["output_ids"]]
    return cases, mismatches


def same_tokens_with_eager_attention(tok, generation) -> dict[str, bool]:
    eager = M2M100ForConditionalGeneration.from_pretrained(OUT, attn_implementation="eager").eval()
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


def logits_cases(model, greedy_cases):
    cases = []
    chosen = [c for c in greedy_cases if len(c["output_ids"]) >= 3 and len(c["input_ids"]) > 2][:3]
    chosen += [c for c in greedy_cases if c["source"] == PAD_IN_TEXT]
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
                "logits": [mf.float32_list(row) for row in logits],
            }
        )
    return cases


def detokenizer_id_lists(tok, bengali_sentences):
    eng, ben = tok.convert_tokens_to_ids(TGT_LANG), tok.convert_tokens_to_ids(SRC_LANG)
    pad, eos, unk, bos = tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.bos_token_id
    mask = tok.convert_tokens_to_ids("<mask>")
    targets = [mf.romanize(s) for s in bengali_sentences[:4]] + mf.ENGLISH_SENTENCES[:3]
    targets += ["It is 5 o'clock , isn't it ? Yes !", "a  b", "  leading"]
    id_lists = [tok(text_target=t)["input_ids"] for t in targets]
    first = id_lists[0]
    id_lists += [
        [],
        [eos],
        [eos, eng] + first[1:],
        first[:3] + [unk] + first[3:],
        first[:3] + [mask] + first[3:],
        first[:2] + [pad, pad] + first[2:],
        first[:2] + [ben, bos] + first[2:],
        tok("আজ ঢাকায় বৃষ্টি হয়েছে।")["input_ids"],
    ]
    return id_lists


def raw_tokenizer_json_differences(tok, texts) -> list[str]:
    """transformers rebuilds NLLB's pipeline from the vocabulary and merges
    instead of using tokenizer.json as saved; a reader of the raw file (the
    Rust side) only matches if both agree. Texts on which they differ."""
    from tokenizers import Tokenizer

    raw = json.loads((OUT / "tokenizer.json").read_text(encoding="utf-8"))
    lang_id = tok.convert_tokens_to_ids(SRC_LANG)
    processor = raw["post_processor"]
    for part in ("single", "pair"):
        for item in processor[part]:
            if item.get("SpecialToken", {}).get("id") == "eng_Latn":
                item["SpecialToken"]["id"] = SRC_LANG
    processor["special_tokens"].pop("eng_Latn")
    processor["special_tokens"][SRC_LANG] = {"id": SRC_LANG, "ids": [lang_id], "tokens": [SRC_LANG]}
    raw_tok = Tokenizer.from_str(json.dumps(raw))
    return [t for t in texts if raw_tok.encode(t).ids != tok(t)["input_ids"]]


def special_ids(tok) -> dict:
    return {
        "bos": tok.bos_token_id,
        "pad": tok.pad_token_id,
        "eos": tok.eos_token_id,
        "unk": tok.unk_token_id,
        "mask": tok.convert_tokens_to_ids("<mask>"),
        "eng_Latn": tok.convert_tokens_to_ids(TGT_LANG),
        "ben_Beng": tok.convert_tokens_to_ids(SRC_LANG),
        "vocab_size": len(tok),
    }


def main() -> None:
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    lines = mf.article_lines()
    sentences = mf.split_sentences(lines) + mf.OWN_SENTENCES
    bengali_lines = lines + mf.OWN_SENTENCES
    bengali_sentences = [s for s in sentences if mf.has_bengali(s)]
    spm_lines = bengali_lines + [mf.romanize(s) for s in bengali_lines if mf.has_bengali(s)] + mf.ENGLISH_SENTENCES

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hub_tok = build_tokenizer(work, spm_lines)
        hub_tok.save_pretrained(work / "hub")
        train_tok = NllbTokenizer.from_pretrained(work / "hub", src_lang=SRC_LANG, tgt_lang=TGT_LANG)
        print(f"vocab size {len(hub_tok)}", file=sys.stderr)
        model = build_model(hub_tok)
        model.generation_config = hub_generation_config()
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        pairs = mf.training_pairs(bengali_sentences, random.Random(SEED))
        stats = train(model, train_tok, pairs)
        print(f"trained: {stats}", file=sys.stderr)

        for out_dir in (OUT, OUT_SHARDED):
            if out_dir.exists():
                shutil.rmtree(out_dir)
            out_dir.mkdir(parents=True)
            hub_tok.save_pretrained(out_dir)
            # The spm is not needed next to tokenizer.json (transformers
            # reads tokenizer.json when both are present).
            (out_dir / "sentencepiece.bpe.model").unlink(missing_ok=True)
        model.save_pretrained(OUT)
        model.save_pretrained(OUT_SHARDED, max_shard_size="100KB")
        for name in ("config.json", "generation_config.json"):
            assert (OUT / name).read_bytes() == (OUT_SHARDED / name).read_bytes(), name

    # Everything below uses the saved files, the way a user would.
    tok = NllbTokenizer.from_pretrained(OUT, src_lang=SRC_LANG, tgt_lang=TGT_LANG)
    model = M2M100ForConditionalGeneration.from_pretrained(OUT).eval()
    sharded = M2M100ForConditionalGeneration.from_pretrained(OUT_SHARDED).eval()
    for (name, a), (_, b) in zip(model.state_dict().items(), sharded.state_dict().items()):
        assert torch.equal(a, b), f"single file and shards differ at {name}"
    eng_id = tok.convert_tokens_to_ids(TGT_LANG)

    tokenizer_texts = list(
        dict.fromkeys(bengali_sentences[:10] + sorted(bengali_sentences, key=len)[-2:] + TOKENIZER_EXTRA)
    )
    tokenizer_cases = [{"text": t, "input_ids": tok(t)["input_ids"]} for t in tokenizer_texts]
    raw_differs = raw_tokenizer_json_differences(tok, tokenizer_texts)
    id_lists = detokenizer_id_lists(tok, bengali_sentences)

    # A literal "<pad>" in the text is a real token for the attention mask
    # but gets the padding row of the position table, and later tokens count
    # on without it: transformers' position ids come from the token ids.
    sources = mf.generation_sources(sentences) + [PAD_IN_TEXT]
    generation = []
    batched_equal: dict[str, bool] = {}
    mismatched: dict[str, list[str]] = {}
    for name, settings in generation_settings(eng_id):
        cases, mismatches = run_generation(model, tok, sources, settings)
        generation.append({"name": name, "settings": settings, "cases": cases})
        batched_equal[name] = not mismatches
        mismatched[name] = mismatches

    tokenizer_config = json.loads((OUT / "tokenizer_config.json").read_text(encoding="utf-8"))
    expected = {
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": __import__("tokenizers").__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
        },
        "notes": {
            "tokenizer": f"NllbTokenizer.from_pretrained(dir, src_lang={SRC_LANG!r}, tgt_lang={TGT_LANG!r})(text)['input_ids']; "
            "the saved tokenizer.json's template has the converter's default eng_Latn as source language",
            "detokenizer": "decode(ids, skip_special_tokens=True); detokenizer_keep_special: skip_special_tokens=False. "
            f"tokenizer_config.json clean_up_tokenization_spaces={tokenizer_config.get('clean_up_tokenization_spaces')!r}; "
            "transformers 5.23 ignores it for BPE models",
            "attention": f"attn_implementation={model.config._attn_implementation}",
            "output_ids": "generate() sequences at batch size 1: decoder_start (</s>), forced eng_Latn, tokens, </s> "
            "when finished. settings include forced_bos_token_id, passed to generate() as a user does.",
            "text": "batch_decode(output_ids, skip_special_tokens=True)",
            "logits": "model(input_ids, decoder_input_ids).logits[0], teacher forcing the first 3 greedy output ids; "
            "float32 written as its shortest round-trip decimal",
        },
        "special_ids": special_ids(tok),
        "training": {**stats, "parameters": n_params, "seed": SEED},
        "tokenizer": tokenizer_cases,
        "detokenizer": [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=True)} for ids in id_lists],
        "detokenizer_keep_special": [
            {"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)} for ids in id_lists
        ],
        "generation": generation,
        "raw_tokenizer_json_differs_on": raw_differs,
        "batched_equals_single_by_setting": batched_equal,
        "batched_mismatched_sources": mismatched,
        "eager_attention_equals_sdpa": same_tokens_with_eager_attention(tok, generation),
        "logits": logits_cases(model, generation[0]["cases"]),
    }
    (OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    for directory in (OUT, OUT_SHARDED):
        print(f"{directory.relative_to(mf.REPO_ROOT)}: {mf.file_sizes(directory)}", file=sys.stderr)
    for block in generation:
        eos = sum(c["finish"] == "eos" for c in block["cases"])
        print(
            f"{block['name']}: {eos}/{len(block['cases'])} end with EOS; batched equal: {batched_equal[block['name']]}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
