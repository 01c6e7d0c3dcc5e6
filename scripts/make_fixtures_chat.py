#!/usr/bin/env python3
"""Build tests/fixtures/chat-reference/<arch>/: tiny random decoder-only
chat models (Qwen2, Qwen3, Llama 3, Gemma 3) and what transformers computes
with them, so that src/chat/ can be checked against the reference
implementation without Python.

For each architecture it writes
- `config.json` as the hub's checkpoints have it (written by transformers
  4.x: `rope_theta` / `rope_scaling` / `rope_local_base_freq`, not 5.x's
  `rope_parameters`), because that is what users download; transformers
  5.23 reads it back and the script checks what it made of it;
- `model.safetensors`: f32 weights drawn uniformly, wide enough that the
  logits are far from ties (see `min_top2_gap` in the output);
- `reference.json`: a 40-token prompt, the logits at its last position, 12
  greedy tokens (each step recomputes the whole sequence, no cache: the plain
  definition) and the logits of the last step.

The Llama model carries Llama 3's `rope_scaling` (`rope_type` llama3), with
`original_max_position_embeddings` small enough that the scaling changes
the tiny model's frequencies; `reference-unscaled.json` holds the same
outputs without it, for GGUF files, whose `rope_freqs` candle ignores.
Gemma 3 has Gemma 3's six-layer pattern (five layers with a sliding window,
here of 16 tokens, then a global one), so a 40-token prompt crosses the
window.

Run from the repository root (seconds):
    /work/fixture-venv/bin/python scripts/make_fixtures_chat.py
with the packages of scripts/requirements-fixtures.txt.
"""

import json
import pathlib

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/chat-reference"
VOCAB, HIDDEN, HEADS, KV_HEADS, LAYERS, FFN = 96, 32, 4, 2, 2, 64
PROMPT_LEN, NEW_TOKENS = 40, 12

COMMON = {
    "vocab_size": VOCAB,
    "hidden_size": HIDDEN,
    "intermediate_size": FFN,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV_HEADS,
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-6,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "float32",
    "transformers_version": "4.51.0",
}

CONFIGS = {
    "qwen2": {
        **COMMON,
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "sliding_window": 256,
        "max_window_layers": LAYERS,
        "use_sliding_window": False,
        "tie_word_embeddings": True,
    },
    "qwen3": {
        **COMMON,
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "head_dim": 8,
        "attention_bias": False,
        "hidden_act": "silu",
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "sliding_window": None,
        "max_window_layers": LAYERS,
        "use_sliding_window": False,
        "tie_word_embeddings": True,
    },
    "llama": {
        **COMMON,
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "head_dim": 8,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "rope_theta": 500000.0,
        "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 64,
            "rope_type": "llama3",
        },
        "tie_word_embeddings": False,
        "eos_token_id": [2, 3],
    },
    "gemma3": {
        **COMMON,
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "head_dim": 8,
        "attention_bias": False,
        "hidden_activation": "gelu_pytorch_tanh",
        "query_pre_attn_scalar": 8,
        "rope_theta": 1000000.0,
        "rope_local_base_freq": 10000.0,
        "rope_scaling": None,
        # Gemma 3's layout: five sliding-window layers, then a global one.
        "num_hidden_layers": 6,
        "sliding_window": 16,
        "sliding_window_pattern": 6,
        "final_logit_softcapping": None,
        "attn_logit_softcapping": None,
        "tie_word_embeddings": True,
        "bos_token_id": 2,
        "eos_token_id": [1, 3],
        "pad_token_id": 0,
    },
}


def randomize(model, arch, generator):
    """Uniform weights; norms around 1 (Gemma stores them as offsets from 1)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                values = torch.rand(param.shape, generator=generator) * 0.4 - 0.2
                param.copy_(values if arch == "gemma3" else values + 1.0)
            elif name.endswith("bias"):
                param.copy_(torch.rand(param.shape, generator=generator) * 0.2 - 0.1)
            elif "embed_tokens" in name:
                # Gemma multiplies embeddings by sqrt(hidden_size).
                scale = 0.6 if arch == "gemma3" else 2.0
                param.copy_((torch.rand(param.shape, generator=generator) - 0.5) * scale)
            else:
                param.copy_(torch.rand(param.shape, generator=generator) * 0.8 - 0.4)


def greedy(model, prompt):
    """The reference outputs: the prompt's last-position logits, greedy ids
    and the last step's logits."""
    ids = torch.tensor([prompt])
    with torch.no_grad():
        prompt_logits = model(ids, use_cache=False).logits[0, -1]
        generated, gaps, logits = [], [], prompt_logits
        for _ in range(NEW_TOKENS):
            top2 = torch.topk(logits, 2).values
            gaps.append(float(top2[0] - top2[1]))
            token = int(torch.argmax(logits))
            generated.append(token)
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            logits = model(ids, use_cache=False).logits[0, -1]
    return {
        "prompt_ids": prompt,
        "prompt_logits": prompt_logits.tolist(),
        "greedy_ids": generated,
        "last_step_logits": logits.tolist(),
        "min_top2_gap": min(gaps),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for index, (arch, config_json) in enumerate(CONFIGS.items()):
        directory = OUT / arch
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(config_json, indent=2) + "\n")
        config = AutoConfig.from_pretrained(directory)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        model.eval()
        generator = torch.Generator().manual_seed(1000 + index)
        randomize(model, arch, generator)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if config_json["tie_word_embeddings"]:
            state.pop("lm_head.weight", None)
        save_file(state, directory / "model.safetensors", metadata={"format": "pt"})

        # What transformers made of the legacy config.
        print(arch, "rope_parameters:", getattr(config, "rope_parameters", None))
        if arch == "gemma3":
            print(arch, "layer_types:", config.layer_types)
            assert config.layer_types == ["sliding_attention"] * 5 + ["full_attention"]

        prompt = torch.randint(4, VOCAB, (PROMPT_LEN,), generator=generator).tolist()
        outputs = greedy(model, prompt)
        (directory / "reference.json").write_text(json.dumps(outputs) + "\n")
        print(arch, "greedy", outputs["greedy_ids"], "min top-2 gap", outputs["min_top2_gap"])

        if arch == "llama":
            unscaled_json = {**config_json, "rope_scaling": None}
            unscaled_dir = OUT / "llama-unscaled-config"
            unscaled_dir.mkdir(exist_ok=True)
            (unscaled_dir / "config.json").write_text(json.dumps(unscaled_json))
            unscaled = AutoModelForCausalLM.from_config(
                AutoConfig.from_pretrained(unscaled_dir), attn_implementation="eager"
            )
            unscaled.load_state_dict(model.state_dict())
            unscaled.eval()
            (unscaled_dir / "config.json").unlink()
            unscaled_dir.rmdir()
            reference = greedy(unscaled, prompt)
            (directory / "reference-unscaled.json").write_text(json.dumps(reference) + "\n")
            differs = max(
                abs(a - b) for a, b in zip(reference["last_step_logits"], outputs["last_step_logits"])
            )
            print("llama: rope scaling moves the last step's logits by", differs)


if __name__ == "__main__":
    main()
