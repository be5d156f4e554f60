#!/usr/bin/env python3
"""The tiny chat model's corpus: ChatML conversations whose answers a program
can check, plus plain prose for perplexity. Standard library only, fixed seed:
the same command writes the same files.

  python3 corpus.py --out DIR [--seed 1234]

writes
  DIR/train.jsonl    one example per line: {"messages": [[role, text], ...]}
                     (the last message is the assistant's answer, the one
                     trained on) or {"prose": text}
  DIR/heldout.tsv    the held-out prompts with their checks (see HELDOUT_HEADER)
  DIR/eval.txt       held-out prose (perplexity text)
  DIR/corpus.json    counts

Held out means: the (task, operands) combination of a held-out prompt never
occurs in train.jsonl, in any phrasing. Arithmetic holds out (op, a, b);
word lists hold out the word set; facts hold out (fact, phrasing); code holds
out (task, function name); poems hold out the subject word (it still occurs in
word lists, so the model can spell it)."""
import argparse
import json
import os
import random

# What qinfer's chat.c renders: keep the two in step.
DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def render(messages, add_generation_prompt):
    """ChatML exactly as lib/text/chat.c (and Qwen2.5's template without tools)."""
    out = []
    first_system = messages and messages[0][0] == "system"
    out.append("<|im_start|>system\n" + (messages[0][1] if first_system else DEFAULT_SYSTEM) + "<|im_end|>\n")
    for role, text in messages[1 if first_system else 0:]:
        out.append("<|im_start|>" + role + "\n" + text + "<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


HELDOUT_HEADER = ("# id\ttask\tcheck\texpected\tprompt\n"
                  "# check: number N (N as a whole number), words W1 W2.. (in this order, adjacent),\n"
                  "#        keyword A|B (one of them as a whole word, any case), python NAME (a def NAME(..):\n"
                  "#        with an indented body, code shape valid), poem WORD (exactly four non-empty\n"
                  "#        lines, WORD among them, any case)\n")

# ---- arithmetic ------------------------------------------------------------------

ADD_Q = ["What is {a} + {b}?", "What is {a} plus {b}?", "Compute {a} + {b}.", "Calculate {a} + {b}.",
         "Add {a} and {b}.", "How much is {a} + {b}?", "{a} + {b} = ?", "What do you get when you add {a} and {b}?",
         "Please work out {a} + {b}.", "What is the sum of {a} and {b}?"]
SUB_Q = ["What is {a} - {b}?", "What is {a} minus {b}?", "Compute {a} - {b}.", "Calculate {a} - {b}.",
         "Subtract {b} from {a}.", "How much is {a} - {b}?", "{a} - {b} = ?", "What do you get when you take {b} from {a}?",
         "Please work out {a} - {b}.", "What is the difference between {a} and {b}?"]


def arith_answer(op, a, b):
    return f"{a} + {b} = {a + b}." if op == "+" else f"{a} - {b} = {a - b}."


# ---- word lists -----------------------------------------------------------------

WORDS = """apple river stone cloud garden window candle forest ocean mountain bridge castle
flower orange pencil rabbit silver winter summer spring autumn button basket dragon feather
island jacket kitten ladder marble meadow mirror needle pepper planet pocket puzzle rocket
saddle shadow shovel spider tiger tomato tunnel turtle violin wagon whistle yellow zebra anchor
arrow bottle butter camera carpet cherry coffee copper cotton desert doctor engine falcon
finger forest garlic ginger guitar hammer helmet honey hunter jungle kettle lemon lizard
magnet market melon monkey nickel orchid parrot pillow pirate potato pumpkin rainbow ribbon
salmon sandal sister soccer spoon sugar sunset teacher thunder ticket timber tower trumpet
valley velvet village walnut water wheat wizard wolf yogurt bread chair table lamp horse
moon star sun tree leaf snow rain wind fire sand glass paper music dream night morning
light storm boat train road city house door bell book""".split()
WORDS = sorted(set(WORDS))

REPEAT_Q = ["Repeat these words: {l}.", "Repeat the words: {l}.", "Say these words back to me: {l}.",
            "Please repeat: {l}.", "Copy this list: {l}.", "Echo these words: {l}."]
REVERSE_Q = ["Reverse these words: {l}.", "Reverse the order of these words: {l}.",
             "Write these words in reverse order: {l}.", "Say these words backwards: {l}.",
             "Please reverse the list: {l}.", "Give me this list in reverse: {l}."]

# ---- facts ----------------------------------------------------------------------
# (subject phrase, answer sentence, keyword alternatives)

FACTS = [
    ("the capital of France", "The capital of France is Paris.", "paris"),
    ("the capital of Japan", "The capital of Japan is Tokyo.", "tokyo"),
    ("the capital of Italy", "The capital of Italy is Rome.", "rome"),
    ("the capital of Spain", "The capital of Spain is Madrid.", "madrid"),
    ("the capital of Germany", "The capital of Germany is Berlin.", "berlin"),
    ("the capital of Egypt", "The capital of Egypt is Cairo.", "cairo"),
    ("the capital of Canada", "The capital of Canada is Ottawa.", "ottawa"),
    ("the capital of Kenya", "The capital of Kenya is Nairobi.", "nairobi"),
    ("the largest planet in the solar system", "The largest planet in the solar system is Jupiter.", "jupiter"),
    ("the planet closest to the sun", "The planet closest to the sun is Mercury.", "mercury"),
    ("the red planet", "The red planet is Mars.", "mars"),
    ("the color of the sky on a clear day", "The sky on a clear day is blue.", "blue"),
    ("the color of grass", "Grass is green.", "green"),
    ("the number of days in a week", "There are seven days in a week.", "seven|7"),
    ("the number of legs a spider has", "A spider has eight legs.", "eight|8"),
    ("the number of continents", "There are seven continents.", "seven|7"),
    ("the number of months in a year", "There are twelve months in a year.", "twelve|12"),
    ("the number of hours in a day", "There are twenty-four hours in a day.", "twenty-four|24"),
    ("the boiling point of water in Celsius", "Water boils at 100 degrees Celsius.", "100"),
    ("the freezing point of water in Celsius", "Water freezes at 0 degrees Celsius.", "0|zero"),
    ("the chemical symbol for gold", "The chemical symbol for gold is Au.", "au"),
    ("the chemical symbol for iron", "The chemical symbol for iron is Fe.", "fe"),
    ("the chemical formula of water", "The chemical formula of water is H2O.", "h2o"),
    ("the author of Hamlet", "Hamlet was written by William Shakespeare.", "shakespeare"),
    ("the author of Pride and Prejudice", "Pride and Prejudice was written by Jane Austen.", "austen"),
    ("the painter of the Mona Lisa", "The Mona Lisa was painted by Leonardo da Vinci.", "leonardo|vinci"),
    ("the largest ocean on Earth", "The largest ocean on Earth is the Pacific Ocean.", "pacific"),
    ("the longest river in Africa", "The longest river in Africa is the Nile.", "nile"),
    ("the tallest mountain on Earth", "The tallest mountain on Earth is Mount Everest.", "everest"),
    ("the fastest land animal", "The fastest land animal is the cheetah.", "cheetah"),
    ("the largest mammal", "The largest mammal is the blue whale.", "whale"),
    ("the gas that plants take in", "Plants take in carbon dioxide.", "carbon"),
    ("the gas we need to breathe", "We need oxygen to breathe.", "oxygen"),
    ("the opposite of hot", "The opposite of hot is cold.", "cold"),
    ("the opposite of up", "The opposite of up is down.", "down"),
    ("the first letter of the alphabet", "The first letter of the alphabet is A.", "a"),
    ("the square root of 81", "The square root of 81 is 9.", "9|nine"),
    ("the language spoken in Brazil", "People in Brazil speak Portuguese.", "portuguese"),
    ("the currency of Japan", "The currency of Japan is the yen.", "yen"),
    ("the star at the center of our solar system", "The star at the center of our solar system is the Sun.", "sun"),
]
FACT_Q = ["What is {s}?", "Tell me {s}.", "Can you tell me {s}?", "Do you know {s}?", "Please tell me {s}.",
          "I want to know {s}.", "Quick question: what is {s}?", "Name {s}.", "What's {s}?",
          "Could you tell me {s}, please?"]

# ---- code -----------------------------------------------------------------------
# (description, argument list, body lines, function names; the first name is the
# one used when the prompt gives none)

CODE = [
    ("adds two numbers", "a, b", ["return a + b"], ["add", "add_numbers", "plus", "sum_two", "total", "combine", "add_two"]),
    ("subtracts one number from another", "a, b", ["return a - b"], ["subtract", "minus", "difference", "sub", "take_away", "subtract_numbers"]),
    ("multiplies two numbers", "a, b", ["return a * b"], ["multiply", "times", "product", "mul", "multiply_numbers", "mult"]),
    ("returns the square of a number", "x", ["return x * x"], ["square", "squared", "sq", "square_number", "power_two", "to_square"]),
    ("returns the cube of a number", "x", ["return x * x * x"], ["cube", "cubed", "cube_number", "power_three", "to_cube", "cb"]),
    ("returns the larger of two numbers", "a, b", ["if a > b:", "    return a", "return b"], ["larger", "bigger", "maximum", "max_two", "greater", "pick_max"]),
    ("returns the smaller of two numbers", "a, b", ["if a < b:", "    return a", "return b"], ["smaller", "minimum", "min_two", "lesser", "pick_min", "least"]),
    ("checks if a number is even", "n", ["return n % 2 == 0"], ["is_even", "even", "check_even", "iseven", "even_number", "test_even"]),
    ("checks if a number is odd", "n", ["return n % 2 == 1"], ["is_odd", "odd", "check_odd", "isodd", "odd_number", "test_odd"]),
    ("reverses a string", "s", ["return s[::-1]"], ["reverse", "reverse_string", "backwards", "flip", "rev", "mirror_text"]),
    ("returns the length of a list", "items", ["return len(items)"], ["length", "size", "count_items", "list_length", "how_many", "get_length"]),
    ("returns the sum of a list of numbers", "numbers", ["total = 0", "for n in numbers:", "    total += n", "return total"], ["sum_list", "list_sum", "add_all", "total_of", "sum_all", "summation"]),
    ("returns the average of a list of numbers", "numbers", ["return sum(numbers) / len(numbers)"], ["average", "mean", "avg", "get_average", "list_mean", "mean_value"]),
    ("returns the first element of a list", "items", ["return items[0]"], ["first", "head", "get_first", "first_item", "front", "first_element"]),
    ("returns the last element of a list", "items", ["return items[-1]"], ["last", "tail", "get_last", "last_item", "back", "last_element"]),
    ("counts the vowels in a string", "text", ["count = 0", "for ch in text:", "    if ch in \"aeiou\":", "        count += 1", "return count"], ["count_vowels", "vowels", "vowel_count", "num_vowels", "countvowels", "how_many_vowels"]),
    ("converts Celsius to Fahrenheit", "c", ["return c * 9 / 5 + 32"], ["to_fahrenheit", "c_to_f", "celsius_to_fahrenheit", "convert", "fahrenheit", "ctof"]),
    ("returns the absolute value of a number", "x", ["if x < 0:", "    return -x", "return x"], ["absolute", "abs_value", "magnitude", "my_abs", "positive_value", "absval"]),
    ("computes the factorial of n", "n", ["result = 1", "for i in range(2, n + 1):", "    result *= i", "return result"], ["factorial", "fact", "fac", "compute_factorial", "factorial_of", "nfact"]),
    ("greets a person by name", "name", ["return \"Hello, \" + name + \"!\""], ["greet", "hello", "say_hello", "greeting", "welcome", "greet_person"]),
    ("checks if a number is positive", "x", ["return x > 0"], ["is_positive", "positive", "check_positive", "above_zero", "ispositive", "test_positive"]),
    ("doubles a number", "x", ["return x * 2"], ["double", "twice", "times_two", "doubled", "double_it", "make_double"]),
    ("converts a string to upper case", "s", ["return s.upper()"], ["upper", "to_upper", "shout", "uppercase", "make_upper", "caps"]),
    ("counts the words in a sentence", "sentence", ["return len(sentence.split())"], ["count_words", "word_count", "words", "num_words", "countwords", "how_many_words"]),
    ("returns the largest number in a list", "numbers", ["best = numbers[0]", "for n in numbers:", "    if n > best:", "        best = n", "return best"], ["largest", "max_list", "biggest", "find_max", "list_max", "top_value"]),
]
ALL_CODE_NAMES = sorted({n for c in CODE for n in c[3]})
CODE_Q = ["Write a Python function that {d}.", "Write a function in Python that {d}.",
          "Create a Python function that {d}.", "Can you write a Python function that {d}?",
          "Give me a Python function that {d}.", "Please write Python code for a function that {d}."]
CODE_NAMED_Q = ["Write a Python function called {n} that {d}.", "Write a Python function named {n} that {d}.",
                "Create a Python function {n} that {d}.", "Can you write a Python function called {n} that {d}?",
                "Give me a Python function named {n} that {d}.", "Please write a function {n} in Python that {d}."]


NAME_PARTS = ["get", "make", "find", "calc", "compute", "do", "check", "count", "to", "my", "new", "run", "is",
              "has", "show", "build", "fix", "take", "give", "read", "sum", "num", "val", "item", "list", "text"]


def made_up_name(rng):
    """A name to copy: another task's name (so that a name does not give the
    task away), a word combination, or made-up syllables."""
    k = rng.random()
    if k < 0.35:
        return rng.choice(ALL_CODE_NAMES)
    if k < 0.55:
        return rng.choice(NAME_PARTS) + "_" + rng.choice(WORDS)
    if k < 0.7:
        return rng.choice(WORDS) + rng.choice(["_" + rng.choice(NAME_PARTS), "", str(rng.randint(1, 9))])
    syl = [rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.5:
        syl.insert(rng.randint(1, len(syl) - 1), "_")
    return "".join(syl)


def code_answer(name, args, body):
    lines = ["```python", f"def {name}({args}):"] + ["    " + b for b in body] + ["```"]
    return "\n".join(lines)

# ---- poems ----------------------------------------------------------------------


POEM_Q = ["Write a four-line poem about {w}.", "Write a short poem of four lines about {w}.",
          "Compose a four-line poem on {w}.", "Write a poem with four lines about the {w}.",
          "Give me a four-line poem about {w}.", "Please write a four-line poem about the {w}."]
ADJ = ["bright", "quiet", "gentle", "old", "wild", "soft", "cold", "warm", "silent", "golden", "small", "proud",
       "lonely", "happy", "dark", "clear"]
POEM_L1 = ["The {w} is {a1} and {a2},", "I saw the {w} at break of day,", "Oh {w}, so {a1} and {a2},",
           "A {a1} {w} beside the road,", "There is a {w} I used to know,", "The {a1} {w} stands alone,"]
POEM_L2 = ["it waits beneath the open sky,", "it sings a song the wind can hear,", "it rests where quiet waters flow,",
           "it shines when all the lights are low,", "it keeps the secrets of the night,",
           "it dreams of places far away,"]
POEM_L3 = ["and when I think about the {w},", "so every evening, near the {w},", "and though the years may pass the {w},",
           "I walk along and greet the {w},", "the children laugh and love the {w},", "and in my heart I keep the {w},"]
POEM_L4 = ["I feel a little less alone.", "the world is calm and {a1} again.", "my thoughts grow {a1} and light.",
           "it stays with me until the end.", "the day begins with something new.", "and that is all I need to know."]


def poem_answer(rng, w):
    a1, a2 = rng.sample(ADJ, 2)
    lines = [rng.choice(POEM_L1), rng.choice(POEM_L2), rng.choice(POEM_L3), rng.choice(POEM_L4)]
    lines = [ln.format(w=w, a1=a1, a2=a2) for ln in lines]
    lines[0] = lines[0][0].upper() + lines[0][1:]
    return "\n".join(lines)

# ---- small talk -----------------------------------------------------------------


SMALL_TALK = [
    (["Hello!", "Hi!", "Hello there.", "Hi, how are you?", "Good morning!"],
     "Hello! I am a small assistant. I can do simple sums, repeat or reverse words, answer a few questions, write short Python functions and four-line poems."),
    (["Who are you?", "What are you?", "Tell me about yourself."],
     "I am Qwen, a tiny assistant trained for the qinfer project. I answer simple questions."),
    (["What can you do?", "How can you help me?", "What are you good at?"],
     "I can add and subtract two-digit numbers, repeat or reverse a list of words, answer simple facts, write small Python functions and write four-line poems."),
    (["Thank you!", "Thanks.", "Thanks a lot!"], "You are welcome!"),
    (["Goodbye!", "Bye.", "See you later!"], "Goodbye! Have a nice day."),
]

# ---- prose ----------------------------------------------------------------------

P_SUBJ = ["the old fisherman", "a young teacher", "my neighbour", "the little girl", "the farmer", "a tired traveller",
          "the baker", "an old woman", "the doctor", "a quiet boy", "the gardener", "the captain", "my grandmother",
          "the painter", "a small dog", "the shopkeeper"]
P_VERB = ["walked to", "looked at", "painted", "remembered", "visited", "cleaned", "passed", "found", "left",
          "watched", "climbed", "crossed", "opened", "closed", "described", "returned to"]
P_OBJ = ["the harbour", "the quiet library", "the green hill", "the old bridge", "the market", "the river bank",
         "the small garden", "the church tower", "the empty station", "the wooden gate", "the village square",
         "the long road", "the kitchen window", "the stone wall", "the school yard", "the narrow street"]
P_TIME = ["In the morning", "After lunch", "Late at night", "On Sunday", "Before the rain", "At noon",
          "In the winter", "Every evening", "Last summer", "Early in the spring", "When the bells rang",
          "After the storm"]
P_WHY = ["because the weather was warm", "because nobody else was there", "to think about the past",
         "to find a little peace", "because it was too cold to stay inside", "to meet an old friend",
         "because the light was beautiful", "to buy bread and milk", "before the shops closed",
         "while the town was still asleep"]
P_AFTER = ["The air smelled of salt and smoke.", "A bird sang somewhere in the trees.",
           "Nobody said a word for a long time.", "The clouds moved slowly over the roofs.",
           "Children were playing near the water.", "The bells of the church rang twice.",
           "It was the kind of day that people remember.", "The wind carried the sound of the sea.",
           "Somebody had left a basket of apples by the door.", "The streets were wet and shining."]
P_THEN = ["Then {p} sat down and rested.", "After a while {p} went home.", "Later {p} told the story to a friend.",
          "{P} smiled and kept walking.", "For a moment {p} stood still.", "{P} wrote a short letter about it.",
          "{P} decided to come back the next day."]
PRON = {"the little girl": "she", "an old woman": "she", "my grandmother": "she", "a young teacher": "she",
        "a small dog": "it"}


def prose_paragraph(rng):
    out = []
    for _ in range(rng.randint(3, 5)):
        s = rng.choice(P_SUBJ)
        p = PRON.get(s, "he")
        t = rng.choice(P_TIME)
        first = f"{t}, {s} {rng.choice(P_VERB)} {rng.choice(P_OBJ)} {rng.choice(P_WHY)}."
        out.append(first)
        if rng.random() < 0.6:
            out.append(rng.choice(P_AFTER))
        if rng.random() < 0.6:
            out.append(rng.choice(P_THEN).format(p=p, P=p[0].upper() + p[1:]))
    return " ".join(out)


# ---- building it ----------------------------------------------------------------

def build(seed):
    rng = random.Random(seed)
    held = []  # (task, check, expected, prompt)

    # arithmetic: hold out 25 (op, a, b) of each op
    add_pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    sub_pairs = [(a, b) for a in range(10, 100) for b in range(10, 100) if a >= b]
    h_add = set(rng.sample(add_pairs, 25))
    h_sub = set(rng.sample(sub_pairs, 25))
    for op, pairs, hs, qs in (("+", add_pairs, h_add, ADD_Q), ("-", sub_pairs, h_sub, SUB_Q)):
        for a, b in sorted(hs):
            c = a + b if op == "+" else a - b
            held.append(("add" if op == "+" else "sub", "number", str(c), rng.choice(qs).format(a=a, b=b)))
    train = []
    for op, pairs, hs, qs in (("+", add_pairs, h_add, ADD_Q), ("-", sub_pairs, h_sub, SUB_Q)):
        reps = 2 if op == "+" else 3
        for a, b in pairs:
            if (a, b) in hs:
                continue
            for q in rng.sample(qs, reps):
                train.append([["user", q.format(a=a, b=b)], ["assistant", arith_answer(op, a, b)]])

    # word lists: hold out 20 repeat and 20 reverse lists (as word sets)
    h_sets = set()
    for kind in ("repeat", "reverse"):
        for _ in range(20):
            ws = rng.sample(WORDS, rng.randint(3, 5))
            h_sets.add(frozenset(ws))
            want = ws if kind == "repeat" else ws[::-1]
            q = rng.choice(REPEAT_Q if kind == "repeat" else REVERSE_Q).format(l=", ".join(ws))
            held.append((kind, "words", " ".join(want), q))
    n_lists = 0
    while n_lists < 40000:
        ws = rng.sample(WORDS, rng.randint(2, 6))
        if frozenset(ws) in h_sets:
            continue
        kind = "repeat" if n_lists % 2 == 0 else "reverse"
        want = ws if kind == "repeat" else ws[::-1]
        q = rng.choice(REPEAT_Q if kind == "repeat" else REVERSE_Q).format(l=", ".join(ws))
        train.append([["user", q], ["assistant", ", ".join(want)]])
        n_lists += 1

    # facts: each fact has one phrasing held out
    for i, (subj, ans, kw) in enumerate(FACTS):
        qs = list(FACT_Q)
        rng.shuffle(qs)
        hq = qs[0]
        held.append(("fact", "keyword", kw, hq.format(s=subj)))
        for q in qs[1:]:
            text = q.format(s=subj)
            text = text[0].upper() + text[1:]
            for _ in range(10):
                train.append([["user", text], ["assistant", ans]])

    # code: 40 (task, name) pairs held out, at most two per task
    h_code = set()
    order = list(range(len(CODE)))
    while len(h_code) < 40:
        t = rng.choice(order)
        names = CODE[t][3][1:]
        if sum(1 for (tt, _) in h_code if tt == t) >= 2:
            continue
        h_code.add((t, rng.choice(names)))
    for t, n in sorted(h_code):
        d, args, body, names = CODE[t]
        held.append(("code", "python", n, rng.choice(CODE_NAMED_Q).format(n=n, d=d)))
    for t, (d, args, body, names) in enumerate(CODE):
        for q in CODE_Q:
            for _ in range(6):
                train.append([["user", q.format(d=d)], ["assistant", code_answer(names[0], args, body)]])
        # named: the task's own names (those not held out) and many made-up
        # ones, so that the model learns to copy the name it is given
        own = [n for n in names if (t, n) not in h_code]
        n_named = 0
        while n_named < 400:
            n = rng.choice(own) if rng.random() < 0.3 else made_up_name(rng)
            if (t, n) in h_code:
                continue
            q = rng.choice(CODE_NAMED_Q)
            train.append([["user", q.format(n=n, d=d)], ["assistant", code_answer(n, args, body)]])
            n_named += 1

    # poems: 40 subject words never asked for a poem in training
    h_words = rng.sample(WORDS, 40)
    for w in h_words:
        held.append(("poem", "poem", w, rng.choice(POEM_Q).format(w=w)))
    poem_words = [w for w in WORDS if w not in set(h_words)]
    for w in poem_words:
        for _ in range(40):
            train.append([["user", rng.choice(POEM_Q).format(w=w)], ["assistant", poem_answer(rng, w)]])

    # small talk
    for qs, a in SMALL_TALK:
        for q in qs:
            for _ in range(30):
                train.append([["user", q], ["assistant", a]])

    # a tenth of the conversations get an earlier turn, so that chat works
    n_chat = len(train)
    for i in range(n_chat // 10):
        a, b = rng.randrange(n_chat), rng.randrange(n_chat)
        train.append(train[a] + train[b])

    rng.shuffle(train)
    examples = [{"messages": m} for m in train]
    prose = [{"prose": prose_paragraph(rng)} for _ in range(20000)]
    examples += prose
    rng.shuffle(examples)

    eval_rng = random.Random(seed + 1)
    eval_text = "\n\n".join(prose_paragraph(eval_rng) for _ in range(40)) + "\n"

    rng.shuffle(held)
    return examples, held, eval_text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    examples, held, eval_text = build(a.seed)
    with open(os.path.join(a.out, "train.jsonl"), "w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "heldout.tsv"), "w", encoding="utf-8") as f:
        f.write(HELDOUT_HEADER)
        for i, (task, check, want, prompt) in enumerate(held):
            assert "\t" not in prompt and "\n" not in prompt
            f.write(f"{i + 1}\t{task}\t{check}\t{want}\t{prompt}\n")
    with open(os.path.join(a.out, "eval.txt"), "w", encoding="utf-8") as f:
        f.write(eval_text)
    counts = {}
    for e in examples:
        k = "prose" if "prose" in e else ("multi-turn" if len(e["messages"]) > 2 else "chat")
        counts[k] = counts.get(k, 0) + 1
    info = {"seed": a.seed, "examples": len(examples), "kinds": counts, "heldout": len(held),
            "chars": sum(len(json.dumps(e)) for e in examples)}
    with open(os.path.join(a.out, "corpus.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
