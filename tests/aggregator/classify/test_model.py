"""The classifier itself: training, calibration, thresholds, explanations, evaluation.

Trained on a small fixture written for the tests, so each training takes well under a
second; the shipped model is trained once per session by `template_database`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from typer.testing import CliRunner

from aggregator import speedups
from aggregator.classify import fast_tfidf
from aggregator.classify.evaluation import EvaluationError, evaluate_file, read_rows
from aggregator.classify.features import (
    Features,
    kind_reasons,
    kind_tokens,
    whole_text_with_kinds,
)
from aggregator.classify.model import (
    EXPLAIN_TERMS,
    Classifier,
    _largest_per_row,
    _told_with_organisations,
    decide,
)
from aggregator.classify.training import _best_fallback, _best_threshold, train
from aggregator.classify.types import SIGNAL_SEED, Document, Example, Params
from aggregator.cli.main import app
from aggregator.errors import ClassifierError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SMALL = FIXTURES / "classifier-small.jsonl"
TEST_ONLY = FIXTURES / "classifier-test-only.jsonl"
TOPICS = ["airports-travel", "payments-finance", "research-standards"]


@pytest.fixture(params=[True, False], ids=["fast-paths", "as-shipped"])
def fast_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Each test that takes it runs with the fast paths on and off (restored after)."""
    monkeypatch.setattr(speedups, "_enabled", request.param)
    return bool(request.param)


@pytest.fixture(scope="module")
def small() -> tuple[Classifier, object]:
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    return train([Example(r.title, r.text, r.labels) for r in rows], TOPICS)


def test_training_reports_signals_cv_scores_and_a_threshold_per_topic(small) -> None:  # type: ignore[no-untyped-def]
    classifier, report = small
    assert report.counts == {SIGNAL_SEED: 24}
    assert set(report.thresholds) == set(TOPICS) == set(report.per_topic_f1)
    assert all(0 < t < 1 for t in report.thresholds.values())
    assert 0.5 < report.micro_f1 <= 1 and 0 <= report.macro_f1 <= 1
    assert classifier.thresholds == report.thresholds


def test_scores_are_probabilities_and_tags_follow_thresholds(small) -> None:  # type: ignore[no-untyped-def]
    classifier, _ = small
    documents = [
        Document("Airport opens face boarding gates", "Passengers board with a selfie."),
        Document("Bank adds palm payment at tills", "Customers pay with a hand scan."),
        Document("Council approves library hours", "Opening hours change next month."),
    ]
    scores = classifier.scores(documents)
    assert scores.shape == (3, len(TOPICS))
    assert ((scores >= 0) & (scores <= 1)).all()
    tags = classifier.predict(documents)
    assert [t.slug for t in tags[0]][:1] == ["airports-travel"]
    assert [t.slug for t in tags[1]][:1] == ["payments-finance"]
    labels = classifier.predict_labels(documents)
    for row, document_tags in enumerate(tags):
        assert {t.slug for t in document_tags} == {
            t for j, t in enumerate(TOPICS) if labels[row, j]
        }
        for tag in document_tags:  # a tagged topic scores at least about its threshold
            assert tag.score >= classifier.thresholds[tag.slug] * 0.999


def test_decisions_survive_thresholds_with_vanishing_probabilities(small) -> None:  # type: ignore[no-untyped-def]
    # A rare topic's threshold can be a probability like 1e-9; the decision must still be
    # the margin cut, not a rounded probability that lets every article through.
    classifier, _ = small
    documents = [Document("Council approves library hours", "Opening hours change.")] * 2
    before = classifier.predict_labels(documents)
    steep = Classifier.from_bytes(classifier.to_bytes())
    steep.calibration = np.vstack([steep.calibration[0], steep.calibration[1] - 40.0])
    assert max(steep.thresholds.values()) < 1e-9
    assert np.array_equal(steep.predict_labels(documents), before)
    assert [[t.slug for t in tags] for tags in steep.predict(documents)] == [
        [t for j, t in enumerate(TOPICS) if before[row, j]] for row in range(2)
    ]


def test_each_tag_explains_itself_with_words_of_the_article(small) -> None:  # type: ignore[no-untyped-def]
    classifier, _ = small
    document = Document("Airline extends face boarding to more gates", "Passengers board faster.")
    [tags] = classifier.predict([document])
    airport = next(t for t in tags if t.slug == "airports-travel")
    assert airport.why, "a tag must carry the terms that drove it"
    words = set((document.title + " " + document.text).lower().replace(".", "").split())
    for term in airport.why:
        assert set(term.split()) <= words
    assert classifier.predict([document], explain=False)[0][0].why == ()


def test_explanations_are_each_tags_largest_contributions(small) -> None:  # type: ignore[no-untyped-def]
    """All tags of a batch are explained at once; each must hold what ranking that one
    tag's contributions on their own gives."""
    classifier, _ = small
    documents = [
        Document("Airline extends face boarding to more gates", "Passengers board faster."),
        Document("Regulator fines bank over face data", "The privacy regulator fined a bank."),
        Document("Council approves library hours", "Opening hours change."),
        Document("Border agency tests face e-gates at the airport", "Gates gates gates."),
    ]
    matrix = classifier.features.transform(documents)
    names = classifier.features.names()
    explained = 0
    for row, tags in enumerate(classifier.predict(documents)):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        for tag in tags:
            weights = classifier.weights[:, classifier.topics.index(tag.slug)]
            contribution: dict[str, float] = {}
            stored = zip(matrix.indices[start:end], matrix.data[start:end], strict=True)
            for column, value in stored:
                term = names[column]
                contribution[term] = max(contribution.get(term, 0.0), value * weights[column])
            ranked = sorted((c for c in contribution.items() if c[1] > 0), key=lambda c: -c[1])
            assert [round(contribution[term], 9) for term in tag.why] == [
                round(value, 9) for _, value in ranked[: len(tag.why)]
            ]
            assert len(tag.why) == min(EXPLAIN_TERMS, len(ranked))
            explained += 1
    assert explained >= 3


def test_equal_contributions_rank_leftmost_first_in_any_batch() -> None:
    labels = np.array([[10, 11, 12, 13, 14, 15], [20, 21, 22, 23, 24, 25]])
    values = np.array([[0.5, 2.0, 0.5, 0.5, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    picked, ranked = _largest_per_row(labels, values, 3)
    assert picked.tolist() == [[14, 11, 10], [20, 21, 22]]
    assert ranked.tolist() == [[3.0, 2.0, 0.5], [1.0, 1.0, 1.0]]


def test_an_articles_explanations_do_not_depend_on_its_batch(small) -> None:  # type: ignore[no-untyped-def]
    classifier, _ = small
    article = Document("Border agency tests face e-gates at the airport", "Gates at the border.")
    longer = Document(
        "Regulator fines bank over face data",
        " ".join(["The privacy regulator fined a bank over its face data."] * 30),
    )
    alone = classifier.predict([article])[0]
    assert alone
    assert classifier.predict([longer, article, longer])[1] == alone


def test_a_saved_model_predicts_the_same(small, fast_paths: bool) -> None:  # type: ignore[no-untyped-def]
    classifier, _ = small
    documents = [
        Document("Lab publishes matcher accuracy results", "Error rates fell."),
        *(r.document for r in read_rows(SMALL)),
    ]
    loaded = Classifier.from_bytes(classifier.to_bytes())
    assert np.array_equal(loaded.scores(documents), classifier.scores(documents))
    assert loaded.predict(documents) == classifier.predict(documents)
    assert any(tags for tags in loaded.predict(documents))


def test_features_join_headline_body_and_whole_text_blocks(small, fast_paths: bool) -> None:  # type: ignore[no-untyped-def]
    classifier, report = small
    features = classifier.features
    documents = [
        Document("Airport opens face boarding gates", "Passengers board with a selfie."),
        Document("", "Bank adds palm payment; unseen zyxwv words."),
        Document("Face boarding", ""),
    ]
    matrix = features.transform(documents)
    names = features.names()
    assert report.params["whole_text"] is True
    assert matrix.shape[1] == len(names) == classifier.weights.shape[0]
    # Tokenised once for all three blocks, the same matrix as each block on its own text;
    # the last block is the headline and body as one text, normalised on its own.
    whole = features.whole.transform([f"{d.title}\n{d.text}" for d in documents])
    separately = sparse.hstack(
        [
            features.title.transform([d.title for d in documents]),
            features.body.transform([d.text for d in documents]),
            whole,
        ]
    )
    assert np.allclose(matrix.toarray(), separately.toarray(), rtol=0, atol=1e-12)
    assert names[-whole.shape[1] :] == list(features.whole.get_feature_names_out())


def test_a_model_without_the_whole_text_block_predicts_the_same_when_saved(
    fast_paths: bool,
) -> None:
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    examples = [Example(r.title, r.text, r.labels) for r in rows]
    classifier, report = train(examples, TOPICS, Params(whole_text=False))
    assert report.params["whole_text"] is False and classifier.features.whole is None
    documents = [Document("Bank adds palm payment at tills", "Customers pay with a hand scan.")]
    expected = classifier.predict(documents)
    loaded = Classifier.from_bytes(classifier.to_bytes())
    assert loaded.features.whole is None
    assert loaded.features.transform(documents).shape[1] == len(loaded.features.names())
    assert loaded.predict(documents) == expected


NAMING_ORGANISATIONS = [
    Document("CBP expands face checks", "Frontex and eu-LISA watched; iBeta tested."),
    Document("Border agency CBP adds gates", "Travellers at the ABF posts."),
]
FEATURE_CASES = [(True, True), (True, False), (False, False)]


@pytest.mark.parametrize(
    ("whole_text", "organisation_kinds"),
    FEATURE_CASES,
    ids=["three-blocks-with-kinds", "three-blocks", "two-blocks"],
)
def test_the_features_matrix_is_scikit_learns(
    fast_paths: bool, whole_text: bool, organisation_kinds: bool
) -> None:
    """Fitted and applied as shipped, scikit-learn's own vectorizers give the matrix that
    `Features.transform` must give, on the fast path as on scikit-learn's."""
    rows = read_rows(SMALL)
    fitted = [*(r.document for r in rows[:24]), *NAMING_ORGANISATIONS]
    unseen = [
        *(r.document for r in rows[24:]),
        Document("", ""),
        Document("Face face FACE boarding, boarding gates!", "Gates: face-boarding\nat 3 gates."),
        Document("CBP", ""),
        Document("", "Frontex, CBP and the ICO; cbp and frontex."),
        Document("Testing lab", "CBP"),
    ]
    params = Params(whole_text=whole_text, organisation_kinds=organisation_kinds)
    features = Features.for_training(params)
    features.fit_transform(fitted)
    references = [TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
                  for _ in range(3 if whole_text else 2)]  # fmt: skip

    def texts(document: Document) -> list[str]:
        whole = f"{document.title}\n{document.text}"
        if organisation_kinds:
            whole = whole_text_with_kinds(document)  # its text is tested on its own below
        return [document.title, document.text, whole]

    for index, reference in enumerate(references):
        reference.fit([texts(d)[index] for d in fitted])
    for batch in (fitted, unseen):
        mine = features.transform(batch)
        expected = sparse.hstack(
            [r.transform([texts(d)[i] for d in batch]) for i, r in enumerate(references)],
            format="csr",
        )
        assert np.array_equal(mine.indptr, expected.indptr)
        assert np.array_equal(mine.indices, expected.indices)
        assert np.allclose(mine.data, expected.data, rtol=0, atol=1e-12)
    kind_columns = [n for n in features.names() if "orgkind_" in n]
    assert bool(kind_columns) == organisation_kinds


def test_an_article_naming_cbp_has_the_border_agency_token_and_cbp_in_lower_case_none() -> None:
    assert kind_tokens(Document("CBP adds gates", "")) == ["orgkind_border_agency"]
    assert kind_tokens(Document("cbp adds gates", "")) == []
    assert kind_tokens(Document("", "Frontex and CBP, then iBeta and Frontex")) == [
        "orgkind_eu_agency",
        "orgkind_border_agency",
        "orgkind_testing_lab",
        "orgkind_eu_agency",
    ]
    assert whole_text_with_kinds(Document("CBP adds gates", "At ports.")) == (
        "CBP adds gates\nAt ports.\norgkind_border_agency"
    )
    assert whole_text_with_kinds(Document("cbp adds gates", "")) == "cbp adds gates\n"


def test_an_explanation_names_the_organisations_of_a_kind_by_the_forms_the_article_uses() -> None:
    reasons = kind_reasons(
        Document("CBP and Border Force trial e-gates", "U.S. Customs and Border Protection, "
                 "the border agency, and the data protection authority agreed with Frontex.")
    )  # fmt: skip
    assert reasons == {
        "orgkind_border_agency": "CBP, Border Force (border agency)",
        "orgkind_eu_agency": "Frontex (EU agency)",
    }


@pytest.mark.parametrize(
    ("term", "told"),
    [
        ("orgkind_border_agency", "CBP (border agency)"),
        ("said orgkind_border_agency", "CBP (border agency)"),
        ("orgkind_border_agency orgkind_border_agency", "CBP (border agency)"),
        ("orgkind_border_agency orgkind_eu_agency", "CBP (border agency); Frontex (EU agency)"),
        ("border", "border"),
    ],
)
def test_a_term_with_kind_tokens_is_told_as_the_organisations(term: str, told: str) -> None:
    reasons = {
        "orgkind_border_agency": "CBP (border agency)",
        "orgkind_eu_agency": "Frontex (EU agency)",
    }
    assert _told_with_organisations(term, reasons) == told


def test_the_kind_tokens_enter_the_whole_text_block_only(fast_paths: bool) -> None:
    features = Features.for_training(Params(organisation_kinds=True))
    features.fit_transform([*NAMING_ORGANISATIONS, Document("Bank pays", "By palm.")] * 2)
    names = features.names()
    column = names.index("orgkind_border_agency")
    assert column >= len(features.title.vocabulary_) + len(features.body.vocabulary_)
    matrix = features.transform([Document("CBP said", ""), Document("cbp said", "")])
    assert matrix[0, column] > 0 and matrix[1, column] == 0


BORDER_AGENCIES = ["ABF", "CBSA", "Bundespolizei", "Straż Graniczna", "Border Patrol",
                   "Canada Border Services Agency", "Polish Border Guard",
                   "UK Border Force"]  # fmt: skip
PAYMENT_FIRMS = ["Mastercard", "Adyen", "Klarna", "PayPal", "UnionPay", "Alipay", "Amex", "NPCI"]
FILLERS = ["announced a change on Tuesday", "said it would act soon", "published a notice today",
           "confirmed the plan this week", "set out the next steps", "gave an update on Monday",
           "shared the details", "told reporters about it"]  # fmt: skip


def test_a_deciding_kind_is_explained_by_the_organisation_the_article_names(
    fast_paths: bool,
) -> None:
    """The two topics share every word but their organisations' names and kinds; an article
    naming CBP, which no training article names, is tagged for its kind, and told as "CBP
    (border agency)", never as the token."""
    examples = [
        Example(f"{name} {filler}", f"The news {filler}.", (topic,))
        for topic, names in (("borders", BORDER_AGENCIES), ("payments", PAYMENT_FIRMS))
        for name in names
        for filler in FILLERS
    ]
    classifier, report = train(examples, ["borders", "payments"], Params(organisation_kinds=True))
    assert "+orgkinds" in report.params["model"]
    (tags,) = classifier.predict([Document("CBP said it would act soon", "")])
    assert [tag.slug for tag in tags] == ["borders"]
    assert tags[0].why[0] == "CBP (border agency)"
    assert not any("orgkind" in reason for reason in tags[0].why)
    (lower,) = classifier.predict([Document("cbp said it would act soon", "")])
    assert not any("CBP" in reason for tag in lower for reason in tag.why)


@pytest.mark.parametrize(
    ("margins", "truth", "floor", "expected"),
    [
        ([2.0, 1.0, -1.0, -2.0], [1, 1, 0, 0], -0.6, 0.0),  # halfway between the two groups
        ([2.0, 1.0, 0.6, -0.4], [1, 0, 1, 0], -0.6, 0.1),  # best F1 takes both positives
        ([0.5, -0.2, -0.4, -3.0], [0, 0, 0, 1], -0.6, -0.6),  # a lone rare positive: the floor
        ([0.5, -0.2, -0.4, -3.0], [0, 0, 0, 0], -0.6, 1.5),  # no positive: above every score
    ],
    ids=["separable", "mixed", "rare-topic-floor", "no-positive"],
)
def test_threshold_maximises_out_of_fold_f1_above_a_floor(
    margins: list[float], truth: list[int], floor: float, expected: float
) -> None:
    got = _best_threshold(np.array(margins), np.array(truth), floor)
    assert got == pytest.approx(expected)


# Out-of-fold margins of four articles on two topics, both cuts at 0: the first article is
# tagged, the other three pass no cut and are near misses of their nearest topic.
NEAR_MISSES = [[1.0, -2.0], [-0.2, -1.5], [-1.4, -0.3], [-2.0, -1.8]]


@pytest.mark.parametrize(
    ("truth", "expected"),
    [
        # Every article has a topic and the nearest misses are right: the rule turns on, with
        # a cut halfway between the last near miss it takes and the first (wrong) one it leaves.
        ([[1, 0], [1, 0], [0, 1], [1, 0]], pytest.approx(-1.05)),
        # The near misses rightly have no topic (hard negatives): taking one only adds a
        # false positive, so the rule stays off.
        ([[1, 0], [0, 0], [0, 0], [0, 0]], None),
        # A lone right near miss among wrong ones still pays: it is taken, the rest are not.
        ([[1, 0], [1, 0], [0, 0], [0, 0]], pytest.approx(-0.25)),
    ],
    ids=["every-article-labelled", "hard-negatives", "only-the-nearest"],
)
def test_at_least_one_topic_rule_is_decided_by_out_of_fold_f1(
    truth: list[list[int]], expected: object
) -> None:
    cuts = np.zeros(2)
    assert _best_fallback(np.array(NEAR_MISSES), np.array(truth), cuts) == expected


def test_the_fallback_tags_only_untagged_articles_within_its_cut() -> None:
    margins, cuts = np.array(NEAR_MISSES), np.array([0.0, 0.5])
    assert decide(margins, cuts, None).tolist() == [
        [True, False], [False, False], [False, False], [False, False]
    ]  # fmt: skip
    # Article 2 is 0.2 below topic 0's cut, article 3 0.8 below topic 1's, article 4 too far.
    assert decide(margins, cuts, -1.0).tolist() == [
        [True, False], [True, False], [False, True], [False, False]
    ]  # fmt: skip


def test_a_trained_model_records_its_fallback_decision(small) -> None:  # type: ignore[no-untyped-def]
    # The fixture's near misses are wrong often enough that cross-validation leaves the rule
    # off; the decision travels with the saved model.
    classifier, report = small
    assert report.params["fallback"] is None and classifier.fallback is None
    loaded = Classifier.from_bytes(classifier.to_bytes())
    assert loaded.fallback is None


def test_the_fallback_gives_an_untagged_article_one_topic_on_both_paths(small) -> None:  # type: ignore[no-untyped-def]
    classifier, _ = small
    strict = Classifier.from_bytes(classifier.to_bytes())
    strict.cuts = classifier.cuts + 100.0  # no article passes any cut
    documents = [
        Document("Airport opens face boarding gates", "Passengers board with a selfie."),
        Document("Bank adds palm payment at tills", "Customers pay with a hand scan."),
    ]
    assert strict.predict_labels(documents).sum() == 0 and strict.predict(documents) == [[], []]
    strict.fallback = -1000.0  # any near miss at all
    labels = strict.predict_labels(documents)
    assert labels.sum(axis=1).tolist() == [1, 1]
    assert [TOPICS[j] for j in labels.argmax(axis=1)] == ["airports-travel", "payments-finance"]
    tags = strict.predict(documents)
    assert [[t.slug for t in row] for row in tags] == [["airports-travel"], ["payments-finance"]]
    assert all(row[0].why for row in tags)  # a fallback tag explains itself too


def test_training_refuses_a_topic_without_examples() -> None:
    examples = [Example("a", "b", ("x",)), Example("c", "d", ("x",))]
    with pytest.raises(ClassifierError, match="no training examples for topics: y"):
        train(examples, ["x", "y"], Params(folds=2))


def test_evaluate_trains_on_train_rows_and_scores_test_rows() -> None:
    evaluation = evaluate_file(SMALL, active=_no_active_model)
    assert evaluation.n_train == 24 and evaluation.n_test == 6
    assert set(evaluation.per_label) == set(TOPICS)
    assert evaluation.per_label["payments-finance"].support == 3
    assert evaluation.train_seconds is not None and evaluation.train_seconds > 0
    assert evaluation.micro_f1 >= 0.5


def test_evaluate_json_from_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(SMALL), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"micro_f1", "macro_f1", "per_label", "n_test", "train_seconds",
            "predict_docs_per_second"} <= set(payload)  # fmt: skip
    assert payload["n_test"] == 6
    assert set(payload["per_label"]["airports-travel"]) == {"precision", "recall", "f1", "support"}
    assert payload["per_label"]["airports-travel"]["support"] == 2
    assert 0 <= payload["micro_f1"] <= 1 and payload["predict_docs_per_second"] > 0


def test_evaluate_test_rows_only_scores_the_active_model_and_lists_unknown_labels(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["evaluate", str(TEST_ONLY), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ignored_labels"] == ["weather"]
    assert "weather" not in payload["per_label"]
    assert len(payload["per_label"]) == 13  # the taxonomy's topics
    assert payload["train_seconds"] is None and payload["n_test"] == 5
    # The shipped model knows these topics well enough to tag the obvious rows.
    assert payload["micro_f1"] >= 0.6


def test_evaluate_rejects_bad_rows(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": "not-a-list", "split": "test"}\n')
    with pytest.raises(EvaluationError, match="bad.jsonl:1"):
        evaluate_file(bad, active=_no_active_model)
    train_only = tmp_path / "train.jsonl"
    train_only.write_text('{"text": "x", "labels": ["a"], "split": "train"}\n')
    with pytest.raises(EvaluationError, match="no test rows"):
        evaluate_file(train_only, active=_no_active_model)


def test_rows_without_a_title_take_the_first_line_as_headline(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text(json.dumps({"text": "HEADLINE HERE\nBody text.", "labels": []}) + "\n")
    [row] = read_rows(path)
    assert (row.title, row.text, row.split) == ("HEADLINE HERE", "Body text.", "test")


def _no_active_model() -> Classifier:
    raise AssertionError("a file with train rows must not use the active model")


def test_evaluate_without_a_database_scores_the_shipped_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(TEST_ONLY), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ignored_labels"] == ["weather"]
    assert "shipped model" in result.stderr
    assert not (tmp_path / "biowire.db").exists()  # no empty database file left behind


@pytest.mark.parametrize(
    "text",
    [
        "face-matching e-gates at 3 airports",
        "a1 _x __ ab-cd e\u0301f \u65e5\u672c\u8a9e x_y \u00b2\u00b3 k8s a",
        "  punctuation!!one,two;three...four  ",
        "",
    ],
)
def test_the_tokenizer_finds_what_scikit_learns_default_finds(text: str) -> None:
    vectorizer = TfidfVectorizer()
    assert fast_tfidf.tokenizer(vectorizer)(text) == vectorizer.build_tokenizer()(text)
