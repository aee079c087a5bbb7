"""Explicit claim-vs-sentence checks, on sentences from the sample article."""

import pytest

from index.judging.checks import (
    DATE_MISMATCH,
    DATE_MISSING,
    ENTITY_MISSING,
    NOT_MENTIONED,
    QUANTITY_MATCH,
    QUANTITY_MISMATCH,
    QUANTITY_MISSING,
    check_coverage,
    check_dates,
    check_entities,
    check_polarity,
    check_quantities,
    extract_quantities,
    named_entities,
)

DRONES = (
    "The Ukrainian air force said Russia had launched 133 drones across the country overnight, including attack "
    "drones, targeting northern regions of the country where the Chernobyl plant lies."
)
THREE_YEARS = (
    "The dramatic thaw in relations sparked fears Ukraine could be left out in the cold after nearly three years "
    "of battling against Moscow's invasion."
)
FIRST_MEETING = (
    'Zelensky also hailed a "good conversation," saying the encounter with Vance was "our first meeting, not last, '
    "I'm sure.\""
)
VENUE = (
    "Saudi Arabia, after being named by Trump as a likely venue for a meeting with Putin, said it would welcome "
    "holding any talks between the two leaders."
)
WEDNESDAY = (
    "Trump rattled Ukraine and its European allies on Wednesday by agreeing to launch peace talks in his first "
    "publicly announced call with Putin since returning to office."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia launched 133 drones", [(133, "drone")]),
        ("nearly three years of battling", [(3, "year")]),
        ("our first meeting", [(1, "ordinal:meeting")]),
        ("prices rose 5% in 2024", [(5, "%"), (2024, "calendar year")]),
        ("a $2 billion package", [(2e9, "usd")]),
        ("1,200 troops", [(1200, "troop")]),
        ("more than a decade", [(10, "year")]),
    ],
)
def test_extract_quantities(text, expected):
    assert [(q.value, q.unit) for q in extract_quantities(text)] == expected


def test_a_changed_figure_is_a_mismatch_with_a_readable_message():
    (finding,) = check_quantities("Russia launched 500 drones", DRONES)
    assert (finding.kind, finding.claim, finding.evidence) == (QUANTITY_MISMATCH, "500", "133")
    assert finding.message == "the claim says 500 drones; the source says 133 drones"


def test_the_same_figure_is_a_match():
    assert [f.kind for f in check_quantities("Russia launched 133 drones", DRONES)] == [QUANTITY_MATCH]


@pytest.mark.parametrize(
    ("claim", "evidence", "message"),
    [
        (
            "Ukraine has fought for nearly five years",
            THREE_YEARS,
            "the claim says nearly five years; the source says nearly three years",
        ),
        (
            "Ukraine has fought for more than a decade",
            THREE_YEARS,
            "the claim says more than a decade; the source says nearly three years",
        ),
        ("It was their second meeting", FIRST_MEETING, "the claim says second meeting; the source says first meeting"),
    ],
)
def test_number_words_and_ordinals(claim, evidence, message):
    assert [f.message for f in check_quantities(claim, evidence)] == [message]


@pytest.mark.parametrize(
    ("claim", "evidence", "kind"),
    [
        ("The teams represent more than 5 states.", "8 teams represent 6 cities and 8 states.", QUANTITY_MATCH),
        ("The teams represent more than 9 states.", "8 teams represent 6 cities and 8 states.", QUANTITY_MISMATCH),
        ("It holds less than 90% on the site.", "It holds 89% on the site.", QUANTITY_MATCH),
        ("Over 600 people were killed.", "The heat killed more than 700 people.", QUANTITY_MATCH),
        ("Over 800 people were killed.", "The heat killed more than 700 people.", None),  # cannot be told
        ("About 700 people were killed.", "The heat killed 689 people.", QUANTITY_MATCH),
        ("About 700 people were killed.", "The heat killed 300 people.", QUANTITY_MISMATCH),
        ("It was founded before 1930.", "It was founded in 1926.", QUANTITY_MATCH),
        ("It was founded after 1930.", "It was founded in 1926.", QUANTITY_MISMATCH),
        ("It lasted after 3 days.", "It lasted 5 days.", QUANTITY_MISMATCH),  # "after" bounds years only
    ],
)
def test_bounds_and_estimates_count_as_what_they_allow(claim, evidence, kind):
    findings = [f for f in check_quantities(claim, evidence) if f.kind in (QUANTITY_MATCH, QUANTITY_MISMATCH)]
    assert [f.kind for f in findings] == ([kind] if kind else [])


def test_a_bound_is_replaced_whole_in_the_finding():
    (finding,) = check_quantities("The teams represent more than 9 states.", "They come from 8 states.")
    assert (finding.claim, finding.evidence) == ("more than 9", "8")
    assert finding.message == "the claim says more than 9 states; the source says 8 states"


def test_a_figure_for_another_unit_is_missing_not_contradicted():
    (finding,) = check_quantities("Russia fired 40 missiles", DRONES)
    assert (finding.kind, finding.message) == (QUANTITY_MISSING, "the source does not give the figure 40 missiles")


def test_a_changed_weekday_is_a_date_mismatch():
    (finding,) = check_dates("Trump rattled allies on Tuesday", WEDNESDAY)
    assert (finding.kind, finding.message) == (DATE_MISMATCH, "the claim says Tuesday; the source says Wednesday")
    assert check_dates("Trump rattled allies on Wednesday", WEDNESDAY) == []
    assert check_dates("Talks may resume", WEDNESDAY) == []  # the verb, not the month


def test_named_entities():
    assert named_entities(VENUE) == ["Saudi Arabia", "Trump", "Putin"]
    assert named_entities("The talks in Munich were seen as a key moment for Kyiv.") == ["Munich", "Kyiv"]


def test_a_name_the_source_does_not_mention_is_reported_never_a_contradiction():
    # Capitalised words are not reliably names ("Global", "Recent"); the NLI judge decides.
    claim = "Qatar said it would welcome holding talks between Trump and Putin"
    (missing,) = check_entities(claim, VENUE)
    assert (missing.kind, missing.message) == (ENTITY_MISSING, "the source does not mention Qatar")


def test_names_in_the_title_or_previous_sentence_count_as_mentioned():
    claim = "Vance did not address the war in Ukraine in his speech"
    sentence = (
        "He did not give more away in a keenly awaited keynote speech, as he avoided addressing the war in Ukraine."
    )
    assert check_entities(claim, sentence) != []
    assert check_entities(claim, sentence, context="Vance Tells Zelensky U.S. Wants 'Lasting' Peace") == []


def test_coverage_lists_the_claim_words_the_source_does_not_mention():
    (finding,) = check_coverage("Zelensky met Putin in Istanbul", VENUE)
    assert (finding.kind, finding.claim) == (NOT_MENTIONED, "zelensky, met, istanbul")
    assert check_coverage("Saudi Arabia would welcome talks", VENUE) == []


TROOPS = (
    "Fears that Vance could announce a major U.S. troop reduction in Europe did not materialize, but he repeated "
    "warnings that Washington needs to focus more on other parts of the globe."
)
INVOLVED = (
    "U.S. officials have insisted that Zelensky will be involved in negotiations — and the Ukrainian leader said he "
    'would be prepared to sit down with Putin after agreeing a "common plan" with Trump.'
)
NOT_PREPARING = (
    'Zelensky said the attack was evidence that "Putin is definitely not preparing for negotiations -- he is '
    'preparing to continue deceiving the world."'
)


@pytest.mark.parametrize(
    ("claim", "evidence", "message"),
    [
        ("Vance announced a major U.S. troop reduction in Europe", TROOPS, "the source says the opposite ('not')"),
        (
            "The council approved the budget",
            "The council rejected the budget on Monday.",
            "the claim says approved; the source says rejected",
        ),
        ("Putin is preparing for negotiations", NOT_PREPARING, "the source says the opposite ('not')"),
    ],
)
def test_polarity_mismatches(claim, evidence, message):
    assert [f.message for f in check_polarity(claim, evidence)] == [message]


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Zelensky said it was their first meeting", FIRST_MEETING),  # "not last" negates nothing in the claim
        ("Putin is definitely not preparing for negotiations", NOT_PREPARING),
        ("Zelensky will be involved in negotiations", INVOLVED),
    ],
)
def test_same_polarity_is_no_finding(claim, evidence):
    assert check_polarity(claim, evidence) == []


def test_a_single_thing_counts_as_one():
    sentence = "A Russian drone had struck a cover built to contain radiation at the Chernobyl plant."
    (finding,) = check_quantities("Two Russian drones struck the cover", sentence)
    assert finding.message == "the claim says two drones; the source says a drone"


def test_a_sentence_without_the_claims_figure_or_day_cannot_support_it():
    assert [f.kind for f in check_quantities("Vance held his third meeting", "Vance met Zelensky.")] == [
        QUANTITY_MISSING
    ]
    assert [f.kind for f in check_dates("They met on Thursday", "They met in Munich.")] == [DATE_MISSING]


def test_a_proper_adjective_is_not_the_thing_counted():
    # "133 Russian drones" counts drones, whoever's they are: no topic word list needed.
    assert [(q.value, q.unit) for q in extract_quantities("Russia fired 133 Russian-made drones")] != [(133, "russian")]
    assert [(q.value, q.unit) for q in extract_quantities("The army said 40 Iranian drones were shot down")] == [
        (40, "drone")
    ]
