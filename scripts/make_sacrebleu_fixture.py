#!/usr/bin/env python3
"""Build tests/fixtures/sacrebleu/cases.json: what sacreBLEU itself scores.

src/eval reimplements sacreBLEU's BLEU, chrF and chrF++; tests/eval.rs
asserts that every score here is reproduced to 1e-9. The corpora are

- the inputs of sacreBLEU's own published test cases (test/test_bleu.py,
  test_sentence_bleu.py, test_chrf.py at github.com/mjpost/sacrebleu),
  rescored here with the settings anubad uses, and
- generated corpora (a fixed seed) that stress what differs between
  implementations: Bengali digits and danda, curly quotes, emoji and
  skin-tone modifiers, ZWJ/ZWNJ, combining marks, HTML entities, numbers
  with separators, whitespace Python splits on but Rust's
  `split_whitespace` does not (U+001C..U+001F), empty and one-word lines,
  long lines, and corpora with two references.

For every corpus: corpus BLEU (exp smoothing, no effective order) and
sentence BLEU (effective order, as `sacrebleu --sentence-level` does) with
each tokenizer (none, 13a, intl, char), the 13a and intl tokenizers'
output on the hypotheses, chrF and chrF++ (corpus and sentence), a chrF with β=3 and one
keeping whitespace, and every signature. Unrounded `score` values are
stored: sacreBLEU rounds only for display.

It also checks that the `regex` module's \\p{P}, \\p{S} and \\p{N} agree
with Python's unicodedata for every character in the fixture, so a
difference between Unicode versions cannot hide in it.

Setup and run, from the repository root:

    python3 -m venv /work/venv-eval
    /work/venv-eval/bin/pip install -r scripts/requirements-sacrebleu.txt
    /work/venv-eval/bin/python scripts/make_sacrebleu_fixture.py
"""

import argparse
import json
import random
import unicodedata

import regex
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

TOKENIZERS = ["none", "13a", "intl", "char"]

# Inputs of sacreBLEU's published test cases (hypotheses, reference streams).
_README_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
PUBLISHED = [
    ("test_bleu raw 1", ["this is a test", "another test"], [["ref1", "ref2"]]),
    ("test_bleu raw 2", ["this is a test"], [["this is a test"]]),
    ("test_bleu raw 3", ["this is a fest"], [["this is a test"]]),
    ("test_bleu README", ["The dog bit the man.", "It wasn't surprising.",
                          "The man had just bitten him."], _README_REFS),
    ("test_bleu empty hypotheses", ["", "", ""], _README_REFS),
    ("test_bleu offset", ["am I am a character sequence"],
     [["I am a symbol string sequence a a"]]),
    ("test_bleu effective order 1", ["test"], [["a test"]]),
    ("test_bleu effective order 2", ["a test"], [["a test"]]),
    ("test_bleu effective order 3", ["a little test"], [["a test"]]),
    ("test_sentence_bleu #98", ["Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"],
     [["producţia de zahăr brut se exprimă în zahăr alb;"]]),
    ("test_sentence_bleu #141", ["this is a cat"], [["okay thanks"]]),
    ("test_chrf sentence 1", ["Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."],
     [["Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."]]),
    ("test_chrf sentence 2", ["Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři."],
     [["A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."]]),
    ("test_chrf sentence 3", ["Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."],
     [["Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."]]),
    ("test_chrf abcdefg", ["abcdefg"], [["hijklmnop"]]),
    ("test_chrf a/b", ["a"], [["b"]]),
    ("test_chrf empty/b", [""], [["b"]]),
    ("test_chrf empty/ref", [""], [["ref"]]),
    ("test_chrf empty/reference", [""], [["reference"]]),
    ("test_chrf aa/ab", ["aa"], [["ab"]]),
    ("test_chrf two lines", ["a", "b"], [["a", "c"]]),
    ("test_chrf a/a", ["a"], [["a"]]),
    ("test_chrf abc spaced", ["a b c"], [["a b c"]]),
    ("test_chrf abc joined", ["a b c"], [["abc"]]),
    ("test_chrf risk", [" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."],
     [["risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."]]),
    ("test_chrf Netanjahu", [" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
     [["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."]]),
    ("test_chrf Mauer", ["Niemand hat die Absicht, eine Mauer zu errichten"],
     [["Niemand hat die Absicht, eine Mauer zu errichten"]]),
    ("test_chrf empty/c", [""], [["c"]]),
]

ENGLISH = ("the a of to in and said minister Dhaka Bangladesh police people "
           "government election court on Tuesday percent taka crore lakh "
           "U.S. Mr. don't it's e.g. co-operation well-known 3-4 1,000 2.5 "
           "10.5% $20 (AFP) [update] {note} 'quoted' \"double\" x/y a+b <b> "
           "&amp; &quot; &lt; &gt; <skipped> end. end, ...").split()
BENGALI = ("আমি বাংলাদেশ সরকার ঢাকা নির্বাচন পুলিশ আদালত মন্ত্রী শতাংশ টাকা কোটি লাখ "
           "হাজার বলেন করেছেন। ক্ষমতা ড়্ য় ০ ১২৩ ২০২৪ ১,০০০ ৩.৫ ৪-৫ ।").split()
ODD = [
    "।", "॥", "“", "”", "‘", "’", "«", "»", "—", "–", "…", "·", "•", "©", "€", "৳",
    "😀", "👍🏽", "👨\u200d👩\u200d👧", "🇧🇩", "e\u0301", "n\u0303o", "ক\u09bc", "ক্\u200dষ",
    "র\u200c্য", "\u200b", "½", "²", "Ⅻ", "٣", "१२", "ﬁ", "Ｆ", "％", "@", "#", "_", "~", "^",
    "\\", "|", "`", "¿", "¡", "§", "¶", "†", "°", "±", "×", "÷", "√", "∞", "≥", "→", "♥", "★",
    "1.", ".5", "a.b", "1,2", "a,b", "1-", "-1", "a-", "১.", "(১)", "২০২৪।", "5।",
]
# Separators: Python's str.split() whitespace includes U+001C..U+001F, which
# Rust's char::is_whitespace does not; the others are Unicode White_Space.
SPACES = [" "] * 30 + ["  ", "\t", "\u00a0", "\u2009", "\u3000", "\u001c", "\u001f", "\u0085", "\u2028"]


def random_line(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.06:
        return ""
    if shape < 0.12:
        return rng.choice(ENGLISH + BENGALI + ODD)
    if shape < 0.16:
        length = rng.randint(100, 200)
    else:
        length = rng.randint(2, 30)
    words = []
    for _ in range(length):
        pool = rng.random()
        if pool < 0.55:
            words.append(rng.choice(ENGLISH))
        elif pool < 0.8:
            words.append(rng.choice(BENGALI))
        else:
            words.append(rng.choice(ODD))
        # Glue some punctuation to the word before, as real text does.
        if rng.random() < 0.15:
            words[-1] += rng.choice([".", ",", "।", "!", "?", ";", ":", "”", ")", "-"])
        if rng.random() < 0.05:
            words[-1] = rng.choice(["“", "(", "'", "\"", "-"]) + words[-1]
    text = words[0]
    for word in words[1:]:
        text += rng.choice(SPACES) + word
    if rng.random() < 0.1:
        text = rng.choice(SPACES) + text
    if rng.random() < 0.1:
        text += rng.choice(SPACES)
    if rng.random() < 0.03:
        text = text.replace(" ", "-\n", 1)
    return text


def perturb(rng: random.Random, line: str) -> str:
    """A reference close to the hypothesis: some words dropped, swapped or replaced."""
    words = line.split(" ")
    out = []
    for word in words:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            out.append(rng.choice(ENGLISH + BENGALI + ODD))
        elif r < 0.25 and out:
            out.insert(len(out) - 1, word)
        else:
            out.append(word)
    if rng.random() < 0.1:
        return random_line(rng)
    return " ".join(out)


def generated(seed: int, corpora: int, lines: int):
    rng = random.Random(seed)
    result = []
    for index in range(corpora):
        hyps = [random_line(rng) for _ in range(lines)]
        streams = 2 if index % 3 == 2 else 1
        refs = [[perturb(rng, h) for h in hyps] for _ in range(streams)]
        result.append((f"generated {index + 1} ({streams} ref)", hyps, refs))
    return result


def score_corpus(name, hyps, refs):
    case = {"name": name, "hyps": hyps, "refs": refs, "bleu": {}, "chrf": {}}
    sentence_refs = [list(r) for r in zip(*refs)]
    for tok in TOKENIZERS:
        corpus = BLEU(tokenize=tok)
        sentence = BLEU(tokenize=tok, effective_order=True)
        score = corpus.corpus_score(hyps, refs)
        case["bleu"][tok] = {
            "corpus": score.score,
            "counts": list(score.counts),
            "totals": list(score.totals),
            "sys_len": score.sys_len,
            "ref_len": score.ref_len,
            "signature": str(corpus.get_signature()),
            "sentences": [sentence.sentence_score(h, r).score for h, r in zip(hyps, sentence_refs)],
            "sentence_signature": str(sentence.get_signature()),
        }
        # none and char are plain; the regex tokenizers' output pins down
        # a difference before it becomes a score.
        if tok in ("13a", "intl"):
            case["bleu"][tok]["tokenized"] = [corpus.tokenizer(h.rstrip()) for h in hyps]
    variants = {
        "chrf": dict(),
        "chrf++": dict(word_order=2),
        "chrf beta3": dict(beta=3),
        "chrf whitespace": dict(whitespace=True),
    }
    for label, kwargs in variants.items():
        metric = CHRF(**kwargs)
        score = metric.corpus_score(hyps, refs)
        case["chrf"][label] = {
            "options": {"char_order": metric.char_order, "word_order": metric.word_order,
                        "beta": metric.beta, "whitespace": metric.whitespace},
            "corpus": score.score,
            "signature": str(metric.get_signature()),
            "sentences": [metric.sentence_score(h, r).score for h, r in zip(hyps, sentence_refs)],
        }
    return case


def check_categories(cases):
    """The intl tokenizer's classes agree with unicodedata for every character used."""
    chars = set()
    for case in cases:
        for line in case["hyps"] + [l for s in case["refs"] for l in s]:
            chars.update(line)
    checks = [("P", r"\p{P}"), ("S", r"\p{S}"), ("N", r"\p{N}")]
    for ch in sorted(chars):
        category = unicodedata.category(ch)
        for major, pattern in checks:
            in_regex = regex.fullmatch(pattern, ch) is not None
            if in_regex != category.startswith(major):
                raise SystemExit(f"U+{ord(ch):04X}: regex {pattern} says {in_regex}, "
                                 f"unicodedata says {category}")
    return len(chars)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/sacrebleu/cases.json")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--corpora", type=int, default=8)
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()
    cases = [score_corpus(*c) for c in PUBLISHED]
    cases += [score_corpus(*c) for c in generated(args.seed, args.corpora, args.lines)]
    characters = check_categories(cases)
    fixture = {
        "sacrebleu": sacrebleu.__version__,
        "regex": regex.__version__,
        "unicodedata": unicodedata.unidata_version,
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    pairs = sum(len(c["hyps"]) for c in cases)
    print(f"{len(cases)} corpora, {pairs} sentence pairs, {characters} distinct characters "
          f"(categories agree) -> {args.out}")


if __name__ == "__main__":
    main()
