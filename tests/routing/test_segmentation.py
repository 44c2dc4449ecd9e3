import csv
from pathlib import Path

import jieba

from routing import segmentation
from routing.segmentation import ID_TOKEN, PHONE_TOKEN, clean, tokens, tokens_of_clean

DATA = Path(segmentation.__file__).parent / "data"


def test_clean_masks_phones_and_id_numbers_and_normalises_width():
    text = "电话13812345678，座机010-65121234，身份证11010119900307123X，ＡＢＣ１２３_x000D_换行"
    cleaned = clean(text)
    assert "13812345678" not in cleaned and "65121234" not in cleaned and "19900307" not in cleaned
    assert cleaned.count(PHONE_TOKEN) == 2 and ID_TOKEN in cleaned
    assert "ABC123" in cleaned
    assert "_x000D_" not in cleaned


def test_tokens_keep_domain_words_and_drop_filler_and_numbers():
    result = tokens("来电人反映：楼下饭馆油烟很大，电话13812345678，多次反映物业公司不管")
    assert "饭馆" in result and "油烟" in result and "物业公司" in result
    for dropped in ("来电人", "反映", "的", PHONE_TOKEN, "13812345678", "，"):
        assert dropped not in result


def test_empty_and_whitespace_text_give_no_tokens():
    assert tokens("") == []
    assert tokens("   \n\t ") == []


def test_keep_lines_keeps_one_break_per_run_and_cleans_the_same():
    text = "标题  一\r\n\n内容_x000D_第二\u3000行 １３８１２３４５６７８"
    assert clean(text, keep_lines=True) == f"标题 一\n内容\n第二 行 {PHONE_TOKEN}"
    assert clean(clean(text, keep_lines=True)) == clean(text)


def test_fast_cut_is_exactly_jieba_without_hmm():
    with (DATA / "seed_corpus.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    samples = [clean(r["text"]) for r in rows] + [clean(r["title"]) for r in rows]
    samples += ["abc 12a 3 x.y 你好ABC中文5G网络 \r\n 123", "", " ", "C++与C#", "100%的-负数", "PHONENUM 号码"]
    # The reference: jieba itself, with the same domain words added the way jieba adds user words.
    tk = _jieba_with(segmentation.dictionary().domain)  # the words this process's dictionary has
    for text in samples:
        assert segmentation._cut(text) == tk.lcut(text, HMM=False), text


def _jieba_with(domain):
    tk = jieba.Tokenizer()
    tk.initialize()
    for word, freq in domain:
        tk.add_word(word, freq)
    return tk


def test_the_compact_dictionary_follows_jiebas_arithmetic(tmp_path, monkeypatch, settings):
    """A domain word overriding a jieba word, a word deleted by frequency 0, a new word: the cut
    and is_word agree with jieba's own dictionary built from the same entries."""
    settings.HOTLINE_CACHE_DIR = str(tmp_path)
    domain = [("望京街道", 30000), ("小区", 0), ("油烟扰民", 50), ("饭馆", 999999)]
    d = segmentation.Dictionary.load(domain)
    tk = _jieba_with(domain)
    assert not d.is_word("小区") and not tk.FREQ["小区"]
    assert d.is_word("望京街道") and d.is_word("饭馆") and not d.is_word("望京街")  # a prefix only
    monkeypatch.setattr(segmentation, "_dictionary", d)
    segmentation._recent.clear()
    for text in ["望京街道某小区楼下饭馆油烟扰民晚上十点后还在营业", "小区门口饭馆", "油烟扰民严重"]:
        assert segmentation._cut(text) == tk.lcut(text, HMM=False), text
    segmentation._recent.clear()


def test_the_dictionary_is_built_once_per_word_list_and_then_mapped(tmp_path, monkeypatch, settings):
    settings.HOTLINE_CACHE_DIR = str(tmp_path)
    built = []
    real_build = segmentation.Dictionary.build.__func__
    monkeypatch.setattr(
        segmentation.Dictionary, "build", classmethod(lambda cls, *a: built.append(a[0]) or real_build(cls, *a))
    )
    segmentation.Dictionary.load([("接诉即办", 100)])
    segmentation.Dictionary.load([("接诉即办", 100)])
    assert len(built) == 1  # the second process (here: call) maps the cached files
    again = segmentation.Dictionary.load([("接诉即办", 200)])  # other words: another cache entry
    assert len(built) == 2 and again.is_word("接诉即办")
    assert len(list((tmp_path / "hotline-segmentation").glob("*.trie"))) == 2


def test_repeated_segmentation_returns_a_fresh_list():
    first = tokens_of_clean("楼下饭馆油烟很大")
    first.append("垃圾")
    assert tokens_of_clean("楼下饭馆油烟很大") == tokens("楼下饭馆油烟很大") == first[:-1]
