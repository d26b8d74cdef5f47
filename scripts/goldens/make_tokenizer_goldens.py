#!/usr/bin/env python3
"""Tokenizer goldens: token ids from Hugging Face `tokenizers` for our own test strings.

Writes tests/fixtures/tokenizer_goldens/:
  strings.json              the test strings (>= 300: code, whitespace runs, many scripts, emoji ZWJ
                            sequences, combining marks, digit runs, literal special-token text, ...)
  <name>.golden.json        per tokenizer: ids of every string (add_special_tokens=False), the ids the
                            post-processor puts around them (checked to hold for every string), and the
                            cases where split_special_tokens or decoding differ from the obvious
  synthetic/<name>/tokenizer.json
                            small tokenizers built here to cover pipeline stages the real files do not
                            use (Metaspace, byte fallback, Prepend/Replace, Split behaviours, Digits,
                            lstrip/rstrip/single_word/normalized added tokens, Strip/Fuse decoders, ...)

Reference tokenizers: ../shared/data/tokenizers/{llama3,qwen3}/tokenizer.json, and Llama-2's
tokenizer.model converted the way transformers does it (vocab + merges from the SentencePiece
protobuf, Metaspace "first", byte fallback), cross-checked against `sentencepiece` itself.

Usage (from the repository root; see scripts/goldens/README.md):
  /opt/goldens-venv/bin/pip install -r scripts/goldens/requirements.txt
  /opt/goldens-venv/bin/python scripts/goldens/make_tokenizer_goldens.py [--shared DIR] [--out DIR]
"""
import argparse
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_strings():
    s = []
    # Code.
    s += [
        "def foo(x):\n    return x * 2\n",
        "int main(int argc, char** argv) {\n\tprintf(\"%d\\n\", argc);\n\treturn 0;\n}\n",
        "for (let i = 0; i < n; ++i) { arr[i] = i ** 2; }",
        "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
        "<html><body><div class=\"x\">Hello &amp; welcome</div></body></html>",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
        "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done\n",
        "    if x:\n        pass\n    else:\n        raise ValueError('bad')\n",
        "std::vector<std::pair<int, float>> v{{1, 2.0f}};",
        "fn main() { let s: &str = \"hi\"; println!(\"{s}\"); }",
        "x = [i for i in range(10) if i % 2 == 0]  # evens",
        "a+=1;b-=2;c*=3;d/=4;e%=5;f<<=6;g>>=7;h&=8;i|=9;j^=10;",
        "import numpy as np\nnp.zeros((3, 4), dtype=np.float32)\n",
        "class Foo(Bar):\n    \"\"\"Docstring.\"\"\"\n    __slots__ = ('a',)\n",
        "console.log(`template ${value} literal`);",
        "/* block comment */ // line comment\n-- sql comment\n# py comment",
        "\t\tindented_with_tabs();\n\t\t\tdeeper();",
        "if (a != b && c == d || !e) { return -1; }",
        "regex = r'^\\s*(\\d+)\\.(\\d+)$'",
        "SGVsbG8gV29ybGQ=  base64, 0xDEADBEEF, 0b1010, 1e-9, 3.14159",
        "path/to/file_name-v2.0.tar.gz C:\\Users\\name\\Desktop",
        "https://example.com/a/b?c=1&d=two#frag user@example.org",
        "\\begin{equation} E = mc^2 \\end{equation} $\\sum_{i=1}^n x_i$",
        "| col1 | col2 |\n|------|------|\n| a    | b    |",
        "```python\nprint('hi')\n```",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root/>",
        "    \n    \n",
        "func(a,b,c)->d;e=>f;g::h;i..j;k...l",
        "@decorator\ndef f(*args, **kwargs): ...",
        "SELECT COUNT(*) FROM t;\r\nGO\r\n",
    ]
    # Whitespace runs.
    ws = [" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", " \n", "\n ",
          " \t ", "\t\n", "\u00a0", "\u3000", "\u2009", "\u0085", "\u200b", "\u2028", "\u2029", "\u000b",
          "\u000c", "\r", " \u00a0 "]
    s += ws
    s += ["a" + w + "b" for w in ws[:12]]
    s += ["word" + w for w in ["  ", "\n", "\t", " \n ", "   \n"]]
    s += [w + "word" for w in ["  ", "\n", "\t", " \n ", "\u3000"]]
    s += ["Hello world", " Hello world", "Hello  world", "Hello   world", "  Hello world  ",
          "Hello\u00a0world", "Hello\u3000world", "Hello\u200bworld", "Hello\u0085world", "end. \n\nNew para"]
    # Scripts.
    s += [
        "你好，世界！今天天气很好。", "我想在apple工作1314151天～", "日本語のテキストです。カタカナ、ひらがな。",
        "東京は日本の首都です", "한국어 텍스트입니다. 안녕하세요!", "مرحبا بالعالم! هذا نص عربي.",
        "العربية ١٢٣٤٥٦٧٨٩٠", "שלום עולם, זה טקסט בעברית.", "नमस्ते दुनिया। यह हिंदी पाठ है।",
        "हिन्दी में संख्या १२३४", "আমি বাংলায় গান গাই", "தமிழ் மொழி அழகானது", "తెలుగు భాష",
        "ภาษาไทยเป็นภาษาที่สวยงาม", "ສະບາຍດີ", "កាន់តែពិសេសអាចខលចេញ", "မြန်မာဘာသာ",
        "ქართული ენა", "Հայերեն լեզու", "Привет, мир! Как дела?", "нещо на Български",
        "Українська мова: ґ, є, ї", "Ελληνικά: Γειά σου Κόσμε", "ΑΒΓΔΕ αβγδε ς σ",
        "ኢትዮጵያ አማርኛ", "བོད་ཡིག", "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ", "සිංහල", "ગુજરાતી", "ਪੰਜਾਬੀ", "ಕನ್ನಡ",
        "മലയാളം", "ଓଡ଼ିଆ", "Tiếng Việt có dấu", "Cửa Việt", "Türkçe İstanbul ıi", "Straße groß ẞ",
        "Ærøskøbing Åland", "Łódź Kraków Gdańsk", "Čeština: příliš žluťoučký kůň", "façade naïve café résumé",
        "Ñandú España", "Îñtërnâtiônàlizætiøn", "ᚠᛇᚻ᛫ᛒᛦᚦ", "𐌰𐌱𐌲 gothic", "ꦗꦮ javanese",
        "Ꭰ cherokee ᏌᏊ", "ߒߞߏ nko", "ⴰⵣⵓⵍ tifinagh", "𝕳𝖊𝖑𝖑𝖔 𝒲ℴ𝓇𝓁𝒹", "𠀀𠀁𠀂 CJK ext B",
        "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ﾊﾝｶｸｶﾀｶﾅ", "㈱㌔㍿", "ﬁﬂﬀ ligatures",
    ]
    # Emoji.
    s += [
        "🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)",
        "👨\u200d👩\u200d👧\u200d👦 family", "👩🏽\u200d💻 coder", "🏳️\u200d🌈 flag", "🇺🇸🇫🇷🇯🇵 flags",
        "1️⃣2️⃣3️⃣ keycaps", "👍🏻👍🏼👍🏽👍🏾👍🏿", "❤️ vs ❤ vs ♥", "🦙🦙🦙.cpp", "😁😂🤣😃",
        "emoji🙂inside🙃words", "🧑\u200d🤝\u200d🧑", "☺️☺︎", "🫠🫥🫨 new emoji", "👁️\u200d🗨️",
        "text 🐍 python 🦀 rust", "🎉🎊", "⌚⌛⏰", "©®™", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ]
    # Combining marks and normalization-sensitive text (NFC matters for qwen3).
    s += [
        "e\u0301", "cafe\u0301", "A\u030a", "n\u0303", "o\u0308\u0304", "Z\u0335\u0351a\u0336\u0350l\u0337g\u0338o\u0334",
        "\u1100\u1161\u11a8", "\u0915\u094d\u0937", "a\u0328\u0301", "\u0041\u030a\u0301",
        "Vie\u0323\u0302t", "\u212b angstrom", "\u2126 ohm", "\u00c5 vs A\u030a", "\u1e9b\u0323",
        "i\u0307", "\u0301leading combining", "x\u20dd enclosing", "\u0627\u0653", "\u05e9\u05c1",
    ]
    # Digits.
    s += ["3", "33", "333", "3333", "33333", "333333", "3333333", "33333333", "333333333",
          "1234567890", "3.14159", "1,000,000", "1 000 000", "-42", "+7", "007", "2024-01-31",
          "12:34:56", "v1.2.3", "1e10", "0.000001", "٠١٢٣٤٥٦٧٨٩", "०१२३", "１２３", "²³¹", "½ ¾ ⅓",
          "Ⅻ Ⅳ ⅷ", "①②③", "3.3 3..3 3...3", "12ab34cd", "a1b2c3", "99 bottles", "$100.00", "100%",
          "#1", "№5", "10^9", "2+2=4"]
    # Literal special-token text.
    s += [
        "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
        "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
        "<|im_start", "im_start|>", "<|im_start|><|im_end|>", " <think> ", "<think></think>",
        "<tool_call>{\"name\": \"f\"}</tool_call>", "<|reserved_special_token_5|>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
        "text<|im_end|>text", "<|IM_START|>", "< |im_start| >", "<<|im_start|>>", "<s> </s> <unk>",
        "<s>Hello</s>", "[INST] hi [/INST]", "<|start_header_id|>system<|end_header_id|>",
        "before <|eot_id|> after", "<|begin_of_text|>", "<|vision_start|><|image_pad|><|vision_end|>",
        "<mask> masked <mask>", "x [SEP] y", "hello world hellohello", "say hello, hello!",
        # Added tokens of the synthetic tokenizers (lstrip / rstrip / single_word / normalized).
        "a <tool> b<tool>c", " ünï x ünï", "<extra> and <extra>", "think about thinking, think!",
        "[CLS] x [END]", "a <sep> b  <sep>  c", "  <mask>  ", "x[SEP]   y", "hello_hello hello2 (hello)",
    ]
    # Contractions.
    s += ["I'm", "I'M", "i'm", "you're", "you'RE", "You'Re", "they've", "they'VE", "We'll", "We'lL",
          "WE'LL", "it's", "IT'S", "It'S", "don't", "DON'T", "Don'T", "he'd", "HE'D", "y'all",
          "'s", "'S", "'t", "''", "'", "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
          "it\u017f", "it'\u017f", "I\u2019m curly", "rock 'n' roll", "O'Neil's", "'''''", "l'amour"]
    # Line endings.
    s += ["line1\r\nline2\r\n", "a\rb\rc", "mixed\nline\r\nendings\r", "\r\n\r\n\r\n", "tab\tseparated\tvalues\n",
          "x\t\ty", " \t\n\r ", "trailing spaces   \nnext", "\n\n\nthree newlines first", "text\n\n\n"]
    # Misc.
    s += ["", "!!!!!!", "??????", "......", "------======", "``````", "''''''\"\"\"\"",
          "Hello, y'all! How are you 😁 ?", "(parenthesized) [bracketed] {braced}", "«guillemets» „quotes“ ‹›",
          "—em dash–en dash‐hyphen", "…ellipsis", "\ufeffBOM at start", "soft\u00adhyphen",
          "\x00\x01\x02\x1f control", "\x7f del", "\x80\x9f c1", "\ue000\uf8ff private use",
          "\U0010fffd plane 16", "ﷺ ﷽", "¡Hola! ¿Qué tal?", "A\u200dB\u200cC zero-width", "\u2060word joiner",
          "\u202eright-to-left override", "x" * 200, "ab" * 100, " " * 50, "\n" * 20,
          "🚀" * 20, "a" * 5 + " " * 5 + "b" * 5, "Hello", " Hello", "  Hello", "   Hello", "    Hello",
          "    Hello\n    Hello", " (", "\n =", "' era", " discards", "w048 7tuijk dsdfhu", "ied 4 ½ months", "Äpfel"]
    # Long mixed paragraphs.
    s += [
        "The quick brown fox jumps over the lazy dog. Le renard brun rapide saute par-dessus le chien paresseux. "
        "Der schnelle braune Fuchs springt über den faulen Hund. 敏捷的棕色狐狸跳过了懒狗。",
        "In 2023, the model achieved 87.5% accuracy on GSM8K (vs. 72.1% in 2022) — a 15.4-point gain!",
        "Q: What is 17 * 23?\nA: 17 * 23 = 391.\n\nQ: And 391 / 17?\nA: 23.",
        "Мы говорим по-русски, 我们说中文, نحن نتكلم العربية, and we speak English. 🌍",
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ ✅ 🦙🦙 3 33 333 3333 3.3 3..3",
        "def fibonacci(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n"
        "    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n求解方程 x² + 2x + 1 = 0<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n(x+1)² = 0 → x = -1\n</think>\n\nx = −1<|im_end|>",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
        "Ça va? Ça va bien, merci. Et toi? — Très bien!  Les élèves étudient l'œuvre de Molière.",
        "ひらがなとカタカナと漢字が混ざった文章：「こんにちは、世界！」と言った。",
    ]
    # Deterministic random mixes from a pool of characters of every kind above.
    rng = random.Random(20240531)
    pool = list("abcXYZ019 \t\n\r'\"<>|_-.,!?") + list("éüßçñøåœ") + list("中文日本語한국어") + \
        list("абвгдеёжзАБВ") + list("αβγΩ") + list("אבג") + list("مرحب") + list("नमस्ते") + list("ภาษา") + \
        ["\u0301", "\u200d", "\u00a0", "\u3000", "🚀", "😶", "🌫️", "👍🏽", "١", "３", "½", "<|im_start|>", "<|im_end|>",
         "<think>", "</think>", "<|eot_id|>", "'s", "'LL", "  ", "\r\n", "ſ", "İ", "ς"]
    for _ in range(70):
        n = rng.randint(1, 40)
        s.append("".join(rng.choice(pool) for _ in range(n)))
    seen, out = set(), []
    for x in s:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def golden(tok, strings, tokenizer_path):
    """Ids, post-processor wrapping, split-special and decode exceptions for one tokenizer."""
    empty_special = tok.encode("", add_special_tokens=True).ids
    prefix, suffix = empty_special, []
    # Prefix vs suffix: find where a non-empty text's ids sit inside the special encoding.
    probe = tok.encode("a", add_special_tokens=False).ids
    probe_special = tok.encode("a", add_special_tokens=True).ids
    for k in range(len(probe_special) - len(probe) + 1):
        if probe_special[k:k + len(probe)] == probe:
            prefix, suffix = probe_special[:k], probe_special[k + len(probe):]
            break
    g = {"tokenizer": tokenizer_path, "tokenizers_version": tokenizers.__version__,
         "special_prefix": prefix, "special_suffix": suffix, "ids": [], "special_exceptions": {},
         "split_special": {}, "decoded": {}, "decoded_skip_special": {}}
    for i, x in enumerate(strings):
        ids = tok.encode(x, add_special_tokens=False).ids
        g["ids"].append(ids)
        with_special = tok.encode(x, add_special_tokens=True).ids
        if with_special != prefix + ids + suffix:
            g["special_exceptions"][str(i)] = with_special
        tok.encode_special_tokens = True
        split = tok.encode(x, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        if split != ids:
            g["split_special"][str(i)] = split
        dec = tok.decode(ids, skip_special_tokens=False)
        if dec != x:
            g["decoded"][str(i)] = dec
        dec_skip = tok.decode(ids, skip_special_tokens=True)
        if dec_skip != dec:
            g["decoded_skip_special"][str(i)] = dec_skip
    return g


def spm_vocab_merges(model_path):
    """Vocab and merges of a SentencePiece BPE .model. Merges are ordered by piece score, as in the
    Llama-2 tokenizer.json on the Hub and in SentencePiece itself. (transformers 5's converter orders
    them by id instead, which makes Llama-2's "▁▁"-style pieces, score -1e9, merge first and
    disagrees with sentencepiece, e.g. on "a  b".)"""
    from transformers.convert_slow_tokenizer import generate_merges, import_protobuf
    pb = import_protobuf()
    m = pb.ModelProto()
    with open(model_path, "rb") as f:
        m.ParseFromString(f.read())
    vocab = {p.piece: i for i, p in enumerate(m.pieces)}
    scores = [(p.piece, p.score) for p in m.pieces]
    return m, vocab, generate_merges(vocab, scores)


def llama2_tokenizer(model_path, keep_below=None, legacy=True):
    """Llama-2's tokenizer.model as its Hub tokenizer.json has it (legacy: Prepend + Replace
    normalizer) or as transformers' non-legacy conversion does (Metaspace "first"); optionally
    pruned to the first `keep_below` pieces."""
    m, vocab, merges = spm_vocab_merges(model_path)
    if keep_below is not None:  # also keep Latin single characters, so that merges apply
        vocab = {t: i for t, i in vocab.items() if i < keep_below or t == "▁" or (len(t) == 1 and ord(t) < 0x250)}
        merges = [(a, b) for a, b in merges if a in vocab and b in vocab and a + b in vocab]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken(p.piece, normalized=False, special=True)
                            for p in m.pieces if p.type in (2, 3) and vocab.get(p.piece) is not None])
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def pruned_byte_level(tokenizer_json, keep_below):
    """A byte-level vocabulary cut to its first `keep_below` ids (merges restricted accordingly)."""
    j = json.load(open(tokenizer_json, encoding="utf-8"))
    vocab = {t: i for t, i in j["model"]["vocab"].items() if i < keep_below}
    merges = []
    for m in j["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append((a, b))
    return vocab, merges


def synthetic(shared):
    """Small tokenizers covering the pipeline stages and added-token flags the real files lack."""
    out = {}
    llama2_model = os.path.join(shared, "tokenizers/llama2/tokenizer.model")
    # 1. Mistral-style: Metaspace(first, no split), byte fallback on a 1200-piece vocabulary (so most
    #    non-ASCII text falls back to bytes), added tokens with every flag.
    t = llama2_tokenizer(llama2_model, keep_below=1200, legacy=False)
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False),
                          AddedToken("[SEP]", rstrip=True, special=True, normalized=False)])
    t.add_tokens([AddedToken("hello", single_word=True, normalized=True),
                  AddedToken("<tool>", normalized=False), AddedToken(" ünï", normalized=True)])
    out["spm_metaspace"] = t
    # 2. Llama-2 legacy: Prepend("▁") + Replace(" ", "▁") normalizer, no pre-tokenizer, a normalized
    #    added token (matched after normalization, decoded as its normalized form).
    t = llama2_tokenizer(llama2_model, keep_below=1200, legacy=True)
    t.add_tokens([AddedToken("<extra>", normalized=True), AddedToken("think", normalized=True, single_word=True)])
    out["spm_legacy"] = t
    # 3. Byte-level with extra stages: NFKC + Replace(regex), Split behaviours, Digits, ByteLevel with
    #    prefix space and the GPT-2 regex, TemplateProcessing with a prefix and a suffix.
    vocab, merges = pruned_byte_level(os.path.join(shared, "tokenizers/qwen3/tokenizer.json"), 3000)
    t = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(tokenizers.Regex(r"\d{4,}"), "####")])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(tokenizers.Regex(r"[,;]"), behavior="merged_with_next"),
        pre_tokenizers.Split(tokenizers.Regex(r"\s+"), behavior="contiguous", invert=True),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])
    t.decoder = decoders.ByteLevel()
    t.add_special_tokens([AddedToken("[CLS]", special=True, normalized=False),
                          AddedToken("[END]", special=True, normalized=False)])
    t.add_tokens([AddedToken("<sep>", lstrip=True, rstrip=True, normalized=False)])
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [END]", special_tokens=[("[CLS]", t.token_to_id("[CLS]")), ("[END]", t.token_to_id("[END]"))])
    out["bytelevel_stages"] = t
    # 4. Metaspace(always, split) with its own decoder, Lowercase + NFD + strip accents, Removed split.
    t = llama2_tokenizer(llama2_model, keep_below=2000, legacy=False)
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Replace(tokenizers.Regex(r"\p{Mn}"), ""),
                                         normalizers.Lowercase(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(r"[!?]+"), behavior="removed"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
    t.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always")])
    out["metaspace_split"] = t
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tokenizer_goldens"))
    args = ap.parse_args()
    strings = make_strings()
    assert len(strings) >= 300, len(strings)
    os.makedirs(args.out, exist_ok=True)
    dump = lambda obj, path: open(path, "w", encoding="utf-8").write(
        json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n")
    dump(strings, os.path.join(args.out, "strings.json"))

    real = {"llama3": "tokenizers/llama3/tokenizer.json", "qwen3": "tokenizers/qwen3/tokenizer.json"}
    for name, rel in real.items():
        tok = Tokenizer.from_file(os.path.join(args.shared, rel))
        dump(golden(tok, strings, rel), os.path.join(args.out, f"{name}.golden.json"))
        print(f"{name}: {len(strings)} strings", file=sys.stderr)

    # Llama-2 (SentencePiece): its Hub tokenizer.json layout rebuilt from tokenizer.model,
    # cross-checked with sentencepiece.
    llama2 = llama2_tokenizer(os.path.join(args.shared, "tokenizers/llama2/tokenizer.model"))
    g = golden(llama2, strings, "tokenizers/llama2/tokenizer.model (as the Hub's legacy tokenizer.json)")
    try:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(args.shared, "tokenizers/llama2/tokenizer.model"))
        differ = [i for i, x in enumerate(strings) if sp.encode(x) != g["ids"][i]]
        g["sentencepiece_differs"] = differ
        print(f"llama2: HF conversion differs from sentencepiece on {len(differ)} strings", file=sys.stderr)
    except ImportError:
        pass
    dump(g, os.path.join(args.out, "llama2.golden.json"))

    for name, tok in synthetic(args.shared).items():
        d = os.path.join(args.out, "synthetic", name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))  # goldens from the saved file
        dump(golden(tok, strings, f"synthetic/{name}/tokenizer.json"), os.path.join(args.out, f"{name}.golden.json"))
        print(f"{name}: written", file=sys.stderr)


if __name__ == "__main__":
    main()
