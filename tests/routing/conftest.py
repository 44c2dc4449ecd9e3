"""A small trained router on top of the shared city: three categories, rules, and a model."""

from __future__ import annotations

import pytest

from hotline.models import Category
from routing.models import DispatchRule, Place, PlaceLevel, RuleTarget
from routing.places import gazetteer
from routing.rules import rules
from routing.services import active_model
from routing.training import Corpus, store_model, train

CORPUS = {
    "0602": [
        "楼下饭馆油烟很大，排烟管道直接对着窗户",
        "小区底商烧烤店油烟呛人，家里开不了窗",
        "餐馆后厨排风扇油烟熏黑了外墙",
        "饭店油烟净化器不开，整栋楼都是油烟味",
        "楼下川菜馆排油烟，晚上十点还在炒菜",
        "烤串店油烟顺着楼道往上飘",
        "早餐铺炸油条油烟太大影响居民",
        "小吃街油烟扰民，要求安装净化设备",
    ],
    "0601": [
        "楼下酒吧音响声音太大，半夜还在唱歌",
        "广场舞音响太吵，晚上九点后还在跳",
        "邻居家装修电钻噪音，周末一早就开始",
        "商铺门口大喇叭循环喊促销，噪音很大",
        "KTV低音炮震得睡不着觉",
        "楼上住户半夜跺脚拖椅子噪音扰民",
        "夜市摊贩吆喝声和音乐声太吵",
        "小区门口健身房音乐声音太大",
    ],
    "0301": [
        "家里暖气不热，室温只有十五度",
        "供暖季开始了暖气还是凉的",
        "暖气片一半热一半凉，需要热力公司排气",
        "小区集中供暖温度不达标，老人受冻",
        "暖气管道漏水，热力公司一直没人来修",
        "楼里暖气停了两天，孩子感冒了",
        "供热温度太低，室内只有十六度",
        "暖气阀门坏了，家里一点都不热",
    ],
}


@pytest.fixture
def router(city, settings):
    """Categories, one rule per category, a trained active model; caches reset around the test.

    The tiny corpus's tickets are a few words long, and the tests here are about rules, places and
    the confidence gate: the minimum-length rule is off (test_router tests it on its own)."""
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_MIN_CHARS": 0}
    top_env, _ = Category.objects.get_or_create(code="06", defaults={"name": "环境保护"})
    noise = Category.objects.create(code="0601", name="噪声扰民", parent=top_env, scope="territorial")
    top_pub = Category.objects.create(code="03", name="公共服务")
    heating = Category.objects.create(code="0301", name="供暖", parent=top_pub, scope="utility")
    DispatchRule.objects.create(name="油烟属地", category=city.category, target=RuleTarget.PLACE_STREET)
    DispatchRule.objects.create(name="噪声属地", category=noise, target=RuleTarget.PLACE_STREET)
    DispatchRule.objects.create(name="供暖归热力", category=heating, target=RuleTarget.UNIT, unit=city.utility)
    texts = [t for texts in CORPUS.values() for t in texts]
    labels = [label for label, texts in CORPUS.items() for _ in texts]
    row = store_model(train(Corpus(texts, labels, "tests")), name="测试模型", source="tests", metrics={}, activate=True)
    for cache in (rules, gazetteer, active_model):
        cache.invalidate()
    city.noise, city.heating, city.model_row = noise, heating, row
    yield city
    for cache in (rules, gazetteer, active_model):
        cache.invalidate()


@pytest.fixture
def twin_streets(city):
    """The same street name in two districts: a real source of misrouting."""
    fengtai = Place.objects.create(code="fengtai", name="丰台区", level=PlaceLevel.DISTRICT, aliases=["丰台"])
    a = Place.objects.create(code="fengtai-xincun", name="新村街道", level=PlaceLevel.STREET, parent=fengtai)
    b = Place.objects.create(code="chaoyang-xincun", name="新村街道", level=PlaceLevel.STREET, parent=city.chaoyang)
    gazetteer.invalidate()
    yield a, b
    gazetteer.invalidate()
