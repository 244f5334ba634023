"""What the demo's tickets say: one small script per scenario, so that each conversation reads as one
exchange.

A scenario is one customer problem (a late parcel, a torn seam, an app error with no code) with its
subjects, and its public messages in the order they are written: the customer's opening, then the
agent and the customer taking turns (``Step``). A ticket is a stretch of its scenario's script from
the opening: it stops at a step that fits the ticket's status (a solved ticket stops at an agent's
step that solves it, a pending one at a question to the customer, an open one where the agent's
answer is awaited), and internal notes go in where the step before them makes them true. Each
step's texts are alternatives for the same moment; placeholders ({product}, {order}, {carrier},
{days}) are filled per ticket, with a product that fits the scenario.

Each step says which facts it states (``says``) and which facts must have been stated before it
(``needs``), or must not have been (``unless``): "thank you for the photos" needs the customer's
photos; "could you reinstall the app" is never written after the customer said they reinstalled it.
``tests/demo/test_scenarios.py`` walks every scenario with many seeds and checks them, and checks
every agent reply against the demo protocol's etiquette (greeting, the customer's name, closing,
empathy when the customer is upset) and every customer message against its contingencies: only
the openings of the scenarios that declare one (``Scenario.contingency``: a stove that burned a
hand, a customer who calls the tracking useless) call for a plan, and the load puts those tickets
under it with its actions, as the desk would.

Pure: no Django, no database; the generator in ``tickets.py`` calls ``conversation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

CUSTOMER, AGENT = "c", "a"

# The statuses a ticket may be left in when a step is the last public message.
OPEN, PENDING, ON_HOLD, SOLVED = "open", "pending", "on_hold", "solved"


@dataclass(frozen=True, slots=True)
class Step:
    """One public message of a script: who writes it, the texts it may have (alternatives for the
    same moment), the facts it states and needs, where a ticket may stop after it (``ends``: the
    statuses; a customer's step leaves the ticket open, waiting for the agent) and the internal
    notes that may follow it. ``asks``: an agent's step that waits for the customer (sent with the
    status pending)."""

    by: str
    texts: tuple[str, ...]
    says: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    ends: frozenset[str] = frozenset()
    asks: bool = False
    notes: tuple[str, ...] = ()


def customer(*texts: str, says=(), needs=(), unless=(), notes=()) -> Step:
    return Step(
        CUSTOMER, texts, frozenset(says), frozenset(needs), frozenset(unless), frozenset({OPEN}), False, notes
    )


def agent(*texts: str, says=(), needs=(), unless=(), ends=(), asks=False, notes=()) -> Step:
    return Step(
        AGENT, texts, frozenset(says), frozenset(needs), frozenset(unless), frozenset(ends), asks, notes
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    """One customer problem: ``tags`` the ticket carries, ``weight`` how often it comes up,
    ``topic`` words every subject and opening of it use (and its siblings' subjects do not),
    ``products`` that fit it, ``steps[0]`` the customer's opening, ``notes`` that fit anywhere
    after the opening, ``priorities`` the weights of the priorities its tickets come in with (none:
    the demo's usual spread). ``contingency``: the protocol's contingency the opening's words call for
    (the desk puts a ticket the customer opened under it, and carries out its actions, at once);
    the agent's steps then follow that contingency's plan."""

    id: str
    tags: tuple[str, ...]
    weight: int
    topic: tuple[str, ...]
    subjects: tuple[str, ...]
    products: tuple[str, ...]
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    contingency: str = ""
    priorities: tuple[tuple[str, int], ...] = ()
    stops: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False)
    notes_after: list[tuple[str, ...]] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        # Where a ticket of each status may stop: indexes of steps. "new": the opening alone. A
        # status the script has no stop for (on hold, for a problem no third party is part of) is
        # never given to its tickets.
        stops: dict[str, list[int]] = {"new": [0]}
        agent_before = False
        for index, step in enumerate(self.steps):
            if step.by == AGENT:
                for status in step.ends:
                    stops.setdefault(status, []).append(index)
                agent_before = True
            elif agent_before:
                stops.setdefault(OPEN, []).append(index)
        if not stops.get(SOLVED) or not stops.get(OPEN):
            raise ValueError(f"scenario {self.id}: a script must have a step that solves it, and an answer")
        self.stops.update({k: tuple(v) for k, v in stops.items()})
        # A ticket an agent opened after a phone call may stop open anywhere: the record answers too.
        self.stops[PHONE_OPEN] = tuple(range(1, len(self.steps)))
        # The notes true after each step: its own or the nearest earlier step's, and the scenario's.
        own: tuple[str, ...] = ()
        for step in self.steps:
            own = step.notes or own
            self.notes_after.append(own + self.notes or (FALLBACK_NOTE,))


PHONE_OPEN = "open by phone"
FALLBACK_NOTE = "Looked the customer's order history up; nothing unusual."

# A customer's second message before anyone answered (a new ticket): it fits any opening.
CHASERS = (
    "Any news on this? I have not heard back yet.",
    "Just checking that my message arrived. Could someone have a look?",
)
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
GREETINGS = ("Hi", "Hello")
CLOSINGS = ("Best regards,", "Kind regards,", "Thanks,")

TENTS = ("Ridgeline 2 tent", "Basecamp 4 tent")
# Products each scenario's words fit ("it", "the zip of"): no pair of boots where a text says "it".
SHELLS = ("Cascade rain shell", "Alpine down jacket", "Ridgeline 2 tent")
CLOTHING = ("Alpine down jacket", "Cascade rain shell", "Polar fleece hoodie")
WARM = ("Nomad sleeping bag", "Alpine down jacket", "Ridgeline 2 tent")
ZIPPED = ("Summit 45L backpack", "Alpine down jacket", "Nomad sleeping bag", "Canyon daypack")
SOLED = ("Trailblazer hiking boots", "Switchback trail runners")
PAIRED = ("Meridian GPS watch", "Horizon headlamp", "Aurora solar lantern")
ANY = (
    "Ridgeline 2 tent",
    "Summit 45L backpack",
    "Trailblazer hiking boots",
    "Alpine down jacket",
    "Cascade rain shell",
    "Basecamp stove",
    "Nomad sleeping bag",
    "Trekker poles",
    "Glacier water bottle",
    "Horizon headlamp",
    "Switchback trail runners",
    "Canyon daypack",
    "Polar fleece hoodie",
    "Timberline camp chair",
    "Drift inflatable kayak",
    "Aurora solar lantern",
    "Meridian GPS watch",
    "Tundra insulated mug",
)
FRAGILE = (
    "Basecamp stove",
    "Timberline camp chair",
    "Trekker poles",
    "Aurora solar lantern",
    "Ridgeline 2 tent",
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "late-parcel",
        ("shipping",),
        22,
        ("order", "arrived", "tracking"),
        (
            "Where is my order {order}?",
            "Order {order} has not arrived",
            "Tracking for order {order} has not moved in {days} days",
        ),
        ANY,
        (
            customer(
                "Hello, I ordered the {product} two weeks ago (order {order}) and it still has not arrived. "
                "The {carrier} tracking page has not changed for {days} days. Can you check?",
                "Hi, my order {order} with the {product} was supposed to arrive on Friday. {carrier} "
                "tracking says it is in transit, but nothing has changed for {days} days. I need it for a "
                "trip next weekend.",
                says=["late"],
            ),
            agent(
                "I looked up order {order}: the parcel left our warehouse on time and is with {carrier}, "
                "but it has not been scanned for {days} days. I have opened a trace with them and will "
                "write again within two business days.",
                says=["trace"],
                ends=[ON_HOLD, OPEN],
                notes=(
                    "Carrier trace opened with {carrier}, reference TR-{order}.",
                    "No scan for {days} days: a trace is the next step of the where-is-my-order procedure.",
                ),
            ),
            customer(
                "Thanks for checking. The tracking still says in transit this morning.",
                "Thank you. Please let me know as soon as you hear from {carrier}; the trip is on Saturday.",
                "I am getting frustrated: the trip is on Saturday and the tracking has still not changed.",
                needs=["trace"],
            ),
            agent(
                "I am sorry for the wait. {carrier} answered the trace: the parcel went to the wrong depot. "
                "To be sure you have it before Saturday, I have sent a replacement {product} by express "
                "shipping at no cost to you. Could you let me know when it arrives?",
                "Sorry this is taking so long. {carrier} found the parcel at the wrong depot, and rather "
                "than wait I have sent you a replacement {product} by express shipping, free of charge. "
                "Could you tell me when it arrives?",
                says=["replacement"],
                needs=["trace"],
                ends=[PENDING, SOLVED],
                asks=True,
                notes=("Replacement for order {order} sent express; the first parcel will come back to us.",),
            ),
            customer(
                "It arrived today, thank you for the help!",
                "The replacement came this morning. Thanks a lot.",
                says=["arrived"],
                needs=["replacement"],
            ),
            agent(
                "Great to hear the {product} reached you in time. If {carrier} delivers the first parcel as "
                "well, you can refuse it and it will come back to us. Enjoy the trip!",
                needs=["arrived"],
                ends=[SOLVED],
            ),
        ),
        notes=("Order {order} looked up: shipped on time with {carrier}.",),
        priorities=(("low", 5), ("normal", 50), ("high", 30), ("urgent", 15)),
    ),
    Scenario(
        "damaged-item",
        ("damaged",),
        8,
        ("damaged", "broken", "arrived"),
        ("{product} arrived damaged", "Broken {product} in order {order}"),
        FRAGILE,
        (
            customer(
                "Hi, the {product} from order {order} arrived damaged: one part is cracked and the box was "
                "dented on one corner. What can you do?",
                "Hello, my {product} arrived broken. The box looked like it had been dropped. Order {order}.",
                says=["damage"],
            ),
            agent(
                "I am sorry the {product} arrived like that. Could you send one photo of the damage and one "
                "of the box? Then I can send a replacement straight away.",
                "I am sorry your {product} arrived damaged. Could you reply with a photo of the damage and "
                "one of the box it came in? As soon as I have them I will send a replacement.",
                says=["photos-asked"],
                ends=[PENDING],
                asks=True,
                notes=("Order {order} delivered by {carrier}; delivery date noted for the claim.",),
            ),
            customer(
                "I have attached a photo of the damage and one of the box.",
                "Here are the two photos: the cracked part and the dented corner of the box.",
                says=["photos"],
                needs=["photos-asked"],
                notes=("Photos received; the damage is clearly from transport.",),
            ),
            agent(
                "Thank you for the photos. A replacement {product} is on its way; you do not need to send "
                "the damaged one back.",
                "Thanks for the photos, they show the damage clearly. I have sent a replacement {product} "
                "today; please keep or recycle the damaged one.",
                says=["replacement"],
                needs=["photos"],
                ends=[SOLVED, OPEN],
                notes=("Tagged {carrier} for a damage claim, as the damaged-item procedure says.",),
            ),
            customer(
                "The replacement arrived and it is perfect. Thank you!",
                "Got the new one today, all good. Thanks for sorting it out so quickly.",
                says=["arrived"],
                needs=["replacement"],
            ),
            agent(
                "Glad to hear the new {product} is in one piece. Enjoy it!",
                needs=["arrived"],
                ends=[SOLVED],
            ),
        ),
        priorities=(("low", 5), ("normal", 55), ("high", 30), ("urgent", 10)),
    ),
    Scenario(
        "return-unused",
        ("returns",),
        9,
        ("return",),
        ("Return the {product}", "How do I return order {order}?"),
        ANY,
        (
            customer(
                "Hi, the {product} is not quite what I hoped for and I would like to return it. It is "
                "unused and in the original packaging. Order {order}.",
                "Hello, how do I return the {product} from order {order}? I have not used it.",
                says=["return-asked"],
            ),
            agent(
                "Of course. I have emailed you a prepaid {carrier} return label. Once the parcel reaches us "
                "we refund you within five business days.",
                says=["label"],
                ends=[PENDING, OPEN],
                notes=(
                    "Within the 30-day window; item unused per the customer.",
                    "Return label RL-{order} issued.",
                ),
            ),
            customer(
                "I printed the label and dropped the parcel off at {carrier} today.",
                "Thanks, the parcel is on its way back to you.",
                says=["sent-back"],
                needs=["label"],
            ),
            agent(
                "Thank you for sending it back. I will write as soon as the parcel reaches our warehouse.",
                needs=["sent-back"],
                ends=[ON_HOLD],
                notes=("Waiting for return RL-{order} to reach the warehouse.",),
            ),
            agent(
                "Your return of order {order} has arrived and the refund is on its way. It can take up to "
                "five business days to show on your statement.",
                says=["refunded"],
                needs=["sent-back"],
                ends=[SOLVED],
            ),
            customer("Great, thank you.", "I can see the refund now, thanks.", needs=["refunded"]),
            agent("You are welcome. I hope the next trip goes well!", needs=["refunded"], ends=[SOLVED]),
        ),
        priorities=(("low", 30), ("normal", 60), ("high", 10)),
    ),
    Scenario(
        "exchange-size",
        ("returns",),
        5,
        ("size", "exchange"),
        ("Exchange the {product} for another size", "Wrong size: exchange order {order}"),
        CLOTHING,
        (
            customer(
                "Hello, can I exchange the {product} for the next size up? It is a little tight. Order "
                "{order}.",
                "Hi, the {product} from order {order} is too small. Could I exchange it for a bigger size?",
                says=["exchange-asked"],
            ),
            agent(
                "Yes, happily. I have reserved the next size up for you and emailed a prepaid {carrier} "
                "label for the one you have. We send the new size as soon as the parcel is scanned.",
                says=["label"],
                ends=[PENDING, OPEN],
                notes=("Next size up reserved against order {order}.",),
            ),
            customer(
                "Thanks! I dropped it off at {carrier} this afternoon.",
                "Done, the parcel is with {carrier} now.",
                says=["sent-back"],
                needs=["label"],
            ),
            agent(
                "{carrier} has scanned your parcel, so the new size is on its way to you today.",
                says=["new-size-sent"],
                needs=["sent-back"],
                ends=[SOLVED, PENDING],
            ),
            customer("The new one fits perfectly, thank you.", needs=["new-size-sent"], says=["fits"]),
            agent("Great, enjoy the {product}!", needs=["fits"], ends=[SOLVED]),
        ),
        priorities=(("low", 30), ("normal", 65), ("high", 5)),
    ),
    Scenario(
        "charged-twice",
        ("refund",),
        5,
        ("charged", "charge"),
        ("Charged twice for order {order}", "Double charge on order {order}"),
        ANY,
        (
            customer(
                "Hello, I was charged twice for order {order}. Please refund the second charge.",
                "Hi, my bank statement shows two charges for order {order} but I only placed it once.",
                says=["double"],
            ),
            agent(
                "I can see the duplicate charge on order {order} and have refunded it. It can take up to "
                "five business days to show on your statement.",
                says=["refunded"],
                ends=[SOLVED, PENDING],
                notes=(
                    "Duplicate payment confirmed in the ledger.",
                    "Refund under 50 USD, approved automatically.",
                ),
            ),
            customer(
                "Thanks. It has been five days and I still only see the charge.",
                "Thank you, but the refund has not shown up yet.",
                needs=["refunded"],
                says=["not-seen"],
            ),
            agent(
                "I understand; I checked with our payments team and the refund left us on the day I wrote. "
                "Banks take a few more days at times. Could you check again on Monday and tell me if it is "
                "still missing?",
                needs=["not-seen"],
                ends=[PENDING],
                asks=True,
            ),
            customer(
                "It is there now, thanks.",
                "The refund showed up this morning.",
                says=["seen"],
                needs=["refunded"],
            ),
            agent("Thank you for letting me know, and sorry for the worry.", needs=["seen"], ends=[SOLVED]),
        ),
        priorities=(("normal", 50), ("high", 40), ("urgent", 10)),
    ),
    Scenario(
        "refund-after-return",
        ("refund",),
        3,
        ("refund",),
        ("Refund for my return", "No refund yet for order {order}"),
        ANY,
        (
            customer(
                "Hi, I returned the {product} two weeks ago and have not seen the refund yet. Order {order}.",
                "Hello, where is my refund for the {product}? I sent it back with {carrier} on the 3rd. "
                "Order {order}.",
                says=["returned"],
            ),
            agent(
                "I checked: your return reached us yesterday and is being inspected. I will write once the "
                "refund is issued.",
                says=["received"],
                ends=[ON_HOLD, OPEN],
                notes=("Return for order {order} in inspection.",),
            ),
            agent(
                "Your refund for the {product} was issued today. It can take up to five business days to "
                "show on your statement.",
                says=["refunded"],
                needs=["received"],
                ends=[SOLVED],
            ),
            customer("I can see the refund on my statement now, thanks.", needs=["refunded"]),
            agent("Great, thank you for confirming.", needs=["refunded"], ends=[SOLVED]),
        ),
        priorities=(("low", 10), ("normal", 60), ("high", 30)),
    ),
    Scenario(
        "app-error-401",
        ("app",),
        4,
        ("E-401",),
        ("The Acme app shows error E-401", "Error E-401 in the Acme app"),
        PAIRED,
        (
            customer(
                "Hi, the Acme app stopped syncing my trips with the {product}. It shows error E-401.",
                "Hello, since yesterday the app says E-401 every time I try to sync my {product}.",
                says=["code-401"],
            ),
            agent(
                "Error E-401 means the app's sign-in has expired. Please sign out of the Acme app and sign "
                "in again; that clears it in most cases. Could you let me know if it syncs afterwards?",
                says=["sign-out-asked"],
                ends=[PENDING],
                asks=True,
                notes=("Walked the app-wont-sync tree: E-401, sign out and in.",),
            ),
            customer(
                "Signing out and in again fixed it, thanks!",
                "That worked, my trips are syncing again.",
                says=["fixed"],
                needs=["sign-out-asked"],
            ),
            agent("Thank you for letting me know. Happy trails!", needs=["fixed"], ends=[SOLVED]),
        ),
        priorities=(("low", 10), ("normal", 60), ("high", 25), ("urgent", 5)),
    ),
    Scenario(
        "app-no-code",
        ("app",),
        4,
        ("pair", "sync"),
        ("Cannot pair my {product}", "The app will not sync with my {product}"),
        PAIRED,
        (
            customer(
                "Hello, the app keeps spinning when I try to pair the {product}. There is no error code.",
                "Hi, my {product} will not sync with the Acme app any more. It shows no error, it just "
                "never finishes.",
                says=["no-code"],
            ),
            agent(
                "Could you reinstall the Acme app and try to pair the {product} once more? That clears a "
                "stuck connection in most cases.",
                says=["reinstall-asked"],
                unless=["reinstalled"],
                ends=[PENDING],
                asks=True,
                notes=("Walked the app-wont-sync tree: no code, reinstall the app.",),
            ),
            customer(
                "I reinstalled the app but it still fails.",
                "I did reinstall it, and it still spins forever.",
                says=["reinstalled"],
                needs=["reinstall-asked"],
            ),
            agent(
                "Thank you for trying that. Which version of the app do you have, and which phone? You find "
                "the version under Settings, About.",
                needs=["reinstalled"],
                unless=["versions-given"],
                ends=[PENDING],
                asks=True,
            ),
            customer(
                "App 4.2.1 on a Pixel 8 with Android 14.",
                "It is version 4.2.1, on an iPhone 13 with the latest update.",
                says=["versions-given"],
                needs=["reinstalled"],
                notes=("App version 4.2.1: the pairing fault the app team fixed in 4.2.2.",),
            ),
            agent(
                "Thank you. Our app team knows of a pairing fault in version 4.2.1 and fixed it in 4.2.2, "
                "out today. Please update the app and pair the {product} again.",
                says=["update-asked"],
                needs=["versions-given"],
                ends=[PENDING, SOLVED],
                asks=True,
            ),
            customer("With 4.2.2 it paired at once. Thanks!", says=["fixed"], needs=["update-asked"]),
            agent("Great, thank you for your patience with this one.", needs=["fixed"], ends=[SOLVED]),
        ),
        priorities=(("low", 10), ("normal", 60), ("high", 25), ("urgent", 5)),
    ),
    Scenario(
        "care-reproof",
        ("product",),
        7,
        ("re-proof", "proofing", "water"),
        ("How do I re-proof my {product}?", "The {product} is not waterproof any more"),
        SHELLS,
        (
            customer(
                "Hi, what is the best way to clean and re-proof the {product}? The water no longer beads.",
                "Hello, my {product} lets water through after two seasons. Can I re-proof it myself?",
                says=["reproof-asked"],
            ),
            agent(
                "Yes: wash the {product} on a gentle cycle with a technical cleaner, then apply a spray-on "
                "proofer while it is still damp and let it dry in the air.",
                says=["reproof-told"],
                ends=[SOLVED, OPEN],
                notes=("Sent the care guide link.",),
            ),
            customer(
                "Thanks, that is very helpful. One more question: can it go in the dryer?",
                "Thank you! Can I tumble dry it afterwards?",
                says=["dryer-asked"],
                needs=["reproof-told"],
            ),
            agent(
                "A short, low-heat tumble dry after proofing is fine and actually helps the proofer bond. "
                "Avoid high heat.",
                needs=["dryer-asked"],
                ends=[SOLVED],
            ),
            customer("Perfect, the water beads again. Thanks!", needs=["reproof-told"]),
            agent("Good to hear. Enjoy the dry days out!", ends=[SOLVED]),
        ),
        priorities=(("low", 45), ("normal", 50), ("high", 5)),
    ),
    Scenario(
        "sizing",
        ("product",),
        5,
        ("size", "sizes", "sizing"),
        ("Sizing question about the {product}", "Which size of the {product}?"),
        CLOTHING,
        (
            customer(
                "Hello, I am between sizes for the {product}. Which one would you recommend?",
                "Hi, I usually wear a medium but the reviews say the {product} runs small. Which size "
                "should I order?",
                says=["size-asked"],
            ),
            agent(
                "Most customers between sizes choose the larger one for the {product}, to leave room for "
                "layers. If it does not fit, exchanges are free within 30 days.",
                says=["size-told"],
                ends=[SOLVED, OPEN],
            ),
            customer(
                "Thanks, I will order the larger size then.",
                "Great, I will go one size up. Thank you.",
                needs=["size-told"],
            ),
            agent("Sounds good. Enjoy the {product}!", needs=["size-told"], ends=[SOLVED]),
        ),
        priorities=(("low", 45), ("normal", 50), ("high", 5)),
    ),
    Scenario(
        "winter-use",
        ("product",),
        4,
        ("winter", "cold"),
        ("Is the {product} suitable for winter?", "Using the {product} in the cold"),
        WARM,
        (
            customer(
                "Hi, is the {product} suitable for winter camping? We expect nights around -10 C.",
                "Hello, I am planning a trip in the mountains in January. Will the {product} keep me warm "
                "in the cold?",
                says=["winter-asked"],
            ),
            agent(
                "The {product} is rated for three seasons. For nights around -10 C I would add a winter "
                "liner or choose our expedition range. I have asked our product team for the exact comfort "
                "rating and will pass it on.",
                says=["rating-asked"],
                ends=[ON_HOLD, OPEN],
                notes=("Asked the product team about the winter rating.",),
            ),
            agent(
                "Our product team confirmed: the comfort rating of the {product} is -2 C, so for -10 C a "
                "liner or the expedition version is the safer choice.",
                says=["rating-told"],
                needs=["rating-asked"],
                ends=[SOLVED],
            ),
            customer("Thank you, I will add a liner.", needs=["rating-told"]),
            agent("Good plan. Have a great trip!", needs=["rating-told"], ends=[SOLVED]),
        ),
        priorities=(("low", 45), ("normal", 50), ("high", 5)),
    ),
    Scenario(
        "warranty-zip",
        ("warranty",),
        4,
        ("zip",),
        ("Zip broke on the {product}", "Warranty claim: broken zip on my {product}"),
        ZIPPED,
        (
            customer(
                "Hello, the zip on my {product} broke after four months of normal use. Is that covered?",
                "Hi, the main zip of my {product} has split and will not close. I bought it this spring.",
                says=["zip"],
            ),
            agent(
                "That is covered by our two-year warranty. Could you send a copy of the receipt or the "
                "order number?",
                says=["proof-asked"],
                ends=[PENDING],
                asks=True,
            ),
            customer(
                "I have attached the receipt; the order number is {order}.",
                "Here is the receipt. The order number is {order}.",
                says=["proof"],
                needs=["proof-asked"],
                notes=("Within warranty; repair ticket opened for order {order}.",),
            ),
            agent(
                "Thank you for the receipt. Please send the {product} to our repair centre with the prepaid "
                "{carrier} label I have emailed you; the repair usually takes ten business days.",
                says=["label"],
                needs=["proof"],
                ends=[PENDING, ON_HOLD],
            ),
            customer("Thank you, I will send it in this week.", needs=["label"], says=["sending"]),
            agent(
                "Your {product} is repaired and on its way back to you with {carrier}.",
                needs=["sending"],
                ends=[SOLVED],
            ),
        ),
        priorities=(("low", 20), ("normal", 70), ("high", 10)),
    ),
    Scenario(
        "warranty-sole",
        ("warranty",),
        3,
        ("sole",),
        ("The sole of my {product} is coming loose", "Warranty claim: loose sole"),
        SOLED,
        (
            customer(
                "Hi, the sole of my {product} is coming loose at the toe. I bought them last year.",
                "Hello, one sole of my {product} has started to come off after eight months. Is that "
                "covered?",
                says=["sole"],
            ),
            agent(
                "I am sorry about that; a sole should not come loose so soon. Could you send a photo of it "
                "and the order number?",
                says=["photo-asked"],
                ends=[PENDING],
                asks=True,
            ),
            customer(
                "Here is the photo. The order number is {order}.",
                "Photo attached; it was order {order}.",
                says=["photo"],
                needs=["photo-asked"],
            ),
            agent(
                "Thank you for the photo: that is a manufacturing fault, so we will replace the pair. Which "
                "size do you need?",
                says=["size-asked"],
                needs=["photo"],
                ends=[PENDING],
                asks=True,
                notes=("Manufacturing fault per the photo; replacement pair approved.",),
            ),
            customer(
                "Same size as before, a 42 please.",
                "A 9.5, the same as the old pair.",
                says=["size"],
                needs=["size-asked"],
            ),
            agent("A new pair in your size is on its way with {carrier}.", needs=["size"], ends=[SOLVED]),
        ),
        priorities=(("low", 20), ("normal", 70), ("high", 10)),
    ),
    Scenario(
        "sign-in",
        ("account",),
        3,
        ("sign in", "reset"),
        ("Cannot sign in to my account", "The password reset link never arrives"),
        ANY,
        (
            customer(
                "Hi, I cannot sign in to my Acme account; the reset email never arrives.",
                "Hello, I asked for a password reset three times and no email came. I cannot sign in.",
                says=["no-reset"],
            ),
            agent(
                "I have sent a new reset link; please check the spam folder as well. Could you let me know "
                "if it arrived?",
                says=["reset-sent"],
                ends=[PENDING],
                asks=True,
                notes=("Verified identity with the last order number.", "Reset email bounced once; resent."),
            ),
            customer(
                "The reset email came through now, thanks.",
                "Found it in spam, I am signed in again.",
                says=["in"],
                needs=["reset-sent"],
            ),
            agent("Great, thank you for letting me know.", needs=["in"], ends=[SOLVED]),
        ),
        priorities=(("normal", 60), ("high", 35), ("urgent", 5)),
    ),
    Scenario(
        "stove-flare",
        ("safety",),
        1,
        ("stove", "flare"),
        ("The {product} flared up", "Faulty {product}: it flared up when I lit it"),
        ("Basecamp stove",),
        (
            customer(
                "Hello, the {product} flared up when I lit it and I burned my hand. It is not serious, but "
                "the stove must be faulty. Order {order}.",
                "Hi, yesterday the {product} flared up as I lit it and I got burned on two fingers. I will "
                "not use it again. Order {order}.",
                says=["hurt"],
            ),
            agent(
                "I am sorry you were hurt. Are you safe now, and do you need medical help? Please do not "
                "use the stove again. I have passed your message to our support manager, who will contact "
                "you today.",
                says=["safety-asked", "manager"],
                needs=["hurt"],
                ends=[OPEN, ON_HOLD],
                notes=(
                    "Injury plan followed: asked whether the customer is safe; escalated to the manager.",
                ),
            ),
            customer(
                "Thank you, I am fine: it was a small burn and it has been treated. The stove is in its box.",
                "I am all right, thanks, and I have put the stove away.",
                says=["safe"],
                needs=["safety-asked"],
            ),
            agent(
                "Thank you for letting us know you are all right. Our safety team will collect the stove "
                "with a prepaid {carrier} label, and we have refunded order {order} in full. Could you keep "
                "it in its box until {carrier} comes?",
                says=["collection"],
                needs=["safe"],
                ends=[PENDING, SOLVED],
                asks=True,
                notes=("Stove from order {order} to be collected for the safety team; full refund issued.",),
            ),
            customer("Yes, it is boxed and ready.", needs=["collection"], says=["ready"]),
            agent(
                "{carrier} collected the stove this morning. Thank you for your patience, and I hope your "
                "hand heals quickly.",
                needs=["ready"],
                ends=[SOLVED],
            ),
        ),
        contingency="injury-report",
        priorities=(("normal", 40), ("high", 60)),
    ),
    Scenario(
        "third-time",
        ("shipping", "complaint"),
        2,
        ("third", "again"),
        ("Third time asking about order {order}", "Order {order} again: still nothing"),
        ANY,
        (
            customer(
                "This is the third time I write about order {order}. Your tracking is useless and nobody "
                "answers. This is unacceptable; I want my {product} this week.",
                "Again: where is order {order}? Your service is useless, I have written twice and heard "
                "nothing. I am very disappointed.",
                says=["angry"],
            ),
            agent(
                "I am sorry it has taken this long to get an answer. I looked up order {order}: the parcel "
                "is at the {carrier} depot and goes out for delivery tomorrow. If you would like, a team "
                "lead can call you today; just reply with a good time.",
                says=["delivery-tomorrow", "call-offered"],
                needs=["angry"],
                ends=[PENDING, OPEN],
                asks=True,
                notes=("Under the aggressive-customer plan: calm and factual, a call with a lead offered.",),
            ),
            customer(
                "Tomorrow is fine, no call needed. Please make sure it really arrives this time.",
                "No need to call. I will wait until tomorrow.",
                says=["waiting"],
                needs=["delivery-tomorrow"],
            ),
            agent(
                "{carrier} delivered the parcel this morning. Thank you for your patience, and sorry again "
                "for the trouble.",
                says=["delivered"],
                needs=["waiting"],
                ends=[SOLVED],
            ),
            customer("Got it, thanks.", needs=["delivered"]),
            agent("Thank you for confirming. Enjoy the {product}!", needs=["delivered"], ends=[SOLVED]),
        ),
        contingency="aggressive-customer",
        priorities=(("high", 70), ("urgent", 30)),
    ),
    Scenario(
        "change-email",
        ("account",),
        3,
        ("email address", "email"),
        ("Change the email on my account", "New email address for my account"),
        ANY,
        (
            customer(
                "Hello, please change the email address on my account to my new one; I no longer use the "
                "old address.",
                "Hi, I have a new email address. Can you move my account to it?",
                says=["change-asked"],
            ),
            agent(
                "Of course. To keep your account safe, could you tell me the number of your last order?",
                says=["order-asked"],
                ends=[PENDING],
                asks=True,
            ),
            customer(
                "It was order {order}.", "The last one was {order}.", says=["order"], needs=["order-asked"]
            ),
            agent(
                "Thank you. Your account email is updated; you can sign in with the new address now.",
                says=["changed"],
                needs=["order"],
                ends=[SOLVED],
                notes=("Verified identity with order {order}; account email changed.",),
            ),
            customer("Done, it works.", needs=["changed"]),
            agent("Thanks for confirming!", needs=["changed"], ends=[SOLVED]),
        ),
        priorities=(("low", 30), ("normal", 65), ("high", 5)),
    ),
)


class Line(NamedTuple):
    """One message of a conversation: ``kind`` c (the customer), r (a public reply) or n (an
    internal note), its ``text`` (placeholders filled; an agent's reply without its greeting and
    closing, which ``reply_text`` adds), and ``step``: the index of the script step it comes from
    (a note: the step it follows; a chaser: -1)."""

    kind: str
    text: str
    step: int


def conversation(
    scenario: Scenario, status: str, by_agent: bool, count: int, random_, words: dict
) -> list[Line]:
    """A ticket's messages, in order: a stretch of the scenario's script that fits ``status`` (closed
    counts as solved), about ``count`` messages with internal notes where they are true.
    ``random_`` is the generator's ``random()``; ``by_agent``: an agent opened the ticket after a
    phone call (the opening is their record of it)."""
    steps = scenario.steps
    if status == "new":
        texts = steps[0].texts
        lines = [Line("c", texts[int(random_() * len(texts))].format_map(words), 0)]
        if count > 1:
            if random_() < 0.5:
                lines.append(Line("n", _pick(scenario.notes_after[0], random_).format_map(words), 0))
            else:
                lines.append(Line("c", _pick(CHASERS, random_), -1))
        return lines
    stops = scenario.stops[
        PHONE_OPEN if by_agent and status == OPEN else SOLVED if status == "closed" else status
    ]
    # The longest stretch no longer than ``count`` (at times a shorter one), else the shortest:
    # notes make up the rest.
    fitting = 0
    for stop in stops:
        if stop >= count:
            break
        fitting += 1
    if not fitting:
        stop = stops[0]
    elif random_() < 0.7:
        stop = stops[fitting - 1]
    else:
        stop = stops[int(random_() * fitting)]
    lines = []
    for index in range(stop + 1):
        step = steps[index]
        texts = step.texts
        text = texts[int(random_() * len(texts))].format_map(words)
        lines.append(Line("c" if step.by == CUSTOMER else "r", text, index))
    if by_agent:
        lines[0] = Line("r", lines[0].text, 0)
    # Internal notes: after a step whose notes fit, never first, none written twice.
    notes = count - len(lines)
    if notes > 0:
        places = list(range(len(lines)))
        written: set[str] = set()
        for _ in range(min(notes, 3)):
            at = places[int(random_() * len(places))]
            step_at = lines[at].step
            found = [n for n in scenario.notes_after[step_at] if n not in written]
            if not found:
                continue
            note = _pick(found, random_)
            written.add(note)
            lines.insert(at + 1, Line("n", note.format_map(words), step_at))
            places = [p + (p > at) for p in places]
    return lines


def _pick(texts, random_):
    return texts[int(random_() * len(texts))]


def reply_text(core: str, customer_first: str, agent_first: str, random_) -> str:
    """An agent's public reply as sent: greeting with the customer's first name, the text, a closing
    and the agent's name (the demo protocol's etiquette: a greeting, the name, a closing)."""
    greeting = GREETINGS[int(random_() * len(GREETINGS))]
    closing = CLOSINGS[int(random_() * len(CLOSINGS))]
    return f"{greeting} {customer_first},\n\n{core}\n\n{closing}\n{agent_first} at Acme Outdoor Gear"


def phone_record(opening: str, customer_first: str, agent_first: str) -> str:
    """The public reply that opens a ticket an agent took by phone: what the customer said, for both."""
    return (
        f"Hi {customer_first},\n\nThank you for calling us today. So that we both have it in writing, "
        f'this is what you told us:\n\n"{opening}"\n\nBest regards,\n{agent_first} at Acme Outdoor Gear'
    )
