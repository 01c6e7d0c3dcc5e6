"""Reference timing for `anubad bench`: the same random Marian model of
opus-mt-bn-en's size, the same source ids and the same fixed output length,
decoded by HF transformers' `generate()` on the CPU.

Run both side by side in one session (numbers from separate runs on shared
machines are noise):

    cargo build --release
    RAYON_NUM_THREADS=2 target/release/anubad bench
    /path/to/venv/bin/python scripts/bench_transformers.py --threads 2

Needs the packages in scripts/requirements-fixtures.txt. CI never runs it.
"""

import argparse
import time

import torch
from transformers import MarianConfig, MarianMTModel

VOCAB = 58101
PAD = 58100


def sources(count, length, vocab):
    """The same xorshift sequence as src/bench.rs, ending in the EOS id 0."""
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    out = []
    for _ in range(count):
        ids = []
        for _ in range(length - 1):
            state ^= (state << 13) & mask
            state ^= state >> 7
            state ^= (state << 17) & mask
            ids.append(1 + state % (vocab - 2))
        ids.append(0)
        out.append(ids)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--source-tokens", type=int, default=30)
    parser.add_argument("--output-tokens", type=int, default=32)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=VOCAB, d_model=512, encoder_layers=6, decoder_layers=6,
        encoder_attention_heads=8, decoder_attention_heads=8,
        encoder_ffn_dim=2048, decoder_ffn_dim=2048, activation_function="swish",
        max_position_embeddings=512, pad_token_id=PAD, eos_token_id=0,
        decoder_start_token_id=PAD, scale_embedding=True,
    )
    model = MarianMTModel(config).eval()
    inputs = sources(args.sentences, args.source_tokens, VOCAB)
    print(f"transformers {__import__('transformers').__version__}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    print("| batch | seconds | sentences/s | target tokens/s |")
    print("|---:|---:|---:|---:|")
    with torch.inference_mode():
        ids = torch.tensor(inputs[:1])
        model.generate(ids, max_new_tokens=2, min_new_tokens=2, num_beams=1)
        for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
            started = time.perf_counter()
            tokens = 0
            for i in range(0, len(inputs), batch_size):
                ids = torch.tensor(inputs[i:i + batch_size])
                out = model.generate(
                    ids, attention_mask=torch.ones_like(ids),
                    max_new_tokens=args.output_tokens, min_new_tokens=args.output_tokens,
                    num_beams=args.beams, do_sample=False, bad_words_ids=[[PAD]],
                )
                tokens += (out.shape[1] - 1) * out.shape[0]
            seconds = time.perf_counter() - started
            print(f"| {batch_size} | {seconds:.2f} | {len(inputs) / seconds:.1f} | "
                  f"{tokens / seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
