import csv
from pathlib import Path

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
        rows = list(csv.DictReader(fh))[::5]
    samples = [clean(r["text"]) for r in rows] + [clean(r["title"]) for r in rows]
    samples += ["abc 12a 3 x.y 你好ABC中文5G网络 \r\n 123", "", " ", "C++与C#", "100%的-负数", "PHONENUM 号码"]
    tk = segmentation.tokenizer()
    for text in samples:
        assert segmentation._cut(text) == tk.lcut(text, HMM=False), text


def test_repeated_segmentation_returns_a_fresh_list():
    first = tokens_of_clean("楼下饭馆油烟很大")
    first.append("垃圾")
    assert tokens_of_clean("楼下饭馆油烟很大") == tokens("楼下饭馆油烟很大") == first[:-1]
