"""train_router / evaluate_router / router_model on arbitrary CSV files, including bad ones."""

from __future__ import annotations

import csv
import io
import json
import pickle
import subprocess
import sys
import zlib
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from routing.classifier import C_GRID, FORMAT, KeywordClassifier
from routing.models import ClassifierModel
from routing.training import read_corpus
from tests.routing.conftest import CORPUS


def write_csv(path, rows, header=("text", "label"), encoding="utf-8"):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture
def labelled(tmp_path):
    rows = [
        (t, {"0602": "food", "0601": "noise", "0301": "heat"}[code]) for code, texts in CORPUS.items() for t in texts
    ]
    return write_csv(tmp_path / "data.csv", rows)


def run(*args) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        call_command(*args, stdout=out)
    return out.getvalue()


def test_train_then_evaluate_on_any_label_set(db, tmp_path, labelled):
    model = tmp_path / "m.bin"
    run("train_router", "--data", str(labelled), "--out", str(model))
    assert model.stat().st_size > 0
    out = run("evaluate_router", "--data", str(labelled), "--model", str(model), "--threshold", "0.5")
    result = json.loads(out.strip().splitlines()[-1])
    for key in (
        "n",
        "accuracy",
        "macro_f1",
        "per_class",
        "coverage_at_threshold",
        "accuracy_at_threshold",
        "p50_ms",
        "p99_ms",
    ):
        assert key in result
    assert result["n"] == 24 and set(result["per_class"]) == {"food", "noise", "heat"}
    assert result["accuracy"] > 0.9


def test_custom_columns_and_activation_and_rollback(db, tmp_path):
    rows = [(label, t) for label, texts in (("a", CORPUS["0602"]), ("b", CORPUS["0601"])) for t in texts]
    data = write_csv(tmp_path / "d.csv", rows, header=("类别", "内容"))
    run(
        "train_router",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "1.bin"),
        "--text-column",
        "内容",
        "--label-column",
        "类别",
        "--activate",
        "--name",
        "first",
    )
    run(
        "train_router",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "2.bin"),
        "--text-column",
        "内容",
        "--label-column",
        "类别",
        "--activate",
        "--name",
        "second",
    )
    assert ClassifierModel.objects.get(is_active=True).name == "second"
    run("router_model", "rollback")
    assert ClassifierModel.objects.get(is_active=True).name == "first"
    run("router_model", "activate", "2")
    assert ClassifierModel.objects.get(is_active=True).version == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,category\n饭馆油烟,0602\n", "缺少列：label"),
        ("text,label\n饭馆油烟,0602\n,0601\n", "第3行"),
        ("text,label\n饭馆油烟,0602\n\n噪音,0601\n", "第3行是空行"),
        ("text,label\n饭馆油烟,\n", "第2行"),
        ("", "空文件"),
        ("text,label\n", "没有数据行"),
    ],
)
def test_bad_files_get_a_clear_error_naming_the_row(db, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("train_router", "--data", str(path), "--out", str(tmp_path / "m.bin"))


def test_wrong_encoding_names_the_row(db, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", [("饭馆油烟很大", "a"), ("噪音太吵", "b")], encoding="gbk")
    with pytest.raises(CommandError, match="第2行不是UTF-8"):
        call_command("train_router", "--data", str(path), "--out", str(tmp_path / "m.bin"))


def test_a_class_with_one_example_is_refused_by_name(db, tmp_path):
    path = write_csv(tmp_path / "few.csv", [("饭馆油烟很大", "food"), ("油烟呛人", "food"), ("噪音", "noise")])
    with pytest.raises(CommandError, match="noise"):
        call_command("train_router", "--data", str(path), "--out", str(tmp_path / "m.bin"), "--holdout", "0")


def test_missing_model_file_is_a_clear_error(db, tmp_path, labelled):
    with pytest.raises(CommandError, match="找不到模型文件"):
        call_command("evaluate_router", "--data", str(labelled), "--model", str(tmp_path / "nope.bin"))


def test_a_model_of_an_older_format_is_refused_with_a_clear_error(db, tmp_path, labelled):
    stale = tmp_path / "old.bin"
    stale.write_bytes(zlib.compress(pickle.dumps({"format": FORMAT - 1, "classifier": None})))
    with pytest.raises(CommandError, match=rf"格式 v{FORMAT - 1} .*重新训练"):
        call_command("evaluate_router", "--data", str(labelled), "--model", str(stale))


def test_shipped_corpora_are_readable_and_rebuilt_exactly_from_their_sources(tmp_path):
    """seed/bench_corpus.csv are generated (routing/data/build_corpus.py): edit the sources, not the CSVs."""
    data = Path(__file__).resolve().parents[2] / "routing" / "data"
    for name in ("seed_corpus.csv", "bench_corpus.csv"):
        corpus = read_corpus(data / name, title_column="title")
        assert len(set(corpus.labels)) == 58 and all("\n" in t for t in corpus.texts)
    out = subprocess.run(
        [sys.executable, str(data / "build_corpus.py"), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for name in ("seed_corpus.csv", "bench_corpus.csv"):
        assert (tmp_path / name).read_bytes() == (data / name).read_bytes(), name


def test_a_title_column_is_learned_as_the_lead_line_and_scored_alone(db, tmp_path):
    names = {"0602": "food", "0601": "noise", "0301": "heat"}
    rows = [(t[:6], t[6:], names[code]) for code, texts in CORPUS.items() for t in texts]
    data = write_csv(tmp_path / "titled.csv", rows, header=("title", "text", "label"))
    model = tmp_path / "m.bin"
    out = run("train_router", "--data", str(data), "--out", str(model), "--title-column", "title", "--holdout", "0")
    assert "超参数" in out
    clf = KeywordClassifier.from_bytes(model.read_bytes())
    # Every text had a title line: the inner cross-validation scored the titles alone too.
    assert clf.selection["lead_share"] == 1.0 and clf.selection["inner_lead_macro_f1"] is not None
    # Without the option the same file trains on the texts alone.
    run("train_router", "--data", str(data), "--out", str(model), "--holdout", "0")
    assert KeywordClassifier.from_bytes(model.read_bytes()).selection["lead_share"] == 0
    result = run(
        "evaluate_router", "--data", str(data), "--model", str(model), "--title-column", "title", "--threshold", "0.5"
    )
    assert json.loads(result.strip().splitlines()[-1])["n"] == 24


def test_a_missing_title_column_is_a_clear_error(db, tmp_path, labelled):
    with pytest.raises(CommandError, match="缺少列：title"):
        call_command(
            "train_router", "--data", str(labelled), "--out", str(tmp_path / "m.bin"), "--title-column", "title"
        )
    with pytest.raises(CommandError, match="缺少列：标题"):
        call_command(
            "evaluate_router", "--data", str(labelled), "--model", str(tmp_path / "m.bin"), "--title-column", "标题"
        )


def test_c_is_chosen_by_cross_validation_unless_given(db, tmp_path, labelled):
    model = tmp_path / "m.bin"
    run("train_router", "--data", str(labelled), "--out", str(model), "--holdout", "0")
    chosen = KeywordClassifier.from_bytes(model.read_bytes()).selection
    assert len({c for _, _, c in chosen["grid"]}) == len(C_GRID)
    run("train_router", "--data", str(labelled), "--out", str(model), "--holdout", "0", "--c", "0.7")
    fixed = KeywordClassifier.from_bytes(model.read_bytes()).selection
    assert {c for _, _, c in fixed["grid"]} == {0.7} and fixed["c"] == 0.7


def test_activated_model_records_its_hyper_parameters(db, tmp_path, labelled):
    run("train_router", "--data", str(labelled), "--out", str(tmp_path / "m.bin"), "--activate")
    row = ClassifierModel.objects.get(is_active=True)
    assert {"c", "lead_weight", "nb_mix", "inner_macro_f1"} <= set(row.metrics["selection"])
    assert "macro_f1" in row.metrics
