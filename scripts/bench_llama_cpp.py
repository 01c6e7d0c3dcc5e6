#!/usr/bin/env python3
"""anubad's chat backbone against llama.cpp on the same GGUF file.

Makes a Qwen2.5-1.5B-shaped model with random weights quantized as the
published Q4_K_M file is (`anubad bench --model qwen2.5-1.5b-q4km
--save-gguf`), gives it Qwen2's real tokenizer (from llama.cpp's own
vocabulary-only test file, `models/ggml-vocab-qwen2.gguf`, which the
llama-cpp-python source ships) and Qwen2.5's chat template, then times
prompt processing and greedy generation on the same token ids with
`anubad bench --gguf` and with llama.cpp (through llama-cpp-python, built
from source), each on the same number of threads.

llama.cpp is built for AVX-512 with VNNI and BF16 but without its AMX path:
built with -DGGML_NATIVE=ON (which turns AMX on), llama-cpp-python 0.3.36
dies with SIGILL at its first `tilezero` on these machines, even with AMX
permission granted to the process. pip caches the wheel it builds, hence
--no-cache-dir:

    python3 -m venv venv && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON \
        -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON \
        -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" \
        venv/bin/pip install --no-cache-dir -r scripts/requirements-llama-cpp.txt
    venv/bin/python scripts/bench_llama_cpp.py --anubad target/release/anubad \
        --vocab path/to/ggml-vocab-qwen2.gguf --work /tmp/llama-bench

Prints a Markdown table for docs/benchmarks.md; `--keep` leaves the merged
GGUF in --work for `anubad run --summarizer` timings.
"""

import argparse
import pathlib
import re
import resource
import subprocess
import sys
import time

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "src/chat/decoder/testdata/qwen25_chat_template.jinja"


def field_value(field):
    """A reader field's value, as the writer takes it."""
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        item = field.types[1]
        if item == GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data], item
        return [field.parts[i].tolist()[0] for i in field.data], item
    if kind == GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8"), kind
    return field.parts[field.data[0]].tolist()[0], kind


def merge(weights_path, vocab_path, out_path):
    """The random weights' GGUF with the vocabulary file's tokenizer."""
    weights = GGUFReader(weights_path)
    vocab = GGUFReader(vocab_path)
    writer = GGUFWriter(str(out_path), arch="qwen2")
    for source, keep in ((weights, lambda k: not k.startswith("tokenizer.")),
                         (vocab, lambda k: k.startswith("tokenizer.ggml."))):
        for key, field in source.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture" or not keep(key):
                continue
            value, kind = field_value(field)
            if isinstance(value, list):
                writer.add_array(key, value)
            else:
                writer.add_key_value(key, value, kind)
    writer.add_string("tokenizer.chat_template", TEMPLATE.read_text())
    for tensor in weights.tensors:
        writer.add_tensor(tensor.name, np.asarray(tensor.data),
                          raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def prompt_ids(count):
    # The ids `anubad bench` feeds: spread over the vocabulary's middle.
    return [1000 + (i * 7919) % 100_000 for i in range(count)]


def time_llama_cpp(path, prompt_tokens, generated, threads):
    import llama_cpp
    from llama_cpp import Llama

    def last_logits(llm):
        # Only the last position's logits are computed (as anubad does);
        # `Llama.scores` expects every position's.
        pointer = llama_cpp.llama_get_logits(llm._ctx.ctx)
        return np.ctypeslib.as_array(pointer, shape=(llm.n_vocab(),))

    llm = Llama(model_path=str(path), n_ctx=prompt_tokens + generated + 16,
                n_batch=512, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    tokens = prompt_ids(prompt_tokens)
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(generated):
        next_token = int(np.argmax(last_logits(llm)))
        llm.eval([next_token])
    generate_seconds = time.perf_counter() - started
    return prompt_seconds, generate_seconds


def time_anubad(binary, path, prompt_tokens, generated, threads):
    output = subprocess.run(
        [binary, "bench", "--gguf", str(path), "--prompt-tokens", str(prompt_tokens),
         "--output-tokens", str(generated), "--threads", str(threads)],
        check=True, capture_output=True, text=True).stdout
    rows = dict(re.findall(r"\| (prompt processing|generation) \| \d+ \| ([\d.]+) \|", output))
    return float(rows["prompt processing"]), float(rows["generation"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anubad", required=True, help="the anubad binary")
    parser.add_argument("--vocab", required=True, help="llama.cpp's ggml-vocab-qwen2.gguf")
    parser.add_argument("--work", default="/tmp/llama-bench")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds, alternating the engines; the median is shown")
    parser.add_argument("--engine", choices=["anubad", "llama.cpp"],
                        help="time one engine only (for peak memory, one per process)")
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    merged = work / "qwen2.5-1.5b-random-q4_k_m.gguf"
    if not merged.exists():
        weights = work / "weights.gguf"
        subprocess.run([args.anubad, "bench", "--model", "qwen2.5-1.5b-q4km", "--save-gguf",
                        str(weights), "--prompt-tokens", "1", "--output-tokens", "1"],
                       check=True, capture_output=True)
        merge(weights, args.vocab, merged)
        weights.unlink()
    engines = {
        "llama.cpp": lambda: time_llama_cpp(merged, args.prompt_tokens,
                                            args.output_tokens, args.threads),
        "anubad": lambda: time_anubad(args.anubad, merged, args.prompt_tokens,
                                      args.output_tokens, args.threads),
    }
    if args.engine:
        engines = {args.engine: engines[args.engine]}
    results = {name: [] for name in engines}
    for _ in range(args.repeats):
        for name, run in engines.items():
            results[name].append(run())
    print(f"Qwen2.5-1.5B-shaped Q4_K_M GGUF ({merged.stat().st_size / 1e9:.2f} GB), "
          f"{args.threads} threads, prompt {args.prompt_tokens} tokens, "
          f"{args.output_tokens} generated, median of {args.repeats}\n")
    print("| engine | prompt tokens/s | generated tokens/s |\n|---|---:|---:|")
    for name, rounds in results.items():
        prompt = sorted(p for p, _ in rounds)[len(rounds) // 2]
        generate = sorted(g for _, g in rounds)[len(rounds) // 2]
        print(f"| {name} | {args.prompt_tokens / prompt:.1f} | "
              f"{args.output_tokens / generate:.2f} |")
    if args.engine:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN if args.engine == "anubad"
                                  else resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak RSS of {args.engine}: {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
