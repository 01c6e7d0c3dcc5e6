#!/usr/bin/env python3
"""Build the tiny T5 v1.1 parity fixture under tests/fixtures/t5-tiny/.

What it does
------------
1. Takes the Bengali sentences and the romanization of scripts/make_fixtures.py
   (imported, not copied).
2. Trains a SentencePiece unigram model laid out like T5's `spiece.model`
   (pad 0, eos 1, unk 2, no bos, as BanglaT5's) on the Bengali text and its
   romanization, and loads it with transformers' `T5Tokenizer`, which adds
   T5's 100 `<extra_id_N>` sentinels after the pieces (in reverse order).
3. Builds a `T5ForConditionalGeneration` with T5 v1.1 flags (gated-gelu feed
   forward, an lm_head separate from the shared embedding and no output
   scaling, attention inner dim num_heads * d_kv != d_model) at tiny sizes,
   trains it for about a minute on one CPU thread to romanize Bengali word
   spans, so that outputs depend on the input and end with EOS.
4. Writes the directory the way the BanglaT5 hub repo looks: config.json
   (with `"tie_word_embeddings": false`, as T5 v1.1 configs on the hub say),
   generation_config.json, model.safetensors, spiece.model and
   tokenizer_config.json, but no tokenizer.json.
5. Reloads that directory with transformers and records in expected.json what
   it does: tokenizer ids and tokens, decoded text, `generate()` outputs
   (greedy, beam 4, beam 4 with no_repeat_ngram_size 3 and repetition_penalty
   1.2) and the logits of the first decoding steps.

How to run
----------
From the repository root, with the pinned environment of
scripts/requirements-fixtures.txt:

    /work/fixture-venv/bin/python scripts/make_fixtures_t5.py

Seeded and single-threaded; CI never runs it.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# make_fixtures sets the single-thread environment before importing torch.
import make_fixtures as mf  # noqa: E402

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, T5Config, T5ForConditionalGeneration  # noqa: E402
from transformers import T5Tokenizer  # noqa: E402

try:
    # BanglaT5's required preprocessing; not on PyPI:
    #   pip install ftfy==6.0.3 emoji==1.4.2 regex git+https://github.com/csebuetnlp/normalizer@d405944dde5ceeacb7c2fd3245ae2a9dea5f35c9
    from normalizer import normalize  # noqa: E402
except ImportError as error:
    sys.exit(f"{error}: install csebuetnlp's normalizer (see scripts/requirements-fixtures.txt)")

SEED = 20250714
OUT = mf.FIXTURES / "t5-tiny"
SPM_VOCAB_SIZE = 400
MAX_LENGTH = 64
TRAIN_STEPS = int(os.environ.get("FIXTURE_TRAIN_STEPS", "900"))

GENERATION_SETTINGS = [
    ("greedy", {"num_beams": 1, "do_sample": False, "max_length": MAX_LENGTH}),
    ("beam4", {"num_beams": 4, "do_sample": False, "max_length": MAX_LENGTH}),
    (
        "beam4_norepeat3_rep1.2",
        {
            "num_beams": 4,
            "do_sample": False,
            "max_length": MAX_LENGTH,
            "no_repeat_ngram_size": 3,
            "repetition_penalty": 1.2,
        },
    ),
    ("greedy_maxlen8", {"num_beams": 1, "do_sample": False, "max_length": 8}),
]


def train_spiece(lines: list[str], model_path: Path) -> None:
    """Unigram spm with T5's special ids: <pad>=0, </s>=1, <unk>=2, no <s>."""
    model = io.BytesIO()
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=SPM_VOCAB_SIZE,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        shuffle_input_sentence=False,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    model_path.write_bytes(model.getvalue())


def build_model(vocab_size: int) -> T5ForConditionalGeneration:
    config = T5Config(
        vocab_size=vocab_size,
        d_model=32,
        # Inner attention width 4 * 12 = 48, not d_model: MADLAD (and T5 v1.1
        # large sizes) have num_heads * d_kv != d_model too. Rows of 48 are
        # not whole Q8_0 blocks, so the GGUF export keeps `o` in f32 and the
        # Rust side meets mixed quantized and dense layers.
        d_kv=12,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=32,
        # Smaller than the usual 128 so that inputs and outputs of this
        # fixture reach the last (clamped) bucket.
        relative_attention_max_distance=40,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        architectures=["T5ForConditionalGeneration"],
    )
    model = T5ForConditionalGeneration(config)
    # transformers 5 always ties lm_head to `shared` at construction (see
    # T5Config.__post_init__); T5 v1.1 checkpoints have their own lm_head, so
    # give the model one. Unscaled outputs meet it, so a small init.
    with torch.no_grad():
        head = torch.nn.Parameter(torch.randn(vocab_size, config.d_model) * config.d_model**-0.5)
    model.lm_head.weight = head
    assert model.lm_head.weight is not model.shared.weight
    return model


def train(model, tok, pairs) -> dict:
    encoded = []
    for src, tgt in pairs:
        src_ids = tok(src)["input_ids"]
        tgt_ids = tok(text_target=tgt)["input_ids"]
        if len(src_ids) <= 40 and len(tgt_ids) <= 60:
            encoded.append((src_ids, tgt_ids))
    rng = random.Random(SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / 100) * max(0.1, 1.0 - step / TRAIN_STEPS),
    )
    model.train()
    batch_size = 32
    start = time.monotonic()
    losses: list[float] = []
    for step in range(1, TRAIN_STEPS + 1):
        batch = rng.sample(encoded, batch_size)
        src_len = max(len(s) for s, _ in batch)
        tgt_len = max(len(t) for _, t in batch)
        input_ids = torch.full((batch_size, src_len), tok.pad_token_id)
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
        losses.append(loss.item())
        if step % 200 == 0:
            print(f"step {step}: loss {np.mean(losses[-200:]):.3f}", file=sys.stderr)
    print(f"training took {time.monotonic() - start:.1f} s", file=sys.stderr)
    model.eval()
    return {"steps": TRAIN_STEPS, "final_loss": round(float(np.mean(losses[-100:])), 4), "train_pairs": len(encoded)}


def write_hub_config(out: Path) -> None:
    """transformers 5 saves `"tie_word_embeddings": true` plus
    `"scale_decoder_outputs": false`; the T5 v1.1 configs on the hub (saved by
    transformers 4) say `"tie_word_embeddings": false` and nothing else. Write
    the hub form, which is what users load."""
    path = out / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    assert config.pop("scale_decoder_outputs") is False
    config["tie_word_embeddings"] = False
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def same_tokens_with_eager_attention(tok, generation) -> dict[str, bool]:
    eager = T5ForConditionalGeneration.from_pretrained(OUT, attn_implementation="eager").eval()
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


def detokenizer_id_lists(tok, bengali_sentences) -> list[list[int]]:
    first = tok(text_target=mf.romanize(bengali_sentences[0]))["input_ids"]
    id_lists = [tok(text_target=mf.romanize(s))["input_ids"] for s in bengali_sentences[:4]]
    id_lists += [tok(s)["input_ids"] for s in bengali_sentences[:2]]
    sentinel = tok.convert_tokens_to_ids("<extra_id_0>")
    id_lists += [
        [],
        [tok.eos_token_id],
        [tok.pad_token_id],
        [tok.pad_token_id] + first,
        first[:3] + [tok.unk_token_id] + first[3:],
        first[:2] + [tok.eos_token_id] + first[2:],
        first[:2] + [sentinel, sentinel - 1] + first[2:],
        [tok.pad_token_id, tok.unk_token_id, tok.eos_token_id],
        [tok.convert_tokens_to_ids("▁")],
        [tok.convert_tokens_to_ids("▁")] * 2,
    ]
    return id_lists


def bucket_tables() -> list[dict]:
    """transformers' relative position buckets for relative positions
    -300..300, so the Rust port can be checked bucket by bucket (the log
    buckets are computed in f32 and truncated: off-by-one prone)."""
    from transformers.models.t5.modeling_t5 import T5Attention

    first = -300
    relative = torch.arange(first, 301)
    tables = []
    for bidirectional in (True, False):
        for num_buckets, max_distance in ((32, 128), (32, 40)):
            buckets = T5Attention._relative_position_bucket(relative, bidirectional, num_buckets, max_distance)
            tables.append(
                {
                    "bidirectional": bidirectional,
                    "num_buckets": num_buckets,
                    "max_distance": max_distance,
                    "first_relative_position": first,
                    "buckets": buckets.tolist(),
                }
            )
    return tables


def main() -> None:
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    lines = mf.article_lines()
    sentences = mf.split_sentences(lines) + mf.OWN_SENTENCES
    bengali_lines = [s for s in lines + mf.OWN_SENTENCES if mf.has_bengali(s)]
    bengali_sentences = [s for s in sentences if mf.has_bengali(s)]
    spm_lines = bengali_lines + [mf.romanize(s) for s in bengali_lines]

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_spiece(spm_lines, work / "spiece.model")
        tok = T5Tokenizer.from_pretrained(work)
        # Hub T5 repos pad the embedding beyond the tokenizer (BanglaT5:
        # 32100 tokens, vocab_size 32128); do the same.
        vocab_size = (len(tok) + 63) // 64 * 64
        print(f"tokenizer size {len(tok)}, model vocab {vocab_size}", file=sys.stderr)
        model = build_model(vocab_size)
        n_params = sum(p.numel() for p in model.parameters())
        pairs = mf.training_pairs(bengali_sentences, random.Random(SEED))
        stats = train(model, tok, pairs)

        model.generation_config = GenerationConfig(
            decoder_start_token_id=0, eos_token_id=1, pad_token_id=0, max_length=MAX_LENGTH
        )
        model.save_pretrained(OUT)
        write_hub_config(OUT)
        tok.save_pretrained(OUT)
        # transformers 5 writes only tokenizer.json; the hub repo has
        # spiece.model and no tokenizer.json.
        (OUT / "tokenizer.json").unlink()
        shutil.copy(work / "spiece.model", OUT / "spiece.model")
        trained_tok = tok
        trained = model

    # Everything below uses the saved files, the way a user of the fixture would.
    tok = AutoTokenizer.from_pretrained(OUT)
    model = T5ForConditionalGeneration.from_pretrained(OUT).eval()
    assert not model.config.scale_decoder_outputs
    assert model.lm_head.weight is not model.shared.weight
    for (name, a), (_, b) in zip(trained.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), f"reloaded weights differ at {name}"

    tokenizer_texts = list(
        dict.fromkeys(
            bengali_sentences[:12]
            + sorted(bengali_sentences, key=len)[-2:]
            + mf.TOKENIZER_EXTRA
            + ["আজ <extra_id_0> ঢাকায়", "<extra_id_99>", "kim jong un", "North Korea, 14 troops."]
        )
    )
    tokenizer_cases = []
    for text in tokenizer_texts:
        ids = tok(text)["input_ids"]
        assert ids == trained_tok(text)["input_ids"], f"reloaded tokenizer differs on {text!r}"
        tokenizer_cases.append({"text": text, "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    id_lists = detokenizer_id_lists(tok, bengali_sentences)

    # BanglaT5's recipe: tokenizer(normalize(text)). Generation runs on the
    # normalized text; each case keeps the raw `source` (what anubad is given)
    # and the `normalized` text transformers saw.
    raw_sources = mf.generation_sources(sentences)
    sources = [normalize(text) for text in raw_sources]
    generation = []
    batched_equal: dict[str, bool] = {}
    for name, settings in GENERATION_SETTINGS:
        cases, mismatches = mf.run_generation(model, tok, sources, settings)
        for case, raw in zip(cases, raw_sources):
            case["normalized"] = case["source"]
            case["source"] = raw
        generation.append({"name": name, "settings": settings, "cases": cases})
        batched_equal[name] = not mismatches

    expected = {
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
        },
        "notes": {
            "tokenizer": "AutoTokenizer.from_pretrained(dir) (T5Tokenizer built from spiece.model, 100 extra ids); "
            "input_ids = tok(text)['input_ids'], tokens = convert_ids_to_tokens(input_ids)",
            "detokenizer": "batch_decode([ids], skip_special_tokens=True)[0]; detokenizer_keep_special: skip_special_tokens=False",
            "attention": f"attn_implementation={model.config._attn_implementation}",
            "sources": "generation cases ran on normalized = normalizer.normalize(source) "
            "(csebuetnlp/normalizer d405944, ftfy 6.0.3), as BanglaT5's model card requires; "
            "input_ids are of the normalized text",
            "output_ids": "Full generate() sequences at batch size 1, starting with decoder_start_token_id (= pad = 0). "
            "No forced EOS: a sequence cut by max_length ends without </s>.",
            "text": "batch_decode(output_ids, skip_special_tokens=True)",
            "logits": "model(input_ids, decoder_input_ids).logits[0] for the first 3 greedy output ids (teacher forcing); "
            "float32 written as its shortest round-trip decimal.",
            "config": "config.json is in the hub's T5 v1.1 form (tie_word_embeddings false, no scale_decoder_outputs); "
            "transformers 5 still ties nothing here because lm_head.weight differs from shared.weight in the file.",
        },
        "special_ids": {
            "pad": tok.pad_token_id,
            "eos": tok.eos_token_id,
            "unk": tok.unk_token_id,
            "decoder_start": model.config.decoder_start_token_id,
            "tokenizer_size": len(tok),
            "extra_id_0": tok.convert_tokens_to_ids("<extra_id_0>"),
            "extra_id_99": tok.convert_tokens_to_ids("<extra_id_99>"),
            "vocab_size": model.config.vocab_size,
        },
        "training": {**stats, "parameters": n_params, "seed": SEED},
        "tokenizer": tokenizer_cases,
        "detokenizer": [
            {"ids": ids, "text": tok.batch_decode([ids], skip_special_tokens=True)[0]} for ids in id_lists
        ],
        "detokenizer_keep_special": [
            {"ids": ids, "text": tok.batch_decode([ids], skip_special_tokens=False)[0]} for ids in id_lists
        ],
        "generation": generation,
        "batched_equals_single_by_setting": batched_equal,
        "eager_attention_equals_sdpa": same_tokens_with_eager_attention(tok, generation),
        "relative_position_buckets": bucket_tables(),
        "logits": mf.logits_cases(model, tok, generation[0]["cases"])[:3],
    }
    (OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    print(f"{OUT.relative_to(mf.REPO_ROOT)}: {mf.file_sizes(OUT)}", file=sys.stderr)
    for block in generation:
        eos = sum(c["finish"] == "eos" for c in block["cases"])
        print(
            f"{block['name']}: {eos}/{len(block['cases'])} stop at EOS before max_length; "
            f"batched equal: {batched_equal[block['name']]}",
            file=sys.stderr,
        )
    print(f"eager equals sdpa: {expected['eager_attention_equals_sdpa']}", file=sys.stderr)


if __name__ == "__main__":
    main()
