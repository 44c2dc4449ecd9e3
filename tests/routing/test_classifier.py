import numpy as np
import pytest

from routing.classifier import KeywordClassifier
from tests.routing.conftest import CORPUS


def corpus(labels=None):
    labels = labels or {"0602": "油烟", "0601": "噪声", "0301": "供暖"}
    texts, ys = [], []
    for code, name in labels.items():
        for text in CORPUS[code]:
            texts.append(text)
            ys.append(name)
    return texts, ys


def test_trains_on_an_arbitrary_label_set_and_predicts_it():
    texts, labels = corpus()
    clf = KeywordClassifier().fit(texts, labels)
    assert sorted(clf.labels) == ["供暖", "噪声", "油烟"]
    assert clf.top("我家暖气一点都不热，室温很低")[0].label == "供暖"
    assert clf.top("楼下烧烤店的油烟熏得开不了窗")[0].label == "油烟"


def test_top3_is_ranked_and_calibrated_probabilities_sum_to_one():
    clf = KeywordClassifier().fit(*corpus())
    top = clf.top("半夜KTV音响太吵", 3)
    assert [p.probability for p in top] == sorted((p.probability for p in top), reverse=True)
    assert abs(sum(p.probability for p in top) - 1.0) < 1e-6
    assert top[0].label == "噪声"


def test_explanation_names_the_keywords_that_drove_the_choice():
    clf = KeywordClassifier().fit(*corpus())
    reasons = clf.explain("楼下饭馆油烟太大了", "油烟")
    features = [r.feature for r in reasons]
    assert any("油烟" in f for f in features), features
    assert all(r.weight > 0 for r in reasons)
    assert reasons == sorted(reasons, key=lambda r: r.weight, reverse=True)


def test_fast_single_text_path_equals_sklearn():
    texts, labels = corpus()
    clf = KeywordClassifier().fit(texts, labels)
    probe = [*texts, "完全无关的一句话", ""]
    reference = clf.model.predict_proba(clf._matrix(probe))
    fast = np.array([clf.proba_one(t) for t in probe])
    assert np.abs(reference - fast).max() < 1e-4  # float32 weights; rankings identical
    assert (reference.argmax(1) == fast.argmax(1)).all()


def test_binary_label_set_works_and_explains_both_sides():
    texts, labels = corpus({"0602": "是", "0601": "否"})
    clf = KeywordClassifier().fit(texts, labels)
    assert clf.top("饭馆油烟很大")[0].label == "是"
    assert clf.top("音响噪音太吵")[0].label == "否"
    assert clf.explain("饭馆油烟很大", "是")


def test_artefact_round_trip_keeps_predictions():
    clf = KeywordClassifier().fit(*corpus())
    again = KeywordClassifier.from_bytes(clf.to_bytes())
    text = "暖气片不热需要排气"
    assert again.top(text)[0] == clf.top(text)[0]


@pytest.mark.parametrize("labels", [["a"] * 6, ["a", "a", "a", "b"]])
def test_refuses_data_it_cannot_learn_from(labels):
    with pytest.raises(ValueError):
        KeywordClassifier().fit([f"文本{i}" for i in range(len(labels))], labels)
