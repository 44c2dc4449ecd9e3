from routing.segmentation import ID_TOKEN, PHONE_TOKEN, clean, tokens


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
