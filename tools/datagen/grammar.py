"""English helpers shared by the scene generator and the evaluation code.

Everything a caption can contain comes from here: COCO category names, their
plurals, articles, number words, the 11 basic colour terms and the background
phrases.  ``vocabulary()`` is the closed set of words the generator can emit.
"""
from __future__ import annotations

import re

# The 11 basic colour terms (Berlin & Kay); captions use no other colour words.
COLOUR_TERMS = ["black", "white", "gray", "red", "orange", "yellow", "green",
                "blue", "purple", "pink", "brown"]

# number_word(n) for n in 0..len(NUMBER_WORDS)-1; scenes use 1..3 per category.
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven",
                "eight", "nine", "ten", "eleven", "twelve"]

# COCO category names the generator can produce (see sources.py for which
# sprite sources back each one).  Order follows the COCO category list.
CATEGORIES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "stop sign", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "sports ball", "kite", "skateboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
    "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet",
    "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
    "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "toothbrush",
]

# Background kinds; "plain" is spoken as "a plain <colour> background".
BACKGROUNDS = ["grass", "beach", "road", "snow", "room", "plain"]
PLAIN_BACKGROUND_COLOURS = ["white", "gray", "black", "blue", "green",
                            "yellow", "pink", "red", "orange", "purple", "brown"]
# Phrase that follows the objects standing on that background.
BACKGROUND_PHRASES = {
    "grass": "on the grass",
    "beach": "on the beach",
    "road": "on the road",
    "snow": "in the snow",
    "room": "in a room",
}
# Phrase for objects in the sky above that background.
SKY_PHRASES = {
    "grass": "in the sky above the grass",
    "beach": "in the sky above the beach",
    "road": "in the sky above the road",
    "snow": "in the sky above the snow",
}

RELATIONS = ["left of", "right of", "above", "below", "next to"]
RELATION_PHRASES = {
    "left of": "to the left of",
    "right of": "to the right of",
    "above": "above",
    "below": "below",
    "next to": "next to",
}

# Nouns that are plural in form: one is "a pair of skis".
PAIR_NOUNS = {"skis", "scissors"}

_IRREGULAR_PLURALS = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "mouse": "mice",
    "knife": "knives",
    "leaf": "leaves",
    "wife": "wives",
    "shelf": "shelves",
    "sheep": "sheep",
    "deer": "deer",
    "fish": "fish",
    "broccoli": "broccoli",
    "skis": "skis",
    "scissors": "scissors",
    "tv": "tvs",
    "foot": "feet",
    "tooth": "teeth",
    "goose": "geese",
}

# Words starting with a vowel letter but a consonant sound, and the reverse.
_A_EXCEPTIONS = ("uni", "use", "usu", "euro", "one", "once", "ufo")
_AN_EXCEPTIONS = ("hour", "honest", "honour", "honor", "heir")


def pluralize(noun: str) -> str:
    """Plural of a (possibly multi-word) noun: the head (last word) inflects."""
    noun = noun.strip().lower()
    if " " in noun:
        head_start = noun.rfind(" ") + 1
        return noun[:head_start] + pluralize(noun[head_start:])
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    if re.search(r"[^aeiou]o$", noun) and noun in {"potato", "tomato", "hero"}:
        return noun + "es"
    return noun + "s"


def number_word(n: int) -> str:
    """English word for a small count (0..12); larger counts as digits."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"count must be a non-negative int, got {n!r}")
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def article(word: str) -> str:
    """Indefinite article ("a" or "an") for the word that follows it."""
    w = word.strip().lower()
    if not w:
        raise ValueError("article() needs a word")
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS):
        return "a"
    return "an" if w[0] in "aeiou" else "a"


def noun_phrase(category: str, count: int, colour: str | None = None) -> str:
    """"a red car", "two cars", "an apple", "a pair of skis", "three people"."""
    if count < 1:
        raise ValueError("noun_phrase needs count >= 1")
    adj = (colour + " ") if colour else ""
    if category in PAIR_NOUNS:
        if count == 1:
            return f"a pair of {adj}{category}"
        return f"{number_word(count)} pairs of {adj}{category}"
    if count == 1:
        first = (colour or category).split()[0]
        return f"{article(first)} {adj}{category}"
    return f"{number_word(count)} {adj}{pluralize(category)}"


def join_phrases(phrases: list[str]) -> str:
    """Join noun phrases without punctuation: "a dog and a cat and a car"."""
    return " and ".join(phrases)


def is_plural_phrase(category: str, count: int) -> bool:
    return count > 1


def existential(first_category: str, first_count: int) -> str:
    """"there is" / "there are", agreeing with the nearest noun phrase."""
    return "there are" if is_plural_phrase(first_category, first_count) else "there is"


def background_words() -> list[str]:
    words = set()
    for p in list(BACKGROUND_PHRASES.values()) + list(SKY_PHRASES.values()):
        words.update(p.split())
    words.update("on a plain background".split())
    words.update(PLAIN_BACKGROUND_COLOURS)
    return sorted(words)


def background_phrase(background: str, plain_colour: str | None = None) -> str:
    if background == "plain":
        if plain_colour not in PLAIN_BACKGROUND_COLOURS:
            raise ValueError(f"plain background needs a colour, got {plain_colour!r}")
        return f"on a plain {plain_colour} background"
    return BACKGROUND_PHRASES[background]


# Fixed words the caption templates use (scene.py); keep in sync.
TEMPLATE_WORDS = {"a", "an", "and", "there", "is", "are", "with", "the", "in",
                  "sky", "picture", "of", "pair", "pairs", "to", "left", "right",
                  "above", "below", "next", "on", "plain", "background"}


def vocabulary(categories: list[str] | None = None, max_count: int = 3) -> list[str]:
    """The closed set of words captions can contain."""
    cats = CATEGORIES if categories is None else categories
    words = set(TEMPLATE_WORDS)
    for c in cats:
        words.update(c.split())
        words.update(pluralize(c).split())
    words.update(COLOUR_TERMS)
    words.update(NUMBER_WORDS[2:max_count + 1])
    words.update(background_words())
    for p in RELATION_PHRASES.values():
        words.update(p.split())
    return sorted(words)
