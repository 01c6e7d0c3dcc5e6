"""Reference timing for `anubad bench`: the same random model of a real size
(Marian at opus-mt-bn-en's, or M2M100 at NLLB-200-distilled-600M's), the same
source ids and the same fixed output length, decoded by HF transformers'
`generate()` on the CPU.

Run both side by side in one session (numbers from separate runs on shared
machines are noise):

    cargo build --release
    RAYON_NUM_THREADS=2 target/release/anubad bench --model nllb-600m
    /path/to/venv/bin/python scripts/bench_transformers.py --model nllb-600m --threads 2

Needs the packages in scripts/requirements-fixtures.txt. CI never runs it.
"""

import argparse
import resource
import time

import torch
import transformers
from transformers import (
    M2M100Config,
    M2M100ForConditionalGeneration,
    MarianConfig,
    MarianMTModel,
)


def opus_mt():
    """opus-mt-bn-en's dimensions, as `opus_mt_base_config` in src/bench/mod.rs."""
    config = MarianConfig(
        vocab_size=58101, d_model=512, encoder_layers=6, decoder_layers=6,
        encoder_attention_heads=8, decoder_attention_heads=8,
        encoder_ffn_dim=2048, decoder_ffn_dim=2048, activation_function="swish",
        max_position_embeddings=512, pad_token_id=58100, eos_token_id=0,
        decoder_start_token_id=58100, scale_embedding=True,
    )
    return "Marian at opus-mt-bn-en's size", MarianMTModel, config


def nllb_600m():
    """facebook/nllb-200-distilled-600M's dimensions, as `nllb_600m_config`
    in src/bench/mod.rs (embeddings tied to the output layer, as in the real one)."""
    config = M2M100Config(
        vocab_size=256206, d_model=1024, encoder_layers=12, decoder_layers=12,
        encoder_attention_heads=16, decoder_attention_heads=16,
        encoder_ffn_dim=4096, decoder_ffn_dim=4096, activation_function="relu",
        max_position_embeddings=1024, scale_embedding=True, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        tie_word_embeddings=True,
    )
    return "M2M100 at NLLB-200-distilled-600M's size", M2M100ForConditionalGeneration, config


MODELS = {"opus-mt": opus_mt, "nllb-600m": nllb_600m}
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def sources(count, length, vocab, eos):
    """The same xorshift sequence as `sources` in src/bench/mod.rs: ids 3.. then
    the end-of-sequence id, so no special token mid-sentence."""
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    out = []
    for _ in range(count):
        ids = []
        for _ in range(max(length - 1, 0)):
            state ^= (state << 13) & mask
            state ^= state >> 7
            state ^= (state << 17) & mask
            ids.append(3 + state % (vocab - 4))
        ids.append(eos)
        out.append(ids)
    return out


def peak_rss_mib():
    # ru_maxrss is in KiB on Linux, like VmHWM that src/bench/mod.rs reads.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(MODELS), default="opus-mt")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--source-tokens", type=int, default=30)
    parser.add_argument("--output-tokens", type=int, default=32)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    describe, model_class, config = MODELS[args.model]()
    dtype = DTYPES[args.dtype]
    started = time.perf_counter()
    # Built directly in the benchmark dtype, so bf16 never holds an f32 copy.
    previous_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        model = model_class(config).eval()
    finally:
        torch.set_default_dtype(previous_dtype)
    print(f"random model ({describe}) built in {time.perf_counter() - started:.1f}s")
    pad, eos = config.pad_token_id, config.eos_token_id
    inputs = sources(args.sentences, args.source_tokens, config.vocab_size, eos)
    # No end token can stop a sentence early (min_new_tokens = max_new_tokens
    # suppresses it) and the pad id is never generated: every sentence
    # produces exactly `output_tokens` tokens, as in `anubad bench`.
    generation = dict(
        max_new_tokens=args.output_tokens, min_new_tokens=args.output_tokens,
        num_beams=args.beams, do_sample=False, bad_words_ids=[[pad]],
        decoder_start_token_id=config.decoder_start_token_id,
        pad_token_id=pad, eos_token_id=eos,
    )
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    print(f"{describe}, {args.dtype}: {args.sentences} sentences of {args.source_tokens} "
          f"tokens, {args.output_tokens} output tokens each, beams {args.beams}, "
          f"threads {torch.get_num_threads()}\n")
    print("| batch | seconds | sentences/s | target tokens/s | peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|", flush=True)
    with torch.inference_mode():
        # One warm-up batch so that first-touch page faults are not timed.
        ids = torch.tensor(inputs[:1])
        model.generate(ids, attention_mask=torch.ones_like(ids), **generation)
        for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
            started = time.perf_counter()
            tokens = 0
            for i in range(0, len(inputs), batch_size):
                ids = torch.tensor(inputs[i:i + batch_size])
                out = model.generate(ids, attention_mask=torch.ones_like(ids), **generation)
                # Every row starts with the decoder start id, as anubad's do.
                tokens += (out.shape[1] - 1) * out.shape[0]
            seconds = time.perf_counter() - started
            print(f"| {batch_size} | {seconds:.2f} | {len(inputs) / seconds:.1f} | "
                  f"{tokens / seconds:.1f} | {peak_rss_mib():.0f} |", flush=True)


if __name__ == "__main__":
    main()
