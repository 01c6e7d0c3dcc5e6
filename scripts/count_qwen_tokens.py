"""Token counts behind docs/benchmarks.md's LLM-translation estimate: how
many Qwen2.5 tokens the Bengali articles and the translate prompt take.

Qwen2.5's vocabulary is rebuilt from `qwen.tiktoken` in the PyPI package
dashscope 2.0.2 (same byte-level BPE ranks) and checked against the sha256
of Qwen2.5-1.5B-Instruct's vocab.json and merges.txt before use.

    pip download dashscope==2.0.2 --no-deps -d /tmp/ds && unzip -q /tmp/ds/*.whl -d /tmp/ds
    python scripts/count_qwen_tokens.py /tmp/ds/dashscope/resources/qwen.tiktoken ../shared/articles

Needs transformers and jinja2. The paragraph line numbers below are the
story paragraphs of the three articles in ../shared/articles (headlines,
datelines, captions and site furniture left out by hand).
"""
import base64, hashlib, json, os, re, statistics, sys, unicodedata

import jinja2
from transformers import Qwen2Tokenizer

TIKTOKEN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(os.environ.get("TMPDIR", "/tmp"), "qwen25-tokenizer")
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~")+1)) + list(range(ord("¡"), ord("¬")+1)) + list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256+n); n += 1
    return dict(zip(bs, map(chr, cs)))
be = bytes_to_unicode()
s = lambda b: "".join(be[x] for x in b)
ranks = {}
for line in open(TIKTOKEN,"rb").read().splitlines():
    t, r = line.split(); ranks[base64.b64decode(t)] = int(r)
def bpe(tok, max_rank):
    parts = [bytes([b]) for b in tok]
    while True:
        mi = None; mr = None
        for i, (a, b) in enumerate(zip(parts[:-1], parts[1:])):
            r = ranks.get(a+b)
            if r is not None and (mr is None or r < mr): mi, mr = i, r
        if mr is None or mr >= max_rank: break
        parts = parts[:mi] + [parts[mi]+parts[mi+1]] + parts[mi+2:]
    return parts
vocab = {}; merges = []
for tok, r in sorted(ranks.items(), key=lambda x: x[1]):
    vocab[s(tok)] = r
    if len(tok) == 1: continue
    p = bpe(tok, r); assert len(p) == 2, (tok, p)
    merges.append(s(p[0]) + " " + s(p[1]))
merges_text = "#version: 0.2\n" + "\n".join(merges) + "\n"
vocab_text = json.dumps(vocab, ensure_ascii=False, separators=(",", ":"))
# sha256 of Qwen2.5-1.5B-Instruct's merges.txt and vocab.json on the hub.
assert hashlib.sha256(merges_text.encode()).hexdigest() == "8831e4f1a044471340f7c0a83d7bd71306a5b867e95fd870f74d0c5308a904d5"
assert hashlib.sha256(vocab_text.encode()).hexdigest() == "ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910"
os.makedirs(WORK, exist_ok=True)
open(os.path.join(WORK, "merges.txt"), "w").write(merges_text)
open(os.path.join(WORK, "vocab.json"), "w").write(vocab_text)

tok = Qwen2Tokenizer(vocab=os.path.join(WORK, 'vocab.json'), merges=os.path.join(WORK, 'merges.txt'))
def n(s): return len(tok.encode(s, add_special_tokens=False))

A = sys.argv[2].rstrip('/') + '/'
BODY = {
 '2025-04-28-kcna-troops-kursk.txt': [3,5,7,8,10,12,14,16],
 '2025-07-13-kim-lavrov-unconditional-support.txt': list(range(5,13)),
 'kalbela-2024-12-01-kim-russia-self-defence.txt': list(range(10,29,2)),
}
WORD = re.compile(r'[\w]', re.U)
def words(s): return [w for w in s.split() if WORD.search(w)]
def sentences(s):
    k = len(re.findall(r'[।?!]+', s))
    if not re.search(r'[।?!][\s’”\'"]*$', s.strip()): k += 1
    return k

env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
tpl = env.from_string(open(os.path.join(ROOT, 'prompts/translate.md.j2')).read())
ex = [json.loads(l) for l in open(os.path.join(ROOT, 'prompts/translate-examples.jsonl')) if l.strip()]
SYS = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
def chat(prompt):  # specials counted as 1 token each
    return (2*3 + n("system\n" + SYS) + n("\n") + n("user\n" + prompt) + n("\n") + n("assistant\n"))
# exactness check of the piecewise count against a whole-string encode with specials as added tokens
tok.add_special_tokens({'additional_special_tokens':['<|im_start|>','<|im_end|>']})
def chat_exact(prompt):
    s = f"<|im_start|>system\n{SYS}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    return len(tok.encode(s, add_special_tokens=False))

empty = tpl.render(examples=ex, text="")
fixed_prompt = n(empty); fixed_chat = chat_exact(empty)
print("rendered prompt (text=''): chars", len(empty), "tokens", fixed_prompt, "| with ChatML+system:", fixed_chat, "(piecewise", chat(empty), ")")
print("ChatML wrapper alone (empty prompt):", chat_exact(""))

rows = []
for f, lines in BODY.items():
    L = open(A+f, encoding='utf-8').read().split('\n')
    for i in lines:
        p = L[i-1].strip()
        assert p, (f, i)
        pn = unicodedata.normalize('NFC', p)
        rows.append(dict(file=f[:12], line=i, chars=len(p), words=len(words(p)), sents=sentences(p),
                         tok=n(p), tok_in_prompt=chat_exact(tpl.render(examples=ex, text=p)) - fixed_chat,
                         nfc_changed=(pn != p)))
T = lambda k: sum(r[k] for r in rows)
print(f"\nparagraphs {len(rows)}; Bengali words {T('words')}, chars {T('chars')}, sentences {T('sents')}, Qwen tokens {T('tok')} (standalone), {T('tok_in_prompt')} (marginal in prompt)")
print(f"tokens/word {T('tok')/T('words'):.2f}; tokens/char {T('tok')/T('chars'):.3f}; tokens/sentence {T('tok')/T('sents'):.1f}; words/sentence {T('words')/T('sents'):.1f}; NFC changed {sum(r['nfc_changed'] for r in rows)} paras")
for r in rows: print(r)
med = lambda k: statistics.median(r[k] for r in rows)
print("\nmedian paragraph: words", med('words'), "chars", med('chars'), "sents", med('sents'), "tokens", med('tok'), "in-prompt", med('tok_in_prompt'))
print("min/max tokens", min(r['tok'] for r in rows), max(r['tok'] for r in rows))

# English side of examples
bnw = sum(len(words(e['bn'])) for e in ex); enw = sum(len(words(e['en'])) for e in ex)
bnt = sum(n(e['bn']) for e in ex); ent = sum(n(' ' + e['en']) for e in ex)
print(f"\nexamples: bn words {bnw}, en words {enw}, en/bn word ratio {enw/bnw:.2f}; bn tokens {bnt} ({bnt/bnw:.2f}/word); en tokens {ent} ({ent/enw:.2f}/word)")
for e in ex: print(len(words(e['bn'])), len(words(e['en'])), n(e['bn']), n(' '+e['en']))

