"""A generator of simple children's stories: a corpus small models can learn from.

Every story is built from a cast (children and animals with names, pronouns and
traits), a place, an object and one of a handful of small plots (a lost toy, a
new friend, sharing, a fear overcome, a rescue, a thing made and spoiled, a
rainy day), told with dialogue. The vocabulary is small and the grammar regular,
so a model of about a million parameters learns to write such stories in a few
CPU minutes. Seeded and deterministic: the same seed gives the same corpus.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

GIRLS = ["Lily", "Sue", "Mia", "Anna", "Emma", "Lucy", "Zoe", "Sara", "Amy", "Kate", "Rose", "Ella"]
BOYS = ["Tom", "Tim", "Ben", "Max", "Sam", "Jack", "Leo", "Dan", "Joe", "Finn", "Noah", "Jake"]
ANIMALS = ["dog", "cat", "bunny", "bird", "bear", "duck", "frog", "fox", "mouse", "puppy", "kitten", "owl"]
ANIMAL_NAMES = ["Spot", "Fluffy", "Pip", "Coco", "Bibi", "Rex", "Daisy", "Tiny", "Buddy", "Nutmeg"]
TRAITS = ["kind", "happy", "curious", "shy", "brave", "silly", "little", "friendly", "busy", "gentle"]
COLORS = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white"]
SIZES = ["big", "small", "little", "shiny", "soft", "new", "old", "round"]
OBJECTS = ["ball", "kite", "hat", "book", "teddy bear", "toy car", "drum", "balloon", "boat",
           "shell", "doll", "truck", "cup", "scarf", "box"]
TREATS = ["cookie", "apple", "cake", "sandwich", "banana", "pie", "candy", "orange"]
FEARS = [("the dark", "The dark is just the night without the sun"),
         ("the big waves", "The waves only want to play"),
         ("the loud thunder", "Thunder is just the sky making noise"),
         ("the tall slide", "The slide is fast, but it is safe"),
         ("the deep water", "The water is not deep near the shore")]
THINGS_TO_MAKE = [("a sand castle", "the wind blew it down"),
                  ("a tall tower of blocks", "the cat knocked it over"),
                  ("a pretty picture", "the rain made the colors run"), ("a cake for mom", "it fell on the floor"),
                  ("a little house of sticks", "a dog ran through it"), ("a snowman", "the sun made it melt")]


@dataclass(frozen=True)
class Place:
    name: str        # "the park"
    at: str          # "in the park", "at the beach"
    things: tuple    # spots inside it where something can be lost or found


PLACES = [
    Place("the park", "in the park", ("the big tree", "the swings", "the tall grass", "the bench")),
    Place("the garden", "in the garden", ("the flowers", "the old fence", "the little pond", "the bushes")),
    Place("the forest", "in the forest", ("a hollow log", "the tall trees", "a pile of leaves", "a big rock")),
    Place("the beach", "at the beach", ("the sand", "a big rock", "the waves", "an old boat")),
    Place("the farm", "on the farm", ("the barn", "the hay", "the pig pen", "the apple tree")),
    Place("the school yard", "in the school yard", ("the slide", "the sand box", "the gate", "the big tree")),
    Place("the town square", "in the town square", ("the fountain", "the little shop", "the bench", "the stairs")),
    Place("the river bank", "by the river", ("the reeds", "the bridge", "the mud", "a smooth stone")),
]


@dataclass(frozen=True)
class Character:
    name: str
    kind: str     # girl, boy, or an animal
    he: str
    his: str
    him: str
    trait: str

    @property
    def He(self) -> str:
        return self.he.capitalize()

    @property
    def His(self) -> str:
        return self.his.capitalize()

    def introduce(self) -> str:
        """'a little girl named Lily' / 'a curious cat named Coco'."""
        return f"{_a(self.trait)} {self.kind} named {self.name}"

    @property
    def called(self) -> str:
        """How the story names the character later: 'Lily', or 'Coco the cat'."""
        return self.name if self.kind in ("girl", "boy") else f"{self.name} the {self.kind}"


def _a(phrase: str) -> str:
    """The phrase with its indefinite article: 'an orange kite', 'a red ball'."""
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _character(rng: random.Random, avoid: set[str]) -> Character:
    """A girl, a boy (two in five each) or an animal, named other than `avoid`."""
    kind = rng.choice(["girl", "boy", "girl", "boy", "animal"])
    if kind == "animal":
        kind, names = rng.choice(ANIMALS), ANIMAL_NAMES
        he, his, him = ("he", "his", "him") if rng.random() < 0.5 else ("she", "her", "her")
    else:
        names = GIRLS if kind == "girl" else BOYS
        he, his, him = ("she", "her", "her") if kind == "girl" else ("he", "his", "him")
    name = rng.choice([n for n in names if n not in avoid])
    return Character(name, kind, he, his, him, rng.choice(TRAITS))


def _say(rng: random.Random, who: Character, words: str, ask: bool = False) -> str:
    """One line of dialogue, in one of the ways children's stories put it."""
    verb = "asked" if ask else rng.choice(["said", "said", "said", "shouted", "whispered", "cried"])
    if rng.random() < 0.5:
        return f'{who.name} {verb}, "{words}"'
    end = words[-1]
    return f'"{words[:-1]}{"," if end == "." else end}" {verb} {who.name}.'


def _opening(rng: random.Random, hero: Character, place: Place) -> str:
    return rng.choice([
        f"Once upon a time, there was {hero.introduce()}.",
        f"One day, {hero.introduce()} went to {place.name}.",
        f"There was once {hero.introduce()} who loved to play {place.at}.",
        f"Once upon a time, in a small house near {place.name}, there lived {hero.introduce()}.",
    ])


def _lost_toy(rng, hero, friend, place):
    thing = f"{rng.choice(COLORS)} {rng.choice(OBJECTS)}"
    spot, found = rng.sample(place.things, 2)
    return [
        f"{hero.name} had {_a(thing)}. {hero.He} loved it very much.",
        f"One day, {hero.name} took the {thing} to {place.name} and played near {spot}.",
        f"When it was time to go home, the {thing} was gone! {hero.name} was very sad.",
        _say(rng, hero, f"Where is my {thing}?", ask=True),
        f"{friend.called} saw that {hero.name} was sad.",
        _say(rng, friend, "Do not be sad. I will help you look for it."),
        f"They looked under {spot} and behind {found}. At last, {friend.name} saw something {thing.split()[0]}.",
        f"It was the {thing}! {hero.name} gave {friend.name} a big hug.",
        _say(rng, hero, "Thank you for helping me!"),
        f"From that day on, {hero.name} and {friend.name} were best friends. "
        f"{hero.He} learned that it is good to ask for help.",
    ]


def _new_friend(rng, hero, friend, place):
    spot = rng.choice(place.things)
    treat = rng.choice(TREATS)
    return [
        f"{hero.name} went to {place.name} to play. The sun was warm and the sky was blue.",
        f"Near {spot}, {hero.he} saw {friend.introduce()}. {friend.name} was all alone and looked sad.",
        _say(rng, hero, "Hello! Why are you sad?", ask=True),
        _say(rng, friend, "I have no friends to play with."),
        f"{hero.name} smiled. {hero.He} had {_a(treat)} in {hero.his} bag, "
        f"and {hero.he} gave half of it to {friend.name}.",
        _say(rng, hero, "You can play with me!"),
        f"{friend.name} was so happy. They ran and jumped and laughed all day.",
        f"When the sun went down, {hero.name} went home. "
        f"{hero.He} could not wait to see {hero.his} new friend again.",
    ]


def _sharing(rng, hero, friend, place):
    thing = f"{rng.choice(SIZES)} {rng.choice(OBJECTS)}"
    return [
        f"{hero.name} got {_a(thing)} from {hero.his} mom. It was the best {thing.split()[-1]} {place.at}.",
        f"{friend.name} came to play and saw the {thing}.",
        _say(rng, friend, f"Can I play with your {thing.split()[-1]}?", ask=True),
        _say(rng, hero, "No, it is mine!"),
        f"{friend.name} was sad and walked away. Now {hero.name} had the {thing}, but {hero.he} was alone.",
        f"Playing alone was not fun. {hero.name} thought about {friend.name}.",
        f"{hero.He} ran to {friend.name} and said, \"I am sorry. Let's play with it together.\"",
        f"{friend.name} smiled, and they took turns with the {thing} all afternoon.",
        f"{hero.name} learned that sharing makes playing more fun.",
    ]


def _fear(rng, hero, friend, place):
    fear, comfort = rng.choice(FEARS)
    parent = rng.choice(["mom", "dad", "grandma", "grandpa"])
    return [
        f"{hero.name} was {rng.choice(['scared', 'afraid'])} of {fear}.",
        f"One day, {hero.name} and {hero.his} {parent} went to {place.name}.",
        f"When {hero.he} saw {fear}, {hero.he} held {hero.his} {parent}'s hand very tight.",
        _say(rng, hero, f"I do not like {fear}. It is too scary!"),
        f"{hero.His} {parent} smiled and said, \"{comfort}. I am here with you.\"",
        f"{hero.name} took a deep breath. {hero.He} was brave and tried again.",
        f"It was not scary at all! {hero.name} laughed and said, \"Again, {parent}, again!\"",
        f"From that day on, {hero.name} was not afraid of {fear} anymore.",
    ]


def _rescue(rng, hero, friend, place):
    spot = rng.choice(place.things)
    trouble = rng.choice(["stuck", "lost", "hurt"])
    return [
        f"{hero.name} was playing {place.at} when {hero.he} heard a small cry.",
        f"It came from {spot}. There, {hero.he} found {friend.introduce()}.",
        f"{friend.name} was {trouble} and could not get home.",
        _say(rng, friend, "Please help me!"),
        f"{hero.name} was {rng.choice(['kind', 'brave'])}, so {hero.he} helped {friend.name}. "
        f"{hero.He} was very careful and very slow.",
        f"Soon {friend.name} was safe. {friend.He} jumped up and down with joy.",
        _say(rng, friend, "Thank you! You are my hero!"),
        f"{hero.name} felt proud. Helping others made {hero.him} feel warm inside.",
    ]


def _making(rng, hero, friend, place):
    thing, accident = rng.choice(THINGS_TO_MAKE)
    return [
        f"{hero.name} wanted to make {thing}. {hero.He} worked very hard all morning.",
        f"{friend.name} came to see. \"Wow, that is so pretty!\" said {friend.name}.",
        f"But then {accident}. {hero.name} was so sad that {hero.he} began to cry.",
        _say(rng, friend, "Do not cry. We can make it again, together."),
        f"So {hero.name} and {friend.name} made {thing} again. This time it was even better.",
        _say(rng, hero, "It is more fun when we do it together."),
        f"They were both {rng.choice(['happy', 'proud'])}, and they showed it to everyone {place.at}.",
    ]


def _rainy_day(rng, hero, friend, place):
    treat = rng.choice(TREATS)
    game = rng.choice(["hide and seek", "a game with blocks", "dress up", "a puppet show"])
    return [
        f"{hero.name} and {friend.name} wanted to have a picnic {place.at}.",
        f"They packed {_a(treat)} and a big blanket. But then the sky turned gray, and it began to rain.",
        _say(rng, hero, "Oh no! Now we cannot have our picnic."),
        f"{friend.name} thought for a moment. Then {friend.he} had an idea.",
        _say(rng, friend, "We can have a picnic inside!"),
        f"They put the blanket on the floor and ate the {treat}. Then they played {game}.",
        "When the rain stopped, they saw a rainbow. It was the best day ever.",
    ]


PLOTS = [_lost_toy, _new_friend, _sharing, _fear, _rescue, _making, _rainy_day]


def make_story(rng: random.Random) -> str:
    """One story as one line of text."""
    hero = _character(rng, set())
    friend = _character(rng, {hero.name})
    place = rng.choice(PLACES)
    plot = rng.choice(PLOTS)
    sentences = [_opening(rng, hero, place), *plot(rng, hero, friend, place)]
    if rng.random() < 0.3:
        feeling = rng.choice(["happy", "proud", "tired"])
        sentences.append(f"{hero.name} felt {feeling} and went to sleep with a smile.")
    return " ".join(sentences)


def make_stories(n_stories: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [make_story(rng) for _ in range(n_stories)]


def write_corpus(path: Path | str, n_stories: int, seed: int = 0) -> Path:
    """Writes n_stories generated stories to `path`, one per line (the unit the
    tokenizer trainer reads and the trainer starts each sequence of with BOS)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(make_stories(n_stories, seed)) + "\n")
    tmp.replace(path)  # a reader never sees half a corpus
    return path
