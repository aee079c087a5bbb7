"""Deterministic synthetic news articles in the JSONL input format, for benchmarks.

    .venv/bin/python benchmarks/synthetic_corpus.py --sentences 20000 --seed 7 -o var/bench/corpus-20k.jsonl
    .venv/bin/python benchmarks/synthetic_corpus.py --articles 50 --seed 1          # to stdout

One JSON object a line, `{"id", "title", "url", "published", "text"}`, the fields
`scripts/build_index.py` reads; `text` is paragraphs of one to three sentences separated
by blank lines. Each article follows one story (a topic, a place, an organisation and
two or three people, named in full first and by surname after), and its sentences
(8 to 40 words, about 22 on average, as in wire copy) carry figures with units, money,
percentages, dates, weekdays and quotes, so BM25 and the checks have names and figures
to work on and the embedding sees sentence lengths like the real archive's.

The same seed and size always give the same bytes (one `random.Random(seed)` drives
everything; no set or dict iteration order is involved). Every sentence is unique within
a corpus, so a build embeds each exactly once and its throughput compares directly with
encoding the same texts. `--sentences N` aims at N sentences as `index.documents.sentences` splits
them (the test holds it to ±5%).

`make_claims` turns corpus sentences into claims an editor might send: shortened,
paraphrased with synonyms, some with a figure changed, and some about nothing in the
corpus, never verbatim.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path


def _listed(text: str, sep: str | None = None) -> tuple[str, ...]:
    """The items of `text`: separated by `sep`, else by ", " if it has any, else by spaces."""
    return tuple(text.split(sep or (", " if ", " in text else None)))


FIRST_NAMES = _listed(
    "Aisha Alan Alicia Amir Ana Andrei Anna Arjun Beatriz Ben Carla Carlos Chen Chloe Daniel Dara David "
    "Elena Emeka Emma Fatima Felix Gabriel Grace Hana Hassan Helen Hugo Ibrahim Ines Ivan Jakub James "
    "Jana Javier Joanna Jonas Julia Kamal Karen Kenji Laura Leila Liam Lina Lucas Maria Marek Marta Mateo "
    "Mei Miguel Mira Mohammed Nadia Naomi Nikos Nina Noah Olga Omar Oscar Pablo Paula Pedro Priya Rafael "
    "Rania Robert Rosa Ruth Samir Sara Sean Sofia Stefan Tariq Teresa Thomas Tomas Valeria Victor Yara "
    "Yusuf Zainab Zofia"
)
LAST_NAMES = _listed(
    "Abbott Adeyemi Alvarez Andersen Bakker Barros Becker Bianchi Brennan Carvalho Castillo Chowdhury "
    "Costa Dahl Delgado Dimitrov Dubois Eriksen Farouk Ferreira Fischer Fontaine Gallagher Garcia Greco "
    "Haddad Hansen Hartmann Hoffman Horvat Ibrahim Ivanova Jansen Jovanovic Kaplan Karimi Kato Keller "
    "Khan Kim Kowalski Kruger Larsen Laurent Lindqvist Lopez Lund Marino Markovic Mendes Meyer Moreau "
    "Morris Nakamura Navarro Nielsen Novak Nowak Okafor Oliveira Olsen Ortega Park Pereira Petrov Popescu "
    "Quinn Ramos Reyes Ricci Romero Rossi Russo Sadiq Santos Schmidt Schneider Silva Sokolov Stein Suzuki "
    "Tanaka Torres Usman Varga Vasquez Vogel Wagner Walsh Weber Wojcik Yilmaz Zhang Zimmermann"
)
CITIES = _listed(
    "Aldermoor, Ashford, Bellhaven, Brackwater, Calloway, Carrow, Dunmere, Eastwick, Elmsford, Fairhollow, "
    "Farrowgate, Glenport, Greyhaven, Halden, Harrowby, Hollins, Ironbridge, Kestrel Bay, Kingsmere, "
    "Larkfield, Lowden, Marsh End, Millbrook, Northbridge, Oakhurst, Pellworth, Port Ellery, Quarry Hill, "
    "Ravensholm, Redcliffe, Riverton, Saltmarsh, Sandown, Silverdale, Stonebury, Thornwick, Torrin, "
    "Upton Vale, Westmoor, Whitcombe, Wrenfield, Yarrow, Zennor",
)
COUNTRIES = _listed("Norland Estria Valdonia Karesia Ostmark Lusitra Bravania Corvia Sundar Pellonia Marevia Talland")
REGIONS = ("the northern province", "the coastal region", "the eastern districts", "the capital region", "the south")
ORG_KINDS = _listed(
    "Energy, Logistics, Water, Rail, Health Trust, Steelworks, Housing Association, Banking Group, Telecom, "
    "Shipping, Foods, Airways, Chemicals, Motors",
)
MINISTRIES = _listed(
    "Health, Finance, Transport, Defence, Education, Agriculture, the Interior, Energy, Labour, Housing"
)
OUTLETS = _listed(
    "the Morning Ledger, the Evening Courier, Radio Meridian, the Daily Standard, Channel Nine, the Weekly Observer, "
    "the national broadcaster",
)
ROLES = _listed(
    "spokesperson, chief executive, finance director, union leader, mayor, minister, deputy minister, chief economist, "
    "police commissioner, project manager, board chair, senior analyst, regional governor, opposition leader",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = _listed("January February March April May June July August September October November December")
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")

# One story each: what it is about, what is counted, what happens, what people say.
TOPICS = {
    "jobs": {
        "noun": ("restructuring plan", "plant closure", "round of layoffs", "hiring freeze", "pay offer"),
        "unit": ("jobs", "workers", "positions", "staff", "contract workers"),
        "action": ("would cut", "plans to shed", "has already laid off", "agreed to keep", "will move"),
        "event": ("a strike at the main plant", "a slump in orders", "the loss of a major contract"),
        "group": ("workers", "employees", "union members", "shift workers"),
        "adj": ("painful", "necessary", "reckless", "overdue", "unfair"),
    },
    "flood": {
        "noun": ("flood barrier", "river defence scheme", "evacuation order", "relief fund", "drainage project"),
        "unit": ("homes", "residents", "families", "properties", "businesses"),
        "action": ("evacuated", "rehoused", "compensated", "inspected", "cut off"),
        "event": ("three days of heavy rain", "the river bursting its banks", "a failed pumping station"),
        "group": ("residents", "farmers", "shop owners", "families"),
        "adj": ("inadequate", "urgent", "slow", "welcome", "overdue"),
    },
    "health": {
        "noun": ("vaccination campaign", "hospital expansion", "waiting list", "screening programme", "new ward"),
        "unit": ("patients", "beds", "nurses", "doctors", "operations"),
        "action": ("treated", "added", "recruited", "postponed", "transferred"),
        "event": ("a winter surge in admissions", "an outbreak of measles", "a shortage of nurses"),
        "group": ("patients", "nurses", "doctors", "parents"),
        "adj": ("stretched", "essential", "underfunded", "promising", "fragile"),
    },
    "transport": {
        "noun": ("rail line", "bus network", "airport expansion", "ring road", "ferry service"),
        "unit": ("passengers", "trains", "flights", "commuters", "buses"),
        "action": ("carried", "cancelled", "delayed", "added", "diverted"),
        "event": ("a signalling failure", "a drivers' strike", "a storm that closed the harbour"),
        "group": ("commuters", "travellers", "drivers", "residents"),
        "adj": ("unreliable", "ambitious", "costly", "long-awaited", "disruptive"),
    },
    "energy": {
        "noun": ("wind farm", "gas pipeline", "solar farm", "power station", "grid upgrade"),
        "unit": ("megawatts", "households", "turbines", "panels", "kilometres of cable"),
        "action": ("connected", "installed", "supplied", "switched off", "approved"),
        "event": ("a week of record demand", "a fault at the substation", "a cold snap"),
        "group": ("households", "customers", "engineers", "landowners"),
        "adj": ("cleaner", "expensive", "vital", "controversial", "delayed"),
    },
    "security": {
        "noun": ("air defence system", "border operation", "ceasefire", "drone attack", "military exercise"),
        "unit": ("drones", "missiles", "soldiers", "troops", "armoured vehicles"),
        "action": ("launched", "shot down", "deployed", "withdrew", "intercepted"),
        "event": ("an overnight attack on the capital", "a clash near the border", "a breakdown in talks"),
        "group": ("civilians", "soldiers", "residents", "diplomats"),
        "adj": ("fragile", "dangerous", "unprecedented", "limited", "credible"),
    },
    "budget": {
        "noun": ("budget", "tax reform", "spending review", "pension plan", "stimulus package"),
        "unit": ("taxpayers", "pensioners", "civil servants", "schools", "councils"),
        "action": ("would protect", "will reimburse", "could affect", "has exempted", "will fund"),
        "event": ("a sharp fall in tax receipts", "a downgrade of the country's credit rating", "rising debt costs"),
        "group": ("pensioners", "taxpayers", "economists", "lawmakers"),
        "adj": ("balanced", "austere", "irresponsible", "realistic", "generous"),
    },
    "election": {
        "noun": ("election", "referendum", "coalition deal", "recount", "party primary"),
        "unit": ("votes", "seats", "ballots", "polling stations", "candidates"),
        "action": ("won", "lost", "counted", "rejected", "disputed"),
        "event": ("a record turnout", "allegations of fraud", "the collapse of the coalition"),
        "group": ("voters", "candidates", "observers", "party members"),
        "adj": ("decisive", "narrow", "chaotic", "historic", "inconclusive"),
    },
    "housing": {
        "noun": ("housing scheme", "rent freeze", "building programme", "planning reform", "eviction ban"),
        "unit": ("homes", "flats", "tenants", "building permits", "families"),
        "action": ("built", "approved", "demolished", "sold", "renovated"),
        "event": ("a jump in interest rates", "a shortage of builders", "a court ruling on planning rules"),
        "group": ("tenants", "landlords", "first-time buyers", "builders"),
        "adj": ("affordable", "insufficient", "radical", "delayed", "popular"),
    },
    "trade": {
        "noun": ("trade agreement", "export ban", "tariff increase", "harbour expansion", "customs check"),
        "unit": ("tonnes of grain", "containers", "cars", "tonnes of steel", "shipments"),
        "action": ("exported", "imported", "held up", "shipped", "seized"),
        "event": ("new tariffs on steel", "a dispute over fishing rights", "a blockade of the harbour"),
        "group": ("exporters", "farmers", "manufacturers", "traders"),
        "adj": ("historic", "damaging", "long overdue", "lopsided", "cautious"),
    },
    "wildfire": {
        "noun": ("wildfire", "firebreak", "emergency response", "rebuilding plan", "fire season"),
        "unit": ("hectares", "firefighters", "homes", "aircraft", "villages"),
        "action": ("burned", "evacuated", "saved", "destroyed", "reached"),
        "event": ("weeks of drought", "strong winds overnight", "a heatwave across the region"),
        "group": ("firefighters", "villagers", "farmers", "volunteers"),
        "adj": ("devastating", "contained", "unpredictable", "the worst in decades", "slow"),
    },
    "courts": {
        "noun": ("trial", "appeal", "corruption inquiry", "court ruling", "investigation"),
        "unit": ("defendants", "witnesses", "charges", "documents", "officials"),
        "action": ("charged", "questioned", "released", "convicted", "cleared"),
        "event": ("a leak of internal documents", "a whistleblower's complaint", "a raid on the ministry"),
        "group": ("prosecutors", "lawyers", "officials", "judges"),
        "adj": ("unprecedented", "politically motivated", "overdue", "thorough", "flawed"),
    },
}

# Word pairs for paraphrasing claims; either side may stand for the other.
SYNONYMS = tuple(
    tuple(pair.split("/"))
    for pair in _listed(
        "said/stated, told/informed, would/will, cut/reduce, about/around, residents/locals, officials/authorities, "
        "plan/proposal, announced/unveiled, increase/rise, warned/cautioned, agreed/consented, expected/projected, "
        "cost/be priced at, homes/houses, workers/employees, began/started"
    )
)
_NUMBER_RE = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")


def _words(text: str) -> int:
    return len(text.split())


def _number(rng: random.Random, low: int = 2, high: int = 50_000) -> str:
    """A count as news writes it: small ones as words, large ones with thousands separators."""
    if rng.random() < 0.12:
        return rng.choice(NUMBER_WORDS)
    value = round(10 ** rng.uniform(len(str(low)) - 1, len(str(high)) - 1))
    value = max(low, min(high, value))
    if value < 10:
        return ("two", "three", "four", "five", "six", "seven", "eight", "nine")[max(0, value - 2)]
    if value > 1000 and rng.random() < 0.6:
        value = round(value, -1 if value < 10_000 else -2)
    return f"{value:,}"


def _money(rng: random.Random) -> str:
    amount = rng.choice((rng.randint(2, 950), round(rng.uniform(1.1, 99.9), 1)))
    scale = rng.choice(("million", "million", "billion", "thousand"))
    currency = rng.choice(("$", "€", "£"))
    return f"{currency}{amount} {scale}"


def _percent(rng: random.Random) -> str:
    value = rng.choice((rng.randint(2, 95), round(rng.uniform(0.2, 19.9), 1)))
    return f"{value} percent"


class _Story:
    """The cast and setting of one article, so its sentences talk about the same things."""

    def __init__(self, rng: random.Random, day: date):
        self.rng = rng
        self.day = day
        self.topic = rng.choice(tuple(TOPICS.values()))
        self.city = rng.choice(CITIES)
        self.country = rng.choice(COUNTRIES)
        self.org = self._organisation()
        self.other_org = self._organisation()
        self.people = [(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", rng.choice(ROLES)) for _ in range(3)]
        self.introduced: set[str] = set()

    def _organisation(self) -> str:
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:
            return f"the Ministry of {rng.choice(MINISTRIES)}"
        if kind == 1:
            return f"{rng.choice(CITIES)} {rng.choice(ORG_KINDS)}"
        if kind == 2:
            return f"the University of {rng.choice(CITIES)}"
        return f"the {rng.choice(('National', 'Regional', 'Independent'))} {rng.choice(ORG_KINDS)} Council"

    def person(self) -> str:
        """Full name and role at first mention, surname after (as in news copy)."""
        name, role = self.rng.choice(self.people)
        if name in self.introduced:
            return name.split()[-1]
        self.introduced.add(name)
        article = self.rng.choice(("the", "an" if role[0] in "aeiou" else "a"))
        return f"{name}, {article} {role} at {self.org},"

    def speaker(self) -> str:
        """A surname or an institution, for 'X said'."""
        if self.rng.random() < 0.7:
            name, _ = self.rng.choice(self.people)
            self.introduced.add(name)
            return name.split()[-1]
        return self.rng.choice((self.org, "officials", "a spokesperson", self.rng.choice(OUTLETS)))

    def pick(self, key: str) -> str:
        return self.rng.choice(self.topic[key])

    def place(self) -> str:
        return self.rng.choice((self.city, self.city, self.country, f"{self.rng.choice(REGIONS)} of {self.country}"))

    def when(self) -> str:
        rng = self.rng
        past = self.day - timedelta(days=rng.randint(1, 400))
        month, weekday = MONTHS[past.month - 1], rng.choice(WEEKDAYS)
        dated = (f"on {weekday}", f"on {month} {past.day}", f"in {month} {past.year}")
        return rng.choice((*dated, "in recent days", "over the weekend", "earlier this year", f"in {past.year}"))

    def future(self) -> str:
        rng = self.rng
        year, weekday, month = self.day.year + rng.randint(0, 3), rng.choice(WEEKDAYS), rng.choice(MONTHS)
        event = rng.choice(("summer", "winter", "election", "end of the year"))
        return rng.choice(
            (f"by the end of {year}", f"next {weekday}", f"in {month}", "within weeks", f"before the {event}")
        )

    def fill(self, template: str) -> str:
        rng = self.rng
        slots = {
            "person": self.person,
            "speaker": self.speaker,
            "org": lambda: self.org,
            "org2": lambda: self.other_org,
            "place": self.place,
            "city": lambda: self.city,
            "country": lambda: self.country,
            "outlet": lambda: rng.choice(OUTLETS),
            "when": self.when,
            "future": self.future,
            "weekday": lambda: rng.choice(WEEKDAYS),
            "month": lambda: rng.choice(MONTHS),
            "year": lambda: str(self.day.year - rng.randint(0, 12)),
            "n": lambda: _number(rng),
            "n2": lambda: _number(rng),
            "small": lambda: rng.choice(NUMBER_WORDS[:6]),
            "money": lambda: _money(rng),
            "pct": lambda: _percent(rng),
            **{key: functools.partial(self.pick, key) for key in ("noun", "unit", "action", "event", "group", "adj")},
            "quote": self.quote,
        }
        return re.sub(r"\{(\w+)\}", lambda m: slots[m.group(1)](), template)

    def quote(self) -> str:
        return self.fill(self.rng.choice(QUOTES))

    def headline(self) -> str:
        text = self.fill(self.rng.choice(HEADLINES))
        return text[0].upper() + text[1:]


HEADLINES = (
    "{org} says {n} {unit} affected by {noun}",
    "{city} braces for {adj} {noun}",
    "{noun} in {country} will cost {money}, officials say",
    "{n} {unit} hit as {event} continues",
    "{country} unveils {noun} after {event}",
    "Questions mount over {noun} in {city}",
)
QUOTES = (
    "We will not accept {unit} being treated this way",
    "This {noun} is {adj}, and everyone in {city} knows it",
    "Nobody expected {event} to last this long",
    "We have done everything we can for the {group}",
    "The numbers speak for themselves",
    "It is far too early to say what the {noun} will mean for {group}",
    "This is a {adj} day for {city}",
    "We need answers, not another {noun}",
    "I have never seen anything like it in {small} decades",
    "Our priority is the safety of {group}",
)
# Main clauses; `{clause}`-style continuations come from EXTENSIONS.
SENTENCES = (
    "{person} said {when} that {org} {action} {n} {unit} in {place}.",
    "{org} {action} {n} {unit} {when}, according to figures published by {org2}.",
    '"{quote}," {speaker} said.',
    '"{quote}," {speaker} told {outlet}.',
    '{speaker} described the {noun} as "{adj}" and said {n} {unit} were at risk.',
    "The {noun} in {place} is expected to cost {money} and take {small} years to complete.",
    "Officials said {n} {unit} had been affected {when}, up from {n2} a year earlier.",
    "A survey by {org2} found that {pct} of {group} in {country} opposed the {noun}.",
    "In {year}, {org} {action} {n} {unit}, its highest figure since records began.",
    "{person} declined to comment on the {noun} when asked by reporters {when}.",
    "The {noun} follows {event}, which left {n} {unit} without support in {place}.",
    "{speaker} warned that the {noun} could affect as many as {n} {unit} across {country}.",
    "{group} gathered outside the offices of {org} in {city} {when} to protest against the {noun}.",
    "{org} has set aside {money} for the {noun}, {pct} more than it had planned.",
    "{person} told {outlet} that the {noun} was {adj} and should be reviewed.",
    "The number of {unit} rose by {pct} to {n} {when}, the highest level in {small} years.",
    "Talks between {org} and {org2} ended {when} without agreement on the {noun}.",
    "{speaker} said the {noun} would go ahead {future} despite objections from {group}.",
    "Under the {noun}, {org} {action} {n} {unit} over the next {small} years.",
    "It was not immediately clear how many {unit} in {place} would be affected by the {noun}.",
    "{person} said {when} that the {noun} had been {adj} from the start and that {org} had ignored repeated "
    "warnings from {group} in {city} about {event}.",
    "Figures released by {org2} {when} showed that {n} {unit} had been affected since {month}, compared with "
    "{n2} in the same period of {year}.",
    "Speaking to {outlet} {when}, {speaker} said the {noun} would be reviewed {future} but gave no details.",
    "{org} said it expected {n} {unit} in {place} to benefit from the {noun} once it was completed {future}.",
    'Asked whether {org} would change course, {speaker} said: "{quote}."',
)
EXTENSIONS = (
    ", adding that {n} {unit} had already been affected",
    " after {event}",
    ", according to {outlet}",
    ", a rise of {pct} on the previous year",
    " despite warnings from {group} in {city}",
    ", calling the decision {adj}",
    " as {group} across {country} waited for news",
    ", though {org2} disputed the figures",
    ", and said a decision on the {noun} would follow {future}",
    ", at a cost of {money}",
    ", the second such announcement {when}",
    ", while {group} in {city} said they had not been consulted",
)


def _sentence(story: _Story, rng: random.Random) -> str:
    """One sentence of 8 to 40 words: a main clause, extended towards a target length."""
    target = max(8, min(40, int(rng.gauss(22, 7))))
    text = story.fill(rng.choice(SENTENCES))
    while _words(text) > 40:  # a long main clause with a first-mention name and role
        text = story.fill(rng.choice(SENTENCES))
    extensions = list(EXTENSIONS)
    rng.shuffle(extensions)
    # Quotes and clauses ending in a quote take no extension; others at most two.
    while extensions and text.endswith(".") and not text.endswith('"."') and len(extensions) > len(EXTENSIONS) - 2:
        if _words(text) >= target:
            break
        longer = text[:-1] + story.fill(extensions.pop()) + "."
        if _words(longer) > 40:
            break
        text = longer
    if _words(text) < 8:
        text = text[:-1] + story.fill(EXTENSIONS[1]) + "."
    return text[0].upper() + text[1:]


def generate(
    seed: int = 0, articles: int | None = None, sentences: int | None = None, start: date | None = None
) -> Iterator[dict]:
    """Article records; stops after `articles` articles or about `sentences` sentences (one is needed)."""
    for record, _ in _articles(seed, articles, sentences, start):
        yield record


def _articles(
    seed: int, articles: int | None, sentences: int | None, start: date | None = None
) -> Iterator[tuple[dict, list[str]]]:
    """(record, its sentences as generated)."""
    if (articles is None) == (sentences is None):
        raise ValueError("give exactly one of articles or sentences")
    rng = random.Random(seed)
    start = start or date(2025, 6, 30)
    seen: set[str] = set()
    made_articles = made_sentences = 0
    while (articles is not None and made_articles < articles) or (sentences is not None and made_sentences < sentences):
        day = start - timedelta(days=rng.randint(0, 6 * 365))
        story = _Story(rng, day)
        count = rng.randint(12, 40)
        if sentences is not None:
            count = min(count, sentences - made_sentences)
        body: list[str] = []
        while len(body) < count:
            text = _sentence(story, rng)
            if text not in seen:  # unique texts: a build embeds each sentence exactly once
                seen.add(text)
                body.append(text)
        paragraphs, i = [], 0
        while i < len(body):
            size = rng.choice((1, 2, 2, 3))
            paragraphs.append(" ".join(body[i : i + size]))
            i += size
        title = story.headline()
        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:60]
        made_articles += 1
        made_sentences += len(body)
        record = {
            "id": f"syn-{seed}-{made_articles:06d}",
            "title": title,
            "url": f"https://news.example.org/{day:%Y/%m/%d}/{slug}-{made_articles}",
            "published": day.isoformat(),
            "text": "\n\n".join(paragraphs),
        }
        yield record, body


DIMENSION = 384  # all-MiniLM-L6-v2's


def random_vector_articles(
    seed: int, prefix: str, sentences: int | None = None, articles: int | None = None
) -> Iterator:
    """`PreparedArticle`s of synthetic sentences (offsets into the article's text) with random unit
    vectors (seeded): an archive of any size without embedding it, for what costs the same
    whatever the vectors say (writes, joins, search cost). Nothing about quality follows."""
    import numpy as np

    from index.documents.articles import Article
    from index.documents.sentences import Sentence
    from index.storage.archive import PreparedArticle

    rng = np.random.default_rng(seed)
    for record, body in _articles(seed, articles, sentences):
        article_id = f"{prefix}-{record['id']}"
        text, at, spans = record["text"], 0, []
        for i, sentence in enumerate(body):
            start = text.index(sentence, at)
            at = start + len(sentence)
            spans.append(Sentence(article_id, i, start, at, sentence))
        vectors = rng.standard_normal((len(body), DIMENSION), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        article = Article(
            id=article_id, title=record["title"], body=text, url=record["url"], published=record["published"]
        )
        yield PreparedArticle(article, spans, vectors, [False] * len(body))


def write_jsonl(path: str | Path, records: Iterator[dict]) -> tuple[int, int]:
    """Write records one a line; returns (articles, bytes)."""
    count = size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            line = json.dumps(record, ensure_ascii=False) + "\n"
            fh.write(line)
            count += 1
            size += len(line.encode("utf-8"))
    return count, size


def _change_number(text: str, rng: random.Random) -> str:
    # Counts, money and percentages; not days of the month or years.
    numbers = [
        m
        for m in _NUMBER_RE.finditer(text)
        if not re.search(rf"(?:{'|'.join(MONTHS)}) $", text[: m.start()])
        and not re.fullmatch(r"(19|20)\d\d", m.group())
    ]
    if not numbers:
        return text
    match = rng.choice(numbers)
    value = float(match.group().replace(",", ""))
    changed = value * rng.choice((0.5, 2, 3, 0.25, 1.5)) + rng.randint(1, 9)
    new = f"{changed:,.1f}" if "." in match.group() else f"{round(changed):,}"
    return text[: match.start()] + new + text[match.end() :]


def _paraphrase(text: str, rng: random.Random) -> str:
    """The main clause (trailing clauses dropped), with some words swapped for synonyms."""
    text = text.rstrip(".")
    for marker in _CLAUSE_MARKERS:
        head = text.split(marker)[0]
        if len(head.split()) >= 6:
            text = head
    pairs = list(SYNONYMS)
    rng.shuffle(pairs)
    for a, b in pairs[:6]:
        old, new = (a, b) if rng.random() < 0.5 else (b, a)
        text, n = re.subn(rf"\b{re.escape(old)}\b", new, text, count=1)
        if n and rng.random() < 0.5:
            break
    first, _, rest = text.partition(" ")
    if rng.random() < 0.3 and first in {"The", "A", "Officials", "Talks", "Figures", "It"}:
        text = f"Reports say {first.lower()} {rest}"
    return text.strip(" ,") + ("" if text.endswith('"') else ".")


# Where a trailing clause starts (EXTENSIONS' openings), separated by "|"; the leading comma or space is part of each.
_CLAUSE_MARKERS = _listed(
    ", adding that|, according to|, though| despite|, a rise of|, at a cost|, while|, calling the|, the second such"
    "|, and said a decision| after ",
    sep="|",
)


def make_claims(sentences: Sequence[str], count: int, seed: int = 0) -> list[str]:
    """Claims drawn from `sentences`: 60% paraphrased, 25% paraphrased with a figure changed,
    15% about an article that does not exist (same generator, another seed); none verbatim."""
    rng = random.Random(seed)
    absent = [s for _, body in _articles(seed + 10_007, None, max(50, count)) for s in body]
    claims = []
    verbatim = set(sentences)
    while len(claims) < count:
        roll = rng.random()
        if roll < 0.15:
            claim = _paraphrase(rng.choice(absent), rng)
        else:
            claim = _paraphrase(rng.choice(sentences), rng)
            if roll < 0.40:
                claim = _change_number(claim, rng)
        if claim not in verbatim and len(claim.split()) >= 5:
            claims.append(claim)
    return claims


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--sentences", type=int, help="about this many sentences")
    size.add_argument("--articles", type=int, help="exactly this many articles")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", help="JSONL file to write (default: stdout)")
    args = parser.parse_args(argv)
    records = generate(seed=args.seed, articles=args.articles, sentences=args.sentences)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        articles, size_bytes = write_jsonl(args.out, records)
        print(f"wrote {articles} articles, {size_bytes:,} bytes to {args.out}", file=sys.stderr)
    else:
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
