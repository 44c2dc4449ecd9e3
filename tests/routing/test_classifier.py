import pickle
import zlib

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer

from routing.classifier import C_GRID, FORMAT, LEAD_GRID, MIX_GRID, KeywordClassifier, _char_ngrams
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
    clf = KeywordClassifier(lead_weight=0.5).fit(texts, labels, keep_fitted=True)
    probe = [*texts, "完全无关的一句话", "", "暖气不热\n另外楼下饭馆油烟很大", "电话13812345678 _x000D_ 暖气"]
    # sklearn's own vectorizers and sparse matrices, with the dense weights of the same fit
    blocks = [v.transform(probe) for v in clf.fitted["vectorizers"]]
    margins = sum(np.asarray(b @ w) for b, w in zip(blocks, clf.fitted["coef"], strict=True)) + clf.intercept
    reference = softmax(clf.temperature * margins, axis=1)
    fast = np.array([clf.proba_one(t) for t in probe])  # numpy-only per-ticket path
    assert np.abs(reference - fast).max() < 1e-9
    assert (reference.argmax(1) == fast.argmax(1)).all()
    assert np.abs(clf.predict_proba(probe) - fast).max() < 1e-12


def test_char_ngrams_match_sklearns_char_analyzer():
    sklearn_char = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False).build_analyzer()
    for text in ["暖气 不热", "a  b\tc", "", "x", "油烟"]:
        assert _char_ngrams(text) == sklearn_char(text)


def test_hyper_parameters_are_chosen_on_the_training_data_and_recorded():
    clf = KeywordClassifier().fit(*corpus())
    assert clf.selection["c"] in C_GRID and clf.selection["lead_weight"] in LEAD_GRID
    assert clf.selection["nb_mix"] in MIX_GRID and clf.nb_mix == clf.selection["nb_mix"]
    assert len(clf.selection["grid"]) == len(C_GRID) * len(LEAD_GRID) * len(MIX_GRID)
    assert 0 < clf.selection["inner_macro_f1"] <= 1
    fixed = KeywordClassifier(c=0.7, lead_weight=0.0, nb_mix=0.25).fit(*corpus())
    assert fixed.selection["grid"] == [(0.25, 0.0, 0.7)]
    assert (fixed.selection["nb_mix"], fixed.selection["c"]) == (0.25, 0.7)


def test_training_is_reproducible():
    texts, labels = corpus()
    a = KeywordClassifier().fit(texts, labels)
    b = KeywordClassifier().fit(texts, labels)
    assert a.selection == b.selection
    assert a.to_bytes() == b.to_bytes()


def test_nbsvm_weights_are_the_svm_weights_times_the_log_count_ratios():
    # NBSVM trains on features scaled by r and stores r * w: margins on unscaled features must be
    # exactly those of the SVM on the scaled ones.
    from sklearn.svm import LinearSVC

    texts, labels = corpus()
    clf = KeywordClassifier(c=1.0, lead_weight=0.0)
    blocks = [v.fit_transform(texts) for v in clf._vectorizers()]
    x = clf._stack(blocks, 0.0)
    y = np.searchsorted(sorted(set(labels)), labels)
    coef, intercept = KeywordClassifier._linear(x, y, 3, 1.0, True)
    present = (x > 0).astype(float)
    for label in range(3):
        p = 1 + np.asarray(present[y == label].sum(0)).ravel()
        q = 1 + np.asarray(present[y != label].sum(0)).ravel()
        r = np.log(p / p.sum()) - np.log(q / q.sum())
        scaled = x.multiply(r).tocsr()
        svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(scaled, y == label)
        assert np.allclose(x @ coef[label] + intercept[label], svm.decision_function(scaled), atol=1e-9)
    # ...and they differ from the plain SVM's.
    plain, _ = KeywordClassifier._linear(x, y, 3, 1.0, False)
    assert not np.allclose(plain, coef)


def test_the_nb_mix_is_the_same_mix_of_the_two_models_weights():
    texts, labels = corpus()
    fits = {mix: KeywordClassifier(c=1.0, lead_weight=0.5, nb_mix=mix).fit(texts, labels) for mix in (0.0, 0.25, 1.0)}
    for i in range(3):
        plain, nb, mixed = (fits[mix].blocks[i].dense(3) for mix in (0.0, 1.0, 0.25))
        assert np.abs(mixed - (0.75 * plain + 0.25 * nb)).max() < 1e-5
    assert np.allclose(fits[0.25].intercept, 0.75 * fits[0.0].intercept + 0.25 * fits[1.0].intercept)
    # A mixed model still explains itself: the reasons are its own per-feature contributions.
    text = "楼下饭馆油烟很大，晚上还在烧烤"
    assert fits[0.25].top(text)[0].label == "油烟"
    assert all(r.weight > 0 for r in fits[0.25].explain(text, "油烟"))


def test_titles_alone_are_scored_in_the_inner_cross_validation():
    texts, labels = corpus()
    titled = [f"{t[:6]}\n{t}" for t in texts]
    clf = KeywordClassifier().fit(titled[:12] + texts[12:], labels)
    assert clf.selection["lead_share"] == 0.5
    assert 0 < clf.selection["inner_lead_macro_f1"] <= 1
    untitled = KeywordClassifier().fit(texts, labels)
    assert untitled.selection["lead_share"] == 0 and untitled.selection["inner_lead_macro_f1"] is None


def test_an_artefact_saved_before_the_nb_mix_still_serves():
    # Same FORMAT: the serving arrays did not change, only the training recorded more.
    clf = KeywordClassifier(c=1.0, lead_weight=0.0, nb_mix=0.0).fit(*corpus())
    del clf.__dict__["nb_mix"]
    clf.selection = {"lead_weight": 0.0, "c": 1.0, "inner_macro_f1": 1.0, "grid": [(0.0, 1.0)]}
    again = KeywordClassifier.from_bytes(clf.to_bytes())
    assert again.nb_mix is None
    assert again.top("暖气片不热需要排气")[0].label == "供暖"


def test_a_tiny_training_set_does_not_claim_certainty():
    # Eight texts per class separate perfectly; calibration must still leave room for doubt.
    clf = KeywordClassifier().fit(*corpus())
    vague = clf.top("楼下饭馆晚上还在营业，很吵。", 3)
    assert vague[0].probability < 0.99
    assert abs(sum(p.probability for p in vague) - 1.0) < 1e-6


def test_the_lead_line_counts_and_is_explained():
    texts, labels = corpus()
    with_lead = KeywordClassifier(lead_weight=0.5).fit(texts, labels)
    without = KeywordClassifier(lead_weight=0.0).fit(texts, labels)
    # The title names the heating problem; the body drifts into another category's words.
    text = "暖气不热室温低\n另外楼下烧烤店油烟很大"
    heating = with_lead.labels.index("供暖")
    assert with_lead.proba_one(text)[heating] > without.proba_one(text)[heating]
    assert "标题" in {r.kind for r in with_lead.explain(text, "供暖", 30)}
    assert "标题" not in {r.kind for r in without.explain(text, "供暖", 30)}


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


def test_an_artefact_of_another_format_fails_with_a_clear_message():
    clf = KeywordClassifier().fit(*corpus())
    old = zlib.compress(pickle.dumps({"format": FORMAT - 1, "classifier": clf}))
    with pytest.raises(ValueError, match=rf"格式 v{FORMAT - 1} .*重新训练"):
        KeywordClassifier.from_bytes(old)
    with pytest.raises(ValueError, match=r"无法读取.*重新训练"):
        KeywordClassifier.from_bytes(zlib.compress(b"not a pickle"))
    assert FORMAT == 4


def test_a_format3_artefact_is_refused_with_the_retrain_message():
    # FORMAT 3 pickled the classifier together with its fitted sklearn vectorizers.
    clf = KeywordClassifier().fit(*corpus(), keep_fitted=True)
    legacy = KeywordClassifier.__new__(KeywordClassifier)
    words, chars, leads = clf.fitted["vectorizers"]
    legacy.__dict__.update(words=words, chars=chars, leads=leads, coef=clf.fitted["coef"], labels=clf.labels)
    blob = zlib.compress(pickle.dumps({"format": 3, "classifier": legacy}))
    with pytest.raises(ValueError, match=r"格式 v3 与当前版本 v4 不兼容.*重新训练"):
        KeywordClassifier.from_bytes(blob)


def test_the_saved_model_holds_no_sklearn_object():
    clf = KeywordClassifier().fit(*corpus(), keep_fitted=True)
    raw = zlib.decompress(clf.to_bytes())
    assert b"sklearn" not in raw and b"scipy" not in raw
    assert all(b.vals.dtype == np.float32 for b in KeywordClassifier.from_bytes(clf.to_bytes()).blocks)


@pytest.mark.parametrize("labels", [["a"] * 6, ["a", "a", "a", "b"]])
def test_refuses_data_it_cannot_learn_from(labels):
    with pytest.raises(ValueError):
        KeywordClassifier().fit([f"文本{i}" for i in range(len(labels))], labels)


def test_labels_are_plain_strings_for_json_and_the_database():
    clf = KeywordClassifier().fit(*corpus())
    assert all(type(label) is str for label in clf.labels)
    assert type(clf.top("暖气不热")[0].label) is str
