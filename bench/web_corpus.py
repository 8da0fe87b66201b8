"""The web benchmark's corpus: RSS files of invented industry news, written here.

Article `i` of `n` belongs to source `i % sources` and was published `(i + u) / n` of the
span before `now` (`u` a random fraction), so every source's dates, and the corpus's,
spread evenly over the span. Each article is about one topic of the taxonomy, often two,
and is written from that topic's phrases with invented vendors, places and figures, so
that the shipped classifier tags it as production would and text search meets varied
words. About one article in 130 names Hikvision, for `?q=hikvision`.

Every event here is invented; agencies are generic ("the border agency"), vendors and
countries made up.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HIKVISION_SHARE = 0.0075
SECOND_TOPIC_SHARE = 0.5

# --- the slots every phrase draws on --------------------------------------------------------

VENDORS = [
    "Norvane", "Quillon Biometrics", "Sentral ID", "Arkwell Vision", "Tessiro", "Halden Secure",
    "Obrin Labs", "Veyra Identity", "Calloway Sensing", "Mirelle Technologies", "Dunmore Systems",
    "Pellisar", "Kovaro", "Brightgate ID", "Ostrel Imaging", "Lumaris", "Fenwick Trust",
    "Irisca", "Palmetra", "Voxentic", "Tarrow Digital", "Meridel", "Saskel Security", "Onyra",
]  # fmt: skip
AGENCIES = [
    "the border agency", "the interior ministry", "the home affairs department",
    "the national identity authority", "the civil aviation authority", "the customs service",
    "the immigration service", "the transport ministry", "the digital affairs ministry",
    "a state police force", "the metropolitan police", "the justice ministry",
]  # fmt: skip
PLACES = [
    "Kestria", "Valdora", "Norland", "Ostmark", "Carvenia", "Lusitra", "Bremara", "Tavoria",
    "the Baltic states", "a Gulf state", "West Africa", "Southeast Asia", "the Nordics",
    "Latin America", "Central Europe", "the Pacific islands", "East Africa", "the Caucasus",
]  # fmt: skip
AIRPORTS = [
    "a regional airport", "the capital's main hub", "Port Ilsen airport", "Marrow Field",
    "two island airports", "Velden International", "a low-cost carrier's home base",
]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
CURRENCIES = ["million euros", "million dollars", "million pounds", "billion yen"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        vendor=rng.choice(VENDORS),
        vendor2=rng.choice(VENDORS),
        agency=rng.choice(AGENCIES),
        place=rng.choice(PLACES),
        airport=rng.choice(AIRPORTS),
        month=rng.choice(MONTHS),
        n=rng.choice([3, 4, 6, 8, 12, 15, 20, 24, 40, 60, 120, 300]),
        money=f"{rng.randint(2, 480) / 10:g} {rng.choice(CURRENCIES)}",
        pct=rng.randint(2, 38),
    )


@dataclass(frozen=True)
class TopicPhrases:
    slug: str
    weight: float
    titles: tuple[str, ...]
    sentences: tuple[str, ...]


# The slugs of aggregator/data/taxonomy.toml; facial recognition weighs most, as in the
# field's own news, so that its filters have plenty to show.
TOPICS = [
    TopicPhrases("facial-recognition", 3.0, (
        "{vendor} face matching picked for {place} city cameras",
        "{agency} expands live facial recognition to {n} more sites",
        "Face search tool from {vendor} draws scrutiny in {place}",
        "Retailers in {place} trial facial recognition at store entrances",
        "{vendor} face verification algorithm cuts false matches by {pct} percent",
    ), (
        "The facial recognition system compares faces captured by cameras with a watchlist "
        "and alerts operators when the match score passes a threshold.",
        "{vendor} said its face matching engine now searches a gallery of {n} million images "
        "in under a second.",
        "Critics say live face recognition in public spaces scans every passer-by, not only "
        "suspects.",
        "The face verification step checks a selfie against the photo on the identity "
        "document.",
        "Operators will review every face match by hand before any action is taken.",
        "The rollout adds face recognition cameras at {n} entrances by {month}.",
    )),
    TopicPhrases("sanctions-trade", 1.0, (
        "{place} adds {n} surveillance vendors to its entity list",
        "Export controls tightened on camera modules bound for {place}",
        "{vendor} seeks removal from trade blacklist",
        "Sanctions on surveillance exports widened after review in {place}",
    ), (
        "The trade ministry added the companies to its entity list, so suppliers now need an "
        "export licence to ship them components.",
        "Officials cited the use of the firms' cameras in mass surveillance as the reason for "
        "the sanctions.",
        "The export control rule covers image sensors, GPU modules and face analytics software.",
        "Lawyers for the vendor said it would appeal the listing and that it had never sold "
        "to the agencies named.",
    )),
    TopicPhrases("airports-travel", 1.2, (
        "Biometric boarding goes live at {airport}",
        "{airport} adds self-service bag drop with face check",
        "Airline rolls out seamless travel pass with {vendor}",
        "Passenger processing times fall {pct} percent at {airport}",
    ), (
        "Passengers enrol once at check-in and then pass security and boarding gates without "
        "showing a boarding pass.",
        "The airport expects {n} million passengers this year and says queues at security "
        "have shortened.",
        "The airline said the biometric boarding option is voluntary and images are deleted "
        "after departure.",
        "Touchless kiosks for bag drop and boarding were installed at {n} gates.",
    )),
    TopicPhrases("border-control", 1.2, (
        "{agency} installs {n} e-gates at land crossings",
        "Entry/exit system delayed again in {place}",
        "{place} border checks to capture fingerprints of visa holders",
        "Visa applicants in {place} to enrol biometrics at new centres",
    ), (
        "Travellers from outside the region will register fingerprints and a facial image at "
        "the border on their first entry.",
        "The e-gates read the passport chip and compare the holder's face with the stored "
        "photo.",
        "Immigration officers say the new entry/exit system will replace passport stamps.",
        "Customs and border staff at {n} crossings received new document readers.",
    )),
    TopicPhrases("digital-id", 1.4, (
        "{place} launches digital identity wallet for residents",
        "Mobile driving licence pilot extended to {n} regions",
        "National ID card enrolment reaches {n} million in {place}",
        "{vendor} wins role in {place} digital ID scheme",
    ), (
        "The digital identity wallet stores a verified credential that residents can present "
        "to banks and public services.",
        "Citizens can add the mobile driver's licence to their phone after an in-person check.",
        "The national ID scheme issues a card with a chip holding the holder's photo and "
        "fingerprints.",
        "Relying parties will be able to request only the attributes they need, such as proof "
        "of age.",
    )),
    TopicPhrases("liveness-fraud", 1.2, (
        "Deepfake attacks on remote onboarding rise {pct} percent",
        "{vendor} liveness detection passes presentation attack tests",
        "Injection attacks target selfie checks at banks in {place}",
        "Identity fraud ring used synthetic faces, prosecutors say",
    ), (
        "The liveness check asks users to turn their head so that printed photos and masks "
        "are rejected.",
        "Fraudsters injected prerecorded video into the camera stream to defeat the selfie "
        "check.",
        "{vendor} said its passive liveness detection flagged {n} thousand spoof attempts last "
        "quarter.",
        "Synthetic identities built from stolen data and generated faces are the fastest "
        "growing kind of account fraud.",
    )),
    TopicPhrases("law-enforcement", 1.0, (
        "Police in {place} expand fingerprint database access",
        "{agency} buys mobile fingerprint scanners for patrols",
        "Forensic lab clears backlog with automated matching",
        "Surveillance camera network in {place} to be reviewed",
    ), (
        "Officers will use handheld scanners to check fingerprints against the criminal records "
        "database during stops.",
        "The forensics unit said automated matching identified suspects in {n} cold cases.",
        "Civil liberties groups asked the police to publish how often the system is used.",
        "Investigators searched the custody image database for matches.",
    )),
    TopicPhrases("privacy-regulation", 1.2, (
        "Regulator fines {vendor} over biometric data retention",
        "{place} court limits use of biometric data by employers",
        "Data protection authority opens consultation on face data",
        "Lawmakers in {place} vote to restrict biometric surveillance",
    ), (
        "The data protection authority said the company kept fingerprints for years after "
        "staff had left.",
        "The law requires explicit consent before biometric data is collected and sets a "
        "retention limit.",
        "The court ruled that the processing had no legal basis and ordered the data deleted.",
        "The consultation on the draft rules closes in {month}.",
    )),
    TopicPhrases("devices-sensors", 1.0, (
        "{vendor} unveils under-display fingerprint sensor",
        "Iris scanner shipments up {pct} percent, says {vendor}",
        "Palm vein reader from {vendor} targets access control",
        "Biometric smart card enters mass production",
    ), (
        "The fingerprint sensor fits under the display and reads a finger in a fraction of a "
        "second.",
        "The iris camera works at up to a metre and in low light.",
        "The biometric smart card stores the fingerprint template on the card itself.",
        "{vendor} said demand for palm and voice modules came mostly from access control.",
    )),
    TopicPhrases("payments-finance", 1.0, (
        "Bank in {place} lets customers pay with a palm scan",
        "{vendor} selfie KYC adopted by {n} lenders",
        "Card network pilots biometric payment cards in {place}",
        "Fintech onboarding times cut with document and face checks",
    ), (
        "Customers register their palm once and then pay at the till without a card or phone.",
        "The bank uses a selfie and an ID document check to open accounts remotely under KYC "
        "rules.",
        "The biometric payment card carries a fingerprint sensor that approves contactless "
        "payments above the limit.",
        "Fintech firms say remote onboarding now completes in under {n} minutes.",
    )),
    TopicPhrases("business-markets", 1.0, (
        "{vendor} raises {money} in funding round",
        "{vendor} to acquire {vendor2} in all-share deal",
        "{vendor} revenue up {pct} percent on identity demand",
        "Biometrics market forecast to grow {pct} percent a year",
    ), (
        "The funding round was led by a growth investor and values the company at {money}.",
        "The acquisition adds document verification to the buyer's identity platform.",
        "Quarterly revenue rose to {money}, with shares up {pct} percent after the results.",
        "Analysts expect the market for identity verification to keep growing through the "
        "decade.",
    )),
    TopicPhrases("government-contracts", 1.0, (
        "{agency} awards {money} biometrics contract to {vendor}",
        "Tender opens for national fingerprint system in {place}",
        "{vendor} wins procurement for passport production",
        "Contract for border kiosks goes to {vendor}",
    ), (
        "The contract runs for {n} years with an option to extend, according to the tender "
        "notice.",
        "The procurement attracted {n} bids and was awarded on price and quality.",
        "The agency said the framework contract covers supply, installation and maintenance.",
        "Bidders have until {month} to submit offers under the public tender.",
    )),
    TopicPhrases("research-standards", 0.8, (
        "{vendor} algorithm ranks high in NIST face evaluation",
        "New ISO/IEC standard for presentation attack detection published",
        "Researchers measure demographic differentials in {n} algorithms",
        "{vendor} achieves certification for its liveness test",
    ), (
        "The evaluation measured false match and false non-match rates across {n} algorithms.",
        "The ISO/IEC standard sets out how to test presentation attack detection.",
        "University researchers published a data set of {n} thousand images for testing.",
        "The certification followed independent testing by an accredited lab.",
    )),
]  # fmt: skip

HIKVISION_SENTENCES = [
    "The cameras were supplied by Hikvision, whose products several governments restrict.",
    "Hikvision said the units sold in {place} meet local data rules.",
    "The list also names Hikvision, which has appealed similar decisions before.",
    "A review found Hikvision equipment at {n} public buildings.",
]
CLOSING_SENTENCES = [
    "A spokesperson declined to comment on the cost.",
    "The company did not say how many people are enrolled.",
    "Further details are expected in {month}.",
    "Unions and campaign groups said they would follow the project closely.",
    "The project follows a pilot that ran for {n} months.",
    "",
]  # fmt: skip

_WEIGHTS = [t.weight for t in TOPICS]


@dataclass(frozen=True)
class Item:
    number: int
    title: str
    summary: str
    published: datetime


def article(number: int, total: int, now: datetime, span: timedelta) -> Item:
    """Article `number` of `total`: the same text and date for the same arguments."""
    rng = random.Random(number * 7_919 + 17)
    first = rng.choices(TOPICS, _WEIGHTS)[0]
    topics = [first]
    if rng.random() < SECOND_TOPIC_SHARE:
        second = rng.choices(TOPICS, _WEIGHTS)[0]
        if second is not first:
            topics.append(second)
    title = _fill(rng.choice(first.titles), rng)
    title = title[0].upper() + title[1:]
    sentences = [_fill(s, rng) for t in topics for s in rng.sample(t.sentences, 2)]
    if rng.random() < HIKVISION_SHARE:
        sentences.insert(1, _fill(rng.choice(HIKVISION_SENTENCES), rng))
    sentences.append(_fill(rng.choice(CLOSING_SENTENCES), rng))
    published = now - span * ((number + rng.random()) / total)
    return Item(number, title, " ".join(s for s in sentences if s), published)


def source_items(source: int, sources: int, total: int, now: datetime,
                 span: timedelta) -> Iterator[Item]:  # fmt: skip
    """The articles of `source`, newest first."""
    for number in range(source, total, sources):
        yield article(number, total, now, span)


def _host(source: int) -> str:
    return f"wire{source}.example.org"


def feed_document(source: int, items: Iterator[Item]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(item.title)}</title>"
        f"<link>https://{_host(source)}/{item.published:%Y/%m}/story-{item.number}</link>"
        f'<guid isPermaLink="false">bench-web-{item.number}</guid>'
        f"<pubDate>{format_datetime(item.published)}</pubDate>"
        f"<description>{escape(f'<p>{escape(item.summary)}</p>')}</description></item>\n"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Identity wire {source}</title><link>https://{_host(source)}/</link>"
        f"<description>Invented biometrics and digital identity news</description>\n"
        f"{entries}</channel></rss>\n"
    ).encode()


def write_feeds(directory: Path, sources: int, total: int, now: datetime,
                span: timedelta) -> list[Path]:  # fmt: skip
    """Write `sources` RSS files holding `total` articles between them; returns their paths
    (`<source>.xml`)."""
    paths = []
    for source in range(sources):
        path = directory / f"{source}.xml"
        path.write_bytes(feed_document(source, source_items(source, sources, total, now, span)))
        paths.append(path)
    return paths


def opml_document(urls: list[str]) -> str:
    outlines = "".join(
        f'<outline type="rss" text="Identity wire {n}" xmlUrl={quoteattr(url)}/>\n'
        for n, url in enumerate(urls)
    )
    return f'<?xml version="1.0"?>\n<opml version="2.0"><head/><body>\n{outlines}</body></opml>\n'
