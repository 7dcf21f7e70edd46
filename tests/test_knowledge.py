"""Tests for the knowledge base: accuracy on labelled questions, data, contribution parsing."""

from __future__ import annotations

import datetime as dt
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.contributions import load_table
from bot.i18n import translator
from bot.knowledge import LOCALES_DIR, KnowledgeBase, answer_any, parse_contribution_question
from bot.learned import TRAINING_FILE, Classifier, features, training_questions
from handlers.questions import topic_text

DATA = Path(__file__).parent / "data"
FIGURES = Path(__file__).resolve().parents[1] / "bot" / "data" / "figures.toml"
MAX_MESSAGE = 600
MAX_TITLE = 30
MIN_ACCURACY = 0.95
MIN_DIALECT_ACCURACY = 0.92
# Fresh Labuhanbatu-style questions written before the matcher was studied (see the file).
MIN_HOLDOUT_ACCURACY = 0.90
# A second fresh set the matcher was improved on, and a final set written at the same time but
# measured only before and after that work (83.7% before, 86.7% after).
MIN_TUNING2_ACCURACY = 0.92
# The id, dialect, holdout and tuning2 questions are also the learned classifier's training data
# (bot/data/questions_train.toml), so their figures above are training accuracy (now 98-100%);
# what unseen questions get is measured by the cross-validation and the two final sets below.
# Final sets, measured once before and once after the classifier was added: final 86.7% -> 90.4%,
# final2 (171 questions written before that work) 89.5% -> 93.6%.
MIN_FINAL_ACCURACY = 0.88
MIN_FINAL2_ACCURACY = 0.91
# Fresh sets written later in the same way, never put into the training questions. final3 was
# measured before the matcher was changed on the misses of final, final2 and final3 as classes of
# failure (local words, question words, negation, confusable answers): 87.0% before, 94.1% after.
# final4 was written after that work and measured untuned: 90.8%; final5 was written after the
# changes the final4 misses prompted and measured untuned: 89.7%. After two more general fixes,
# final4 is 93.9% and final5 91.2%. The untuned figures are the honest ones. For comparison, the
# matcher before any of this work gets 90.1% on final4 and 89.7% on final5.
MIN_FINAL3_ACCURACY = 0.92
MIN_FINAL4_ACCURACY = 0.92
MIN_FINAL5_ACCURACY = 0.89
# Second round. final6 was written first and measured on the code as it was: 86.8%; after the
# broader training questions, the softmax regression and the answers carrying their neighbour's
# key point it is 90.8% (it was not tuned on, but its misses had been seen). final7 was written
# after all of that and measured once, untouched: 94.3%. final3/4/5 are now 96.8/96.2/95.6%.
MIN_FINAL6_ACCURACY = 0.89
MIN_FINAL7_ACCURACY = 0.92
# 5-fold cross-validation over the training questions (each fold answered by a knowledge base
# trained without it). It was 97.1% over the first 842 questions, on which the rules were tuned;
# 529 questions written later from scratch for every topic (more ways and reasons of asking, and
# harder; rows close to a final set's question left out) brought it to 89.9% of 1,371 with the
# nearest-centroid classifier, and the softmax regression that replaced it to 92.2% (on the new
# rows alone: 77.7% and 82.4%). The final sets are the honest figure. Two topics added later
# (how long a claim takes, registering someone else) with 70 training questions, and 15 earlier
# questions relabelled to them (in the test sets too): 91.2% of 1,441; final6 89.5% (one of its
# relabelled questions is missed), final7 94.3%. With 12 more (ordinary sickness, getting the
# card): 91.2% of 1,453.
MIN_CROSS_VALIDATED_ACCURACY = 0.91
CROSS_VALIDATION_FOLDS = 5
FALLBACK = "fallback"
# Days on which every answer is checked: before, during and after the PP 50/2025 windows.
DAYS = (
    dt.date(2025, 12, 1),
    dt.date(2026, 2, 1),
    dt.date(2026, 6, 1),
    dt.date(2027, 2, 1),
    dt.date(2027, 6, 1),
)


def _questions(name: str) -> list[tuple[str, str]]:
    raw = tomllib.loads((DATA / f"questions_{name}.toml").read_text("utf-8"))
    return [(str(text), str(expected)) for text, expected in raw["questions"]]


def _accuracy(name: str, language: str | None = None) -> tuple[float, list[str]]:
    """Top-1 accuracy of a question set for a user of `language` (default: the set's own)."""
    kb = KnowledgeBase.load(language or name)
    others = [KnowledgeBase.load(other) for other in ("id", "en")]
    misses: list[str] = []
    questions = _questions(name)
    for text, expected in questions:
        match = answer_any(kb, others, text)
        got = match.topic.id if match else FALLBACK
        if got != expected:
            misses.append(f"{text!r}: expected {expected}, got {got}")
    return 1 - len(misses) / len(questions), misses


def test_question_set_is_large_and_labelled_with_known_topics() -> None:
    questions = _questions("id")
    kb = KnowledgeBase.load("id")
    ids = {t.id for t in kb.topics} | {FALLBACK}
    assert len(questions) >= 200
    assert sum(1 for _, e in questions if e == FALLBACK) >= 20
    assert {e for _, e in questions} <= ids
    assert len({t for t, _ in questions}) == len(questions), "duplicate questions"
    assert {e for _, e in questions} >= {t.id for t in kb.topics}, "a topic has no test question"


def test_examples_do_not_leak_into_the_question_set() -> None:
    kb = KnowledgeBase.load("id")
    examples = {e.lower() for t in kb.topics for e in t.examples}
    leaked = [t for t, _ in _questions("id") if t.lower() in examples]
    assert not leaked, leaked


@pytest.mark.parametrize(
    ("name", "language", "least"),
    [
        ("id", "id", MIN_ACCURACY),
        ("en", "en", MIN_ACCURACY),
        ("dialect", "id", MIN_DIALECT_ACCURACY),
        ("holdout", "id", MIN_HOLDOUT_ACCURACY),
        ("tuning2", "id", MIN_TUNING2_ACCURACY),
        ("final", "id", MIN_FINAL_ACCURACY),
        ("final2", "id", MIN_FINAL2_ACCURACY),
        ("final3", "id", MIN_FINAL3_ACCURACY),
        ("final4", "id", MIN_FINAL4_ACCURACY),
        ("final5", "id", MIN_FINAL5_ACCURACY),
        ("final6", "id", MIN_FINAL6_ACCURACY),
        ("final7", "id", MIN_FINAL7_ACCURACY),
        # English typed to a user whose language is Indonesian.
        ("en", "id", MIN_ACCURACY),
    ],
)
def test_top1_accuracy(
    name: str, language: str, least: float, capsys: pytest.CaptureFixture[str]
) -> None:
    accuracy, misses = _accuracy(name, language)
    with capsys.disabled():
        # The accuracy is the point of this test: report it even when it passes.
        print(  # noqa: T201
            f"\n[{name} as {language}] top-1 accuracy {accuracy:.1%} ({len(misses)} misses)"
        )
        for miss in misses:
            print("  miss:", miss)  # noqa: T201
    assert accuracy >= least


def test_dialect_set_is_large_fresh_and_labelled() -> None:
    questions = _questions("dialect")
    ids = {t.id for t in KnowledgeBase.load("id").topics} | {FALLBACK}
    assert len(questions) >= 150
    assert {e for _, e in questions} <= ids
    assert len({t for t, _ in questions}) == len(questions), "duplicate questions"
    assert sum(1 for _, e in questions if e == FALLBACK) >= 10
    existing = {t.lower() for t, _ in _questions("id")}
    examples = {e.lower() for t in KnowledgeBase.load("id").topics for e in t.examples}
    assert not [t for t, _ in questions if t.lower() in existing | examples]


def test_holdout_set_is_large_fresh_and_labelled() -> None:
    questions = _questions("holdout")
    ids = {t.id for t in KnowledgeBase.load("id").topics} | {FALLBACK}
    assert len(questions) >= 120
    assert {e for _, e in questions} <= ids
    assert {e for _, e in questions} == ids, "every topic and the fallback are asked"
    assert len({t for t, _ in questions}) == len(questions), "duplicate questions"
    assert sum(1 for _, e in questions if e == FALLBACK) >= 0.06 * len(questions)
    others = {t.lower() for name in ("id", "dialect", "en") for t, _ in _questions(name)}
    examples = {e.lower() for t in KnowledgeBase.load("id").topics for e in t.examples}
    assert not [t for t, _ in questions if t.lower() in others | examples]


FRESH_SETS = ["tuning2", "final", "final2", "final3", "final4", "final5", "final6", "final7"]


@pytest.mark.parametrize("name", FRESH_SETS)
def test_later_fresh_sets_are_large_fresh_and_labelled(name: str) -> None:
    questions = _questions(name)
    kb = KnowledgeBase.load("id")
    ids = {t.id for t in kb.topics} | {FALLBACK}
    assert len(questions) >= 120
    assert {e for _, e in questions} <= ids
    assert len({t for t, _ in questions}) == len(questions), "duplicate questions"
    assert sum(1 for _, e in questions if e == FALLBACK) >= 0.07 * len(questions)
    sets = {"id", "dialect", "en", "holdout", *FRESH_SETS} - {name}
    others = {t.lower() for other in sets for t, _ in _questions(other)}
    examples = {e.lower() for t in kb.topics for e in t.examples}
    assert not [t for t, _ in questions if t.lower() in others | examples]


def test_final3_is_large_and_asks_every_topic() -> None:
    questions = _questions("final3")
    ids = {t.id for t in KnowledgeBase.load("id").topics} | {FALLBACK}
    assert len(questions) >= 150
    assert {e for _, e in questions} == ids
    assert 0.07 <= sum(1 for _, e in questions if e == FALLBACK) / len(questions) <= 0.15


@pytest.mark.parametrize(
    ("word", "same_as"),
    [
        # Sastrawi stems "pendapatan" (income) to "dapat" (get).
        ("pendapatan", "penghasilan"),
        # Fuzzy correction would turn "dmana" into "dana" (fund).
        ("dmana", "di mana"),
        ("dicover", "ditanggung"),
        ("berpulang", "meninggal"),
        ("nunggu", "menunggu"),
    ],
)
def test_chat_words_mean_what_they_mean(word: str, same_as: str) -> None:
    kb = KnowledgeBase.load("id")
    assert kb.normalize(word) == kb.normalize(same_as)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "berat gak bayar" asks whether paying is heavy, not about not paying.
        ("berat gak bayar iuran tiap bulan", "iuran"),
        ("pendapatan dilapor yg mana", "penghasilan"),
    ],
)
def test_negation_and_income_words_steer_to_the_right_answer(text: str, expected: str) -> None:
    match = KnowledgeBase.load("id").answer(text)
    assert match is not None
    assert match.topic.id == expected


@pytest.mark.parametrize(
    "text",
    ["bayar iuran bpjs kesehatan lewat indomaret bisa", "daftar jkn buat anak gmn"],
)
def test_bpjs_kesehatan_questions_get_the_fallback(text: str) -> None:
    assert KnowledgeBase.load("id").answer(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "jatuh dari pohon sawit dibawa ke puskesmas biayanya ditanggung?",
        "kena parang pas kerja berobat ke faskes gratis?",
    ],
)
def test_treatment_of_a_work_accident_at_a_puskesmas_is_a_jkk_question(text: str) -> None:
    match = KnowledgeBase.load("id").answer(text)
    assert match is not None
    assert match.topic.id == "manfaat_jkk"


@pytest.mark.parametrize(
    ("topic_id", "neighbour", "point"),
    [
        ("bantuan_pemda", "syarat_pemda", "DTSEN"),
        ("syarat_pemda", "bantuan_pemda", "APBD"),
        ("tunggakan_perlindungan", "telat_bayar", "iuran pertama"),
        ("cek_status", "setelah_daftar", "petugas kabupaten"),
        ("setelah_daftar", "cek_status", "BPJS 175"),
        ("manfaat_jkk", "klaim_jkk", "2×24 jam"),
        ("manfaat_jkm", "jkk_meninggal", "48 kali"),
        ("manfaat_jht", "klaim_jht", "mencairkan"),
        ("manfaat_jht", "cek_status", "JMO"),
        ("siapa_boleh", "usia", "65 tahun"),
        ("periode_bayar", "telat_bayar", "Tunggakan"),
        ("cara_bayar", "periode_bayar", "3, 6, atau 12 bulan"),
        ("cara_daftar", "syarat_daftar", "NIK"),
        ("klaim_beasiswa", "beasiswa", "2 anak"),
    ],
)
def test_confusable_answers_carry_the_neighbours_key_point(
    topic_id: str, neighbour: str, point: str
) -> None:
    topic = KnowledgeBase.load("id").topic(topic_id)
    assert point in topic.answer
    assert neighbour in topic.related


@pytest.mark.parametrize(
    "name", ["final", "final2", "final3", "final4", "final5", "final6", "final7"]
)
def test_final_sets_are_not_training_data(name: str) -> None:
    trained = {t.lower() for t, _ in training_questions()}
    assert not [t for t, _ in _questions(name) if t.lower() in trained]


def test_training_file_is_shipped_with_the_package_and_holds_the_tuned_sets() -> None:
    assert TRAINING_FILE.parent == Path(__file__).resolve().parents[1] / "bot" / "data"
    trained = {t.lower(): label for t, label in training_questions()}
    for name in ("id", "dialect", "holdout", "tuning2"):
        missing = [t for t, e in _questions(name) if trained.get(t.lower()) != e]
        assert not missing, f"copy these {name} questions into {TRAINING_FILE.name}: {missing}"
    ids = {t.id for t in KnowledgeBase.load("id").topics} | {FALLBACK}
    assert FALLBACK in trained.values()
    assert set(trained.values()) <= ids


def test_cross_validated_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    """Each fold of the training questions is answered by a knowledge base trained without it."""
    raw = tomllib.loads((LOCALES_DIR / "id" / "knowledge.toml").read_text("utf-8"))
    questions = training_questions()
    folds = CROSS_VALIDATION_FOLDS
    right = 0
    for fold in range(folds):
        train = [q for i, q in enumerate(questions) if i % folds != fold]
        kb = KnowledgeBase("id", raw, train)
        for text, expected in questions[fold::folds]:
            match = kb.answer(text)
            right += (match.topic.id if match else FALLBACK) == expected
    accuracy = right / len(questions)
    with capsys.disabled():
        print(f"\n[{folds}-fold cross-validation] top-1 accuracy {accuracy:.1%}")  # noqa: T201
    assert accuracy >= MIN_CROSS_VALIDATED_ACCURACY


def test_indonesian_learns_and_english_keeps_the_rules() -> None:
    assert KnowledgeBase.load("id").learned
    assert not KnowledgeBase.load("en").learned


def test_training_questions_with_an_unknown_topic_are_refused() -> None:
    raw = tomllib.loads((LOCALES_DIR / "id" / "knowledge.toml").read_text("utf-8"))
    with pytest.raises(ValueError, match="no_such_topic"):
        KnowledgeBase("id", raw, [("apa itu", "no_such_topic")])


def test_the_learned_part_answers_what_the_rules_alone_miss() -> None:
    raw = tomllib.loads((LOCALES_DIR / "id" / "knowledge.toml").read_text("utf-8"))
    rules = KnowledgeBase("id", raw)
    learned = KnowledgeBase.load("id")
    questions = [*_questions("final"), *_questions("final2")]

    def right(kb: KnowledgeBase) -> int:
        return sum(
            (m.topic.id if (m := kb.answer(text)) else FALLBACK) == expected
            for text, expected in questions
        )

    assert right(learned) > right(rules)


def test_character_ngrams_carry_a_misspelt_word_to_its_label() -> None:
    classifier = Classifier(
        ["death", "death", "accident", "accident"],
        [
            features(["santunan", "kematian"]),
            features(["meninggal", "dunia"]),
            features(["kecelakaan", "kerja"]),
            features(["jatuh", "pohon"]),
        ],
    )
    similarities = classifier.similarities(features(["kcelakaan"]))
    assert similarities["accident"] > similarities["death"]
    assert max(similarities, key=similarities.__getitem__) == "accident"
    assert classifier.similarities(features(["zzzz"])) == {"accident": 0.0, "death": 0.0}


def test_the_regression_learns_which_word_tells_close_labels_apart() -> None:
    # Every question shares "bayar iuran"; only "telat" or "sekaligus" tells the labels apart.
    late = [["bayar", "iuran", "telat", w] for w in ("bulan", "lalu", "kemarin", "dulu", "lama")]
    ahead = [["bayar", "iuran", "sekaligus", w] for w in ("tahun", "enam", "tiga", "muka", "dulu")]
    classifier = Classifier(
        ["late"] * 5 + ["ahead"] * 5 + ["other"] * 5,
        [features(q) for q in (*late, *ahead)]
        + [features(["bayar", "iuran", w]) for w in ("kantor", "bank", "pos", "agen", "jmo")],
    )
    scores = classifier.scores(features(["iuran", "telat", "bayar"]))
    assert max(scores, key=scores.__getitem__) == "late"
    assert scores["late"] > 0.5
    assert sum(scores.values()) == pytest.approx(1.0)


def test_features_of_a_huge_word_are_bounded() -> None:
    assert len(features(["a" * 5000])) == 1


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("brppp iuran", "berapa iuran"),
        ("anak2 sekolah", "anak sekolah"),
        ("langkah2nya daftar", "langkah daftar"),
        ("dua2nya meninggal", "dua meninggal"),
        ("petani kecil2an", "petani kecil"),
    ],
)
def test_emphasis_and_reduplication_are_read_as_the_plain_word(typed: str, plain: str) -> None:
    kb = KnowledgeBase.load("id")
    assert kb.normalize(typed) == kb.normalize(plain)
    # A "2" that is a number stays a number.
    assert "2" in kb.normalize("2 bulan")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blm setor iuran trus celaka dijamin gk", "tunggakan_perlindungan"),
        ("siapa yg terima santunan kalau peserta meninggal", "ahli_waris"),
        ("siapa penerima uang duka kalau peserta wafat", "ahli_waris"),
        ("kenapa desa kami tidak dapat iuran gratis", "syarat_pemda"),
        ("brp iuran sebulan utk buruh sawit", "iuran"),
        ("berapa iuran utk petani karet", "iuran"),
        ("kek mana bayar iuran jht", "cara_bayar"),
        ("kapan jht bisa ditarik", "manfaat_jht"),
        ("harus punya apa utk jd peserta", "syarat_daftar"),
    ],
)
def test_question_words_pick_between_close_topics(text: str, expected: str) -> None:
    match = KnowledgeBase.load("id").answer(text)
    assert match is not None, text
    assert match.topic.id == expected


@pytest.mark.parametrize(
    "text", ["bsu kapan cair", "kredit motor lewat bpjs", "beli pupuk dimana"]
)
def test_out_of_scope_words_get_the_fallback(text: str) -> None:
    assert KnowledgeBase.load("id").answer(text) is None


def _tiny(topics: list[tuple[str, list[str], list[str]]], **normalize: Any) -> KnowledgeBase:
    raw = {
        "normalize": normalize,
        "topics": [
            {
                "id": i,
                "title": i,
                "answer": "x",
                "source": "s",
                "mark": "CONFIRMED",
                "examples": examples,
                "keywords": keywords,
            }
            for i, examples, keywords in topics
        ],
    }
    return KnowledgeBase("xx", raw)


def _with_intents(needs: list[str] | None = None) -> KnowledgeBase:
    """Topics sharing their words: what an injury pays, how to claim for it, a death by it."""
    topics: list[tuple[str, list[str], list[str], list[str]]] = [
        ("pays", ["luka kena parang"], [], []),
        ("claim", ["luka kena parang"], [], ["claim"]),
        ("death", ["meninggal kena parang"], ["parang"], []),
    ]
    raw = {
        "normalize": {"intents": {"claim": ["klaim", "urus", "mana"]}},
        "topics": [
            {
                "id": i,
                "title": i,
                "answer": "x",
                "source": "s",
                "mark": "CONFIRMED",
                "examples": examples,
                "keywords": keywords,
                "intents": intents,
                "needs": (needs or []) if i == "death" else [],
            }
            for i, examples, keywords, intents in topics
        ],
    }
    return KnowledgeBase("xx", raw)


def test_a_topic_answering_the_kind_of_question_asked_wins() -> None:
    kb = _with_intents()
    # Both topics have the injury words; "urus ... mana" asks how to claim.
    match = kb.answer("luka kena parang urus ke mana")
    assert match is not None
    assert match.topic.id == "claim"
    # Without a claim word the topic listed first (what the cover pays) is the answer.
    match = kb.answer("luka kena parang")
    assert match is not None
    assert match.topic.id == "pays"


def test_unknown_intent_of_a_topic_is_refused() -> None:
    raw = {
        "normalize": {"intents": {"claim": ["klaim"]}},
        "topics": [
            {"id": "a", "title": "a", "answer": "x", "source": "s", "mark": "CONFIRMED"}
            | {"examples": ["klaim"], "intents": ["claim", "when"]}
        ],
    }
    with pytest.raises(ValueError, match="unknown intents"):
        KnowledgeBase("xx", raw)


def test_a_topic_needing_words_the_question_lacks_counts_less() -> None:
    plain = _with_intents().answer("kena parang")
    assert plain is not None
    assert plain.topic.id == "death"
    match = _with_intents(needs=["meninggal"]).answer("kena parang")
    assert match is not None
    assert match.topic.id != "death"
    match = _with_intents(needs=["meninggal"]).answer("meninggal kena parang")
    assert match is not None
    assert match.topic.id == "death"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A claim word with accident words asks for the claim procedure.
        ("kaki luka kena dodos di kebun ngurus klaim nya ke mana", "klaim_jkk"),
        ("ngurus beasiswa utk anak ke mana", "klaim_beasiswa"),
        # An accident without a death is not a death at work.
        ("celaka di jalan mau ke ladang ditanggung jkk kah", "manfaat_jkk"),
        # Not having paid, and asking what now, is about arrears, not where to pay.
        ("sdh 6 bln tdk bayar iuran trus gmn", "telat_bayar"),
        ("nomor telpon bpjs tk", "kontak"),
    ],
)
def test_question_kind_and_needed_words_pick_the_topic(text: str, expected: str) -> None:
    match = KnowledgeBase.load("id").answer(text)
    assert match is not None, text
    assert match.topic.id == expected


def test_a_tie_goes_to_the_topic_listed_first() -> None:
    for first, second in (("b_topic", "a_topic"), ("a_topic", "b_topic")):
        kb = _tiny([(first, ["cara bayar"], []), (second, ["cara bayar"], [])])
        match = kb.answer("cara bayar")
        assert match is not None
        assert match.topic.id == first


def test_context_words_count_less_than_what_is_asked() -> None:
    topics: list[tuple[str, list[str], list[str]]] = [
        ("who", ["nelayan"], []),
        ("fee", ["iuran bulan berapa"], []),
    ]
    plain = _tiny(topics).answer("iuran nelayan")
    assert plain is not None
    assert plain.topic.id == "who"
    match = _tiny(topics, context=["nelayan"]).answer("iuran nelayan")
    assert match is not None
    assert match.topic.id == "fee"


def test_fallback_questions_never_get_a_figure() -> None:
    kb = KnowledgeBase.load("id")
    for text, expected in _questions("id"):
        match = kb.answer(text)
        if expected == FALLBACK:
            assert match is None or not match.topic.has_figure, text


@pytest.mark.parametrize(
    "text",
    [
        "berapa saldo jht saya",
        "kapan klaim jht saya cair",
        "saya kecelakaan kemarin dapat berapa",
        "berapa tunggakan saya",
        "santunan klaim saya berapa",
    ],
)
def test_personal_figures_get_the_fallback(text: str) -> None:
    kb = KnowledgeBase.load("id")
    assert kb.is_personal_figure(text)
    assert kb.answer(text) is None
    assert kb.closest(text)[0].id == "cek_status"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cara cek saldo jht saya", "cek_status"),
        ("kapan saya bisa cairkan jht", "manfaat_jht"),
        ("berapa iuran jht saya", "iuran"),
    ],
)
def test_general_questions_with_saya_are_answered(text: str, expected: str) -> None:
    kb = KnowledgeBase.load("id")
    match = kb.answer(text)
    assert match is not None
    assert match.topic.id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kalo sy meninggal di laut keluarga dpt apa", "jkk_meninggal"),
        ("suami sy meninggal dpt brp", "manfaat_jkm"),
        ("kalau saya meninggal keluarga dapat berapa", "manfaat_jkm"),
        ("bini awak dapat apa kalau awak mati waktu kerja di kebun", "jkk_meninggal"),
    ],
)
def test_what_my_family_gets_is_a_general_question(text: str, expected: str) -> None:
    kb = KnowledgeBase.load("id")
    assert not kb.is_personal_figure(text)
    match = kb.answer(text)
    assert match is not None
    assert match.topic.id == expected


def test_death_at_work_answer_also_tells_the_jkm_amount() -> None:
    answer = KnowledgeBase.load("id").topic("jkk_meninggal").answer
    assert "48 kali" in answer
    assert "Rp42 juta" in answer


@pytest.mark.parametrize(
    ("word", "stems"),
    [
        ("kawan", ["kawan"]),
        ("tangan", ["tangan"]),
        ("sampan", ["perahu"]),
        ("awak", []),
        ("kereta", ["motor"]),
        ("egrek", ["sawit"]),
        ("kelen", []),
    ],
)
def test_known_local_words_are_never_fuzzy_corrected(word: str, stems: list[str]) -> None:
    assert KnowledgeBase.load("id").normalize(word) == stems


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("iurn", "iuran"), ("beasiswah", "beasiswa"), ("pensium", "pensiun")],
)
def test_unknown_words_are_still_corrected(typo: str, meant: str) -> None:
    kb = KnowledgeBase.load("id")
    assert kb.normalize(typo) == kb.normalize(meant)


def test_fuzzy_correction_keeps_the_first_letter() -> None:
    kb = KnowledgeBase.load("id")
    # "kiuran" is closer to "iuran" than to anything else, but starts with another letter.
    assert kb.normalize("kiuran") != kb.normalize("iuran")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("halo", "greeting"),
        ("Assalamualaikum bang", "greeting"),
        ("pagi bang", "greeting"),
        ("horas lae", "greeting"),
        ("makasih ya bang", "thanks"),
        ("ok", "ack"),
        ("siap", "ack"),
        ("daftar", "register"),
        ("mau daftar", "register"),
        ("sy mau daftar bpjs", "register"),
        ("haloooo", "greeting"),
        ("cara daftar", None),
        ("halo brp iuran", None),
        ("makasih, kalau telat bayar gimana", None),
    ],
)
def test_small_talk(text: str, kind: str | None) -> None:
    assert KnowledgeBase.load("id").small_talk(text) == kind


def test_small_talk_in_english() -> None:
    kb = KnowledgeBase.load("en")
    assert kb.small_talk("hello") == "greeting"
    assert kb.small_talk("thank you") == "thanks"
    assert kb.small_talk("I want to register") == "register"
    assert kb.small_talk("how much do I pay") is None


def test_english_typed_to_an_indonesian_user_is_answered_in_indonesian() -> None:
    id_kb, en_kb = KnowledgeBase.load("id"), KnowledgeBase.load("en")
    match = answer_any(id_kb, [en_kb], "how do I claim the death benefit")
    assert match is not None
    assert match.topic is id_kb.topic("klaim_jkm")
    # Indonesian stays with the Indonesian knowledge base.
    match = answer_any(id_kb, [en_kb], "gimana cara klaim santunan kematian")
    assert match is not None
    assert match.topic is id_kb.topic("klaim_jkm")


def test_discount_is_told_only_while_it_holds() -> None:
    windows = load_table().discount
    for language in ("id", "en"):
        topic = KnowledgeBase.load(language).topic("diskon")
        during = topic.render(dt.date(2026, 6, 1), language)
        assert "50%" in during
        assert "8.400" in during
        late = topic.render(dt.date(2027, 2, 1), language)
        assert ("sudah berakhir" in late) or ("ended" in late)
        after = topic.render(windows.transport.end + dt.timedelta(days=1), language)
        assert "8.400" not in after
        assert ("sudah berakhir" in after) or ("has ended" in after)
    during = KnowledgeBase.load("id").topic("diskon").render(dt.date(2026, 6, 1), "id")
    assert "Januari 2026 – Maret 2027" in during
    assert "April 2026 – Desember 2026" in during


def test_late_payment_says_what_is_certain_and_sends_to_bpjs() -> None:
    answer = KnowledgeBase.load("id").topic("telat_bayar").answer
    assert "lebih dari 3 bulan" in answer.lower()
    assert "denda" in answer
    assert "175" in answer
    assert "mulai dari nol" not in answer


def test_registration_answer_lists_only_what_the_bot_asks() -> None:
    answer = KnowledgeBase.load("id").topic("syarat_daftar").answer.lower()
    assert "tempat lahir" not in answer
    for asked in ("nik", "ibu kandung", "ahli waris", "penghasilan"):
        assert asked in answer


def test_registration_and_status_answers_carry_their_button() -> None:
    for language in ("id", "en"):
        kb = KnowledgeBase.load(language)
        assert kb.topic("cara_daftar").action == "daftar"
        assert kb.topic("syarat_daftar").action == "daftar"
        assert kb.topic("cek_status").action == "status"
        assert kb.topic("setelah_daftar").action == "status"


def test_closest_offers_buttons_even_for_nonsense() -> None:
    kb = KnowledgeBase.load("id")
    assert kb.answer("qwerty zxcv") is None
    closest = kb.closest("qwerty zxcv", n=3)
    assert len(closest) == 3
    assert [t.id for t in closest] == list(kb.default_topics[:3])
    assert kb.closest("iuran bpjs kesehatan berapa", n=2)[0].id == "iuran"


def test_same_topic_ids_in_every_language() -> None:
    id_kb, en_kb = KnowledgeBase.load("id"), KnowledgeBase.load("en")
    assert [t.id for t in id_kb.topics] == [t.id for t in en_kb.topics]
    for topic in id_kb.topics:
        other = en_kb.topic(topic.id)
        assert other.related == topic.related
        assert other.mark == topic.mark
        assert other.action == topic.action
        assert set(other.variants) == set(topic.variants)


# Sources are named by the institution or regulation, not by the news portal that quoted them.
_INSTITUTION = (
    r"(BPJS Ketenagakerjaan|FAQ BPJS|PP \d|UU \d|Permenaker|Inpres|PMK|Peraturan Direksi"
    r"|Kemnaker|Pemkab|Pemprov|Panduan Jaga Pekerja|Jaga Pekerja guide|formulir)"
)


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_message_fits(language: str) -> None:
    kb = KnowledgeBase.load(language)
    tr = translator(language)
    for topic in kb.topics:
        for day in DAYS:
            text = topic_text(tr, kb, topic, day)
            assert len(text) <= MAX_MESSAGE, (topic.id, day, len(text))
        if topic.details:
            assert len(f"{topic.title}\n\n{topic.details}") <= MAX_MESSAGE, topic.id


@pytest.mark.parametrize("language", ["id", "en"])
def test_topics_are_well_formed(language: str) -> None:
    kb = KnowledgeBase.load(language)
    assert 25 <= len(kb.topics) <= 40
    for topic in kb.topics:
        assert re.fullmatch(r"[a-z0-9_]+", topic.id)
        assert 0 < len(topic.title) <= MAX_TITLE, topic.id
        assert re.match(_INSTITUTION, topic.cited), (topic.id, topic.cited)
        for internal in ("domain.md", "design.md", "shared/", "§"):
            assert internal not in topic.source, topic.id
        assert topic.mark in {"CONFIRMED", "LIKELY", "UNCERTAIN", "CONFLICT"}
        assert topic.related and topic.id not in topic.related
        assert topic.examples, topic.id


def test_weak_marks_are_phrased_with_care() -> None:
    hedges = ("biasanya", "menurut informasi bpjs", "175", "kantor cabang")
    for topic in KnowledgeBase.load("id").topics:
        if topic.mark != "CONFIRMED":
            assert any(h in topic.answer.lower() for h in hedges), topic.id


def test_pension_and_jkp_never_offered() -> None:
    for topic in KnowledgeBase.load("id").topics:
        for sentence in re.split(r"[.\n]", topic.answer):
            if re.search(r"\b(JP|JKP|Pensiun)\b", sentence):
                assert re.search(r"\b(tidak|hanya)\b", sentence.lower()), (topic.id, sentence)


_UNITS = {
    "juta": "rupiah", "million": "rupiah", "%": "percent", "persen": "percent",
    "percent": "percent", "kali": "times", "times": "times", "bulan": "months",
    "months": "months", "month": "months", "tahun": "years", "years": "years", "year": "years",
    "hari": "days", "days": "days", "jam": "hours", "hours": "hours", "angka": "digits",
    "digits": "digits", "anak": "children", "children": "children", "program": "programs",
    "programs": "programs",
}  # fmt: skip
_BEFORE = {"desil": "decile", "deciles": "decile", "decile": "decile", "usia": "years",
           "age": "years", "bpjs": "phone", "175": "phone"}  # fmt: skip
_REGULATION = re.compile(
    r"\b(?:PP|UU|Law|Permenaker|PMK|Inpres|Perpres)\s*\d+/\d{4}|\d+/PERDIR\S*"
    r"|(?:Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November"
    r"|Desember|January|February|March|May|June|July|August|October|December)\s+\d{4}"
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?P<rp>Rp\s?)?(?P<n>\d+(?:[.,]\d+)*(?:×\d+)?)(?P<pct>%)?"
    r"(?(rp)|(?P<list>(?:\s*(?:,\s*(?:atau|or|dan|and)?|–|-|atau|or|dan|and)\s*\d+(?:[.,]\d+)*)*))"
    r"\s*(?P<unit>[a-z]+)?"
)


def _number(raw: str) -> float:
    """'16.800' -> 16800, '1,5' -> 1.5 (Indonesian separators)."""
    if "," in raw:
        whole, _, fraction = raw.partition(",")
        return float(whole.replace(".", "") + "." + fraction)
    return float(raw.replace(".", ""))


def figures_in(text: str) -> set[tuple[str, str]]:
    """(value, unit) of every figure a text states; list numbers share the unit after the list."""
    found: set[tuple[str, str]] = set()
    text = _REGULATION.sub(" ", text)
    for line in text.splitlines():
        line = re.sub(r"^\s*\d+\.\s", "", line)  # numbered steps are not figures
        for m in _NUMBER.finditer(line):
            unit = "%" if m["pct"] else (m["unit"] or "")
            kind = _UNITS.get(unit, "")
            before = line[: m.start()].split()[-1:] or [""]
            kind = _BEFORE.get(before[0].lower().strip("(:"), kind)
            numbers = [m["n"], *re.findall(r"\d+(?:[.,]\d+)*", m["list"] or "")]
            for raw in numbers:
                if "×" in raw:
                    found.add((raw.replace("×", "x"), kind or "hours"))
                    continue
                if raw == "175":
                    found.add(("175", "phone"))
                    continue
                value = _number(raw)
                if m["rp"] or kind == "rupiah":
                    value *= 1_000_000 if unit in ("juta", "million") else 1
                    kind = "rupiah"
                found.add((f"{value:g}" if value < 1e6 else str(round(value)), kind))
    return found


def _allowed_figures() -> set[tuple[str, str]]:
    raw = tomllib.loads(FIGURES.read_text("utf-8"))
    allowed: set[tuple[str, str]] = set()
    for figure in raw["figures"]:
        assert figure["source"] and figure["mark"] in {
            "CONFIRMED", "LIKELY", "UNCERTAIN", "CONFLICT"
        }, figure  # fmt: skip
        value = figure["value"]
        text = value if isinstance(value, str) else (
            f"{float(value):g}" if value < 1e6 else str(value)
        )  # fmt: skip
        allowed.add((text, figure["unit"]))
    return allowed


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_figure_is_in_the_sourced_figures_file(language: str) -> None:
    allowed = _allowed_figures()
    for topic in KnowledgeBase.load(language).topics:
        for day in DAYS:
            unknown = figures_in(topic.render(day, language)) - allowed
            assert not unknown, (language, topic.id, sorted(unknown))


def test_figure_extraction_can_fail() -> None:
    assert figures_in("Rp42 juta dan Rp16.800, 48 kali, 3, 6, atau 12 bulan, PP 50/2025") == {
        ("42000000", "rupiah"),
        ("16800", "rupiah"),
        ("48", "times"),
        ("3", "months"),
        ("6", "months"),
        ("12", "months"),
    }
    assert ("99", "times") not in _allowed_figures()
    assert figures_in("Rp1,5 juta; BPJS 175; desil 1–5; 2×24 jam") == {
        ("1500000", "rupiah"),
        ("175", "phone"),
        ("1", "decile"),
        ("5", "decile"),
        ("2x24", "hours"),
    }


def test_matching_is_fast() -> None:
    kb = KnowledgeBase.load("id")
    questions = [t for t, _ in _questions("id")]
    for text in questions:  # warm the per-word caches like a running bot would
        kb.answer(text)
    start = time.process_time()  # CPU time: other processes on the machine do not count
    for text in questions:
        kb.answer(text + " zz")
    per_question = (time.process_time() - start) / len(questions)
    assert per_question < 0.005


def test_load_is_cached_and_validates_language() -> None:
    assert KnowledgeBase.load("id") is KnowledgeBase.load("id")
    with pytest.raises(ValueError, match="language"):
        KnowledgeBase.load("../etc")
    assert (LOCALES_DIR / "id" / "knowledge.toml").exists()


@pytest.mark.parametrize(
    ("text", "income"),
    [
        ("iuran kalau penghasilan 2 juta?", 2_000_000),
        ("brp iuran gaji 1,5jt", 1_500_000),
        ("penghasilan sy 2jtan iurannya brp", 2_000_000),
        ("gaji sejuta setengah bayar iuran berapa", 1_500_000),
        ("Iuran utk penghasilan Rp 3.500.000 berapa?", 3_500_000),
        ("iuran kalau pendapatan 800 ribu", 800_000),
        ("berapa iurannya kalau 2,5 jt sebulan", 2_500_000),
        ("contribution for income 1.500.000", 1_500_000),
    ],
)
def test_contribution_question_parsed(text: str, income: int) -> None:
    assert parse_contribution_question(text) == income


@pytest.mark.parametrize(
    "text",
    [
        "berapa iuran bpjs tk",
        "santunan kematian 42 juta kapan cair",
        "iuran 16800 itu untuk apa",
        "saldo jht saya 15 juta bisa cair di jmo",
        "klaim jht di atas 15 juta",
        "penghasilan saya 2",
        "harga sawit 2 ribu sekilo",
        "",
    ],
)
def test_not_a_contribution_question(text: str) -> None:
    assert parse_contribution_question(text) is None


def test_citations_shown_to_users_name_publications_not_files_or_urls() -> None:
    for language in ("id", "en"):
        for topic in KnowledgeBase.load(language).topics:
            cited = topic.cited
            assert cited, topic.id
            for internal in ("domain.md", "design.md", "http", "§"):
                assert internal not in cited, (language, topic.id, cited)


# Families of questions a persona test found unanswered or misrouted. The phrasings here are
# held out: none is a topic example or a training question (checked below).
_HELD_OUT_FAMILIES = [
    # How long a claim takes.
    ("pencairan klaim biasanya makan waktu brp lama ya", "lama_klaim"),
    ("klaim nya kok gk cair2 udh 3 minggu", "lama_klaim"),
    ("berapa lama nunggu santunan kematian keluar", "lama_klaim"),
    # What one programme is or gives: its benefit topic.
    ("jkm tu nanggung apa aja bang", "manfaat_jkm"),
    ("what does the jkk cover", "manfaat_jkk"),
    # Several programmes or their difference: the programmes, one line each.
    ("jkk, jkm, jht tu beda nya dimana", "program_bpu"),
    # Registering someone else.
    ("bisa tolong daftarin suami sy?", "daftar_orang_lain"),
    ("boleh sy daftarkan adik sy yg nelayan", "daftar_orang_lain"),
    ("can i sign up my mother", "daftar_orang_lain"),
    # Who pays the contributions.
    ("iuran nya nanti siapa yg bayar bang", "bantuan_pemda"),
    ("siapa yg menanggung iuran bpjs tk sy", "bantuan_pemda"),
    # "Iuran ... berapa" asks the amount, whatever work is named.
    ("iuran pemanen sawit harian berapa ya", "iuran"),
    ("berapa iuran utk pengemudi becak", "iuran"),
]


@pytest.mark.parametrize(("text", "expected"), _HELD_OUT_FAMILIES)
def test_question_families_reach_their_answer(text: str, expected: str) -> None:
    id_kb, en_kb = KnowledgeBase.load("id"), KnowledgeBase.load("en")
    match = answer_any(id_kb, [en_kb], text)
    assert match is not None and match.topic.id == expected


def test_held_out_family_questions_are_not_training_material() -> None:
    kb = KnowledgeBase.load("id")
    seen = {t.lower() for t, _ in training_questions()}
    seen |= {
        e.lower() for k in (kb, KnowledgeBase.load("en")) for t in k.topics for e in t.examples
    }
    assert not [t for t, _ in _HELD_OUT_FAMILIES if t.lower() in seen]


def test_programme_answer_says_what_each_programme_gives_and_offers_them() -> None:
    for language in ("id", "en"):
        kb = KnowledgeBase.load(language)
        topic = kb.topic("program_bpu")
        assert "Rp42 juta" in topic.answer and "56" in topic.answer
        assert set(topic.related) == {"manfaat_jkk", "manfaat_jkm", "manfaat_jht"}


def test_a_common_word_is_not_turned_into_another_word() -> None:
    kb = KnowledgeBase.load("id")
    # "Sekalian" (as well) is paying at once only next to a payment word.
    assert "sekaligus" not in kb.normalize("daftarin anak sy sekalian")
    match = kb.answer("daftarin anak sy sekalian")
    assert match is not None and match.topic.id == "daftar_orang_lain"
    match = kb.answer("bisa bayar sekalian 6 bulan")
    assert match is not None and match.topic.id in {"periode_bayar", "iuran"}


def test_privacy_answer_names_who_sees_the_data_as_the_consent_does() -> None:
    assert "petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan" in (
        KnowledgeBase.load("id").topic("privasi").answer
    )
    assert "district manpower office and BPJS Ketenagakerjaan" in (
        KnowledgeBase.load("en").topic("privasi").answer
    )


@pytest.mark.parametrize(
    ("language", "text", "kind"),
    [
        ("id", "ga jadi lah", "never"),
        ("id", "tdk jd bang", "never"),
        ("id", "eh ga jd deh, biarin aja", "never"),
        ("id", "ini robot kah", "bot"),
        ("id", "bot ini ya bang", "bot"),
        ("en", "never mind", "never"),
        ("en", "is this a bot", "bot"),
        ("id", "halo bot", "greeting"),
    ],
)
def test_never_mind_and_are_you_a_bot_are_small_talk(language: str, text: str, kind: str) -> None:
    assert KnowledgeBase.load(language).small_talk(text) == kind


# Further families a persona test found; held-out phrasings (checked below like the others).
_HELD_OUT_FAMILIES_2 = [
    # Ordinary sickness: the JKK answer, whose first line says what JKK does not cover.
    ("sy demam biasa, bkn krn kerja, dijamin bpjs tk gk", "manfaat_jkk"),
    ("klo flu atau batuk biasa ditanggung jg?", "manfaat_jkk"),
    # When or how the card or member number comes.
    ("kapan kartu peserta nya dikasih ke sy", "kartu_kpj"),
    ("nomor kpj sy kpn keluar bang", "kartu_kpj"),
    # Forgetting to pay is still about arrears.
    ("kmrn lupa byr iuran 2 bulan gmn", "telat_bayar"),
]


@pytest.mark.parametrize(("text", "expected"), _HELD_OUT_FAMILIES_2)
def test_more_question_families_reach_their_answer(text: str, expected: str) -> None:
    match = answer_any(KnowledgeBase.load("id"), [KnowledgeBase.load("en")], text)
    assert match is not None and match.topic.id == expected
    seen = {t.lower() for t, _ in training_questions()}
    assert text.lower() not in seen


def test_the_jkk_answer_says_first_that_ordinary_sickness_is_not_covered() -> None:
    for language, words in (("id", "sakit biasa"), ("en", "ordinary illness")):
        first = KnowledgeBase.load(language).topic("manfaat_jkk").answer.splitlines()[0]
        assert "JKK" in first and words in first


@pytest.mark.parametrize(
    ("language", "text", "kind"),
    [
        ("id", "maaf ya bang, lupa", "sorry"),
        ("id", "oh maaf salah pencet", "sorry"),
        ("id", "oh gitu", "ack"),
        ("id", "lupa bayar", None),
        ("en", "sorry, my mistake", "sorry"),
    ],
)
def test_an_apology_is_small_talk(language: str, text: str, kind: str | None) -> None:
    assert KnowledgeBase.load(language).small_talk(text) == kind


@pytest.mark.parametrize(
    ("text", "own"),
    [
        ("pendaftaran sy udh disetujui blm", True),
        ("aku udh terdaftar kah", True),
        ("nomor pendaftaranku brp", True),
        ("cara cek status pendaftaran", False),
        ("kalau sy udh terdaftar dapat apa", False),
        ("sy sudah terdaftar di perusahaan, boleh ikut mandiri", False),
    ],
)
def test_questions_about_the_own_registration_are_told_apart(text: str, own: bool) -> None:
    assert KnowledgeBase.load("id").asks_own_status(text) is own
