from routing.places import match_place


def test_community_in_the_address_gives_the_whole_chain(city):
    m = match_place(address="朝阳区望京西园社区3号楼")
    assert (m.district.code, m.street.code, m.community.code) == (
        "chaoyang",
        "chaoyang-wangjing",
        "chaoyang-wangjing-xiyuan",
    )
    assert m.status == "community"
    assert ("望京西园社区", "望京西园社区", "地址") in m.matched


def test_alias_in_free_text_finds_the_street(city):
    m = match_place(text="望京那边有个饭馆油烟很大")
    assert m.street.code == "chaoyang-wangjing" and m.district.code == "chaoyang"


def test_ambiguous_street_is_flagged_not_guessed(city, twin_streets):
    m = match_place(text="新村街道一个工地晚上施工")
    assert m.street is None
    assert m.ambiguous == ["新村街道"]
    assert m.status == "ambiguous"
    assert "重名" in m.describe()


def test_ambiguous_street_is_resolved_by_the_district(city, twin_streets):
    fengtai_xincun, _ = twin_streets
    m = match_place(address="丰台区新村街道某小区")
    assert m.street.id == fengtai_xincun.pk
    assert m.district.code == "fengtai"
    assert m.ambiguous == []


def test_unknown_place_reports_none(city):
    m = match_place(address="某某路", text="家里停水了")
    assert m.status == "none" and m.street is None and m.district is None


def test_district_only(city):
    m = match_place(text="朝阳区有个问题")
    assert m.status == "district" and m.district.code == "chaoyang" and not m.resolved
