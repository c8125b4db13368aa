"""What the sentence reader says: motion events (who does which visible verb, where) and each scene's
analysis, with what it skipped and why. Shared by the reader's parts and by planning/layout.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..schema import slug
from . import lexicon as lx

NONE_SUBJECT = "<thing>"  # a subject that is no entity ("The whistle blows")
GATE = True  # the confidence gate: a guessed attribution is left out (False only to measure what it leaves out)


@dataclass
class MotionEvent:
    """One verb of a scene: who does it (entity ids), in present progressive, with its object and place."""

    who: list[str]
    description: str  # "stretching legs"
    base: str  # lemma: "stretch"
    category: str  # loco, fly, swim, climb, jump, sit, lie, act
    place: str | None = None  # the place of this motion: "finish line"
    place_prep: str | None = None  # "at"
    place_phrase: str | None = None  # as written, for travelling motions: "down the track"
    target: str | None = None  # another entity acted on ("hugs Amara" → "amara")
    target_prep: str = ""  # "laughs at him" → "at"
    prop: str | None = None  # a sizeable thing acted on or with ("sits on the bench" → "bench")
    sentence: int = 0  # index of the sentence in the scene
    id: str = ""
    doubt: str | None = None  # why who does it is a guess: then it is left out and reported (None: sure)

    def __post_init__(self) -> None:
        self.id = self.id or slug(self.description, "motion")

    @property
    def static(self) -> bool:
        return self.base in lx.STATIC or self.category in {"sit", "lie"}


@dataclass
class SceneAnalysis:
    characters: list[str]  # ids of the entities present, in story order
    events: list[MotionEvent] = field(default_factory=list)
    place: str | None = None  # where most of the scene's motions happen: "cozy bedroom"
    place_prep: str | None = None
    time: str | None = None  # "in the morning"
    props: list[str] = field(default_factory=list)  # sizeable things acted on: ["bench"]
    # sentences that gave no action, or an action nobody could be given: (sentence, reason), reported by `plan`
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[MotionEvent] = field(default_factory=list)  # actions left out as guesses (each says why)
