"""What a machine can check of the lessons' text cheaply: numbering and titles, lesson 1's
roadmap, the links between lessons, the README's table, and numbers in prose that no output
prints. A reviewer still reads every sentence against the figures; these catch the drift that
renumbering and re-execution leave behind."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
RECORDS = sorted((ROOT / "gan_mnist" / "generators").glob("*.json"))
# "# Lesson 5 — DCGAN: convolutional GANs": links and tables name it by its short title, "DCGAN".
TITLE = re.compile(r"^# Lesson (\d+) — ([^:]+)(?:: .+)?$")
LINK = re.compile(r"\[([^\]]*)\]\(((?:notebooks/)?(\d\d)_[a-z0-9_]+\.ipynb)\)")
MENTION = re.compile(r"\b[Ll]essons? (\d+)((?:(?:, | and | to |-)\d+)*)")
# A decimal number as prose and outputs write it: 0.888, 2.21, 1,234.5, 99.4 (in 99.4%).
DECIMAL = re.compile(r"(?<![\w.])\d[\d,]*\.\d+(?![\w.]*\d)")
SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e-?\d+\b")

# Numbers a lesson's prose may state without an output printing them, each with its reason.
# Anything else must be printed by the lesson (or stand in its code, or in a shipped record).
NOT_PRINTED = {
    "05_dcgan.ipynb": {"4.64": "lesson 3's classifier score, quoted from its output",
                       "166.0": "lesson 3's Fréchet distance, quoted from its output"},
    "06_digits_on_demand.ipynb": {
        "99.4": "the evaluator's test accuracy (gan_mnist/evaluator.json), lesson 11 prints it",
        **{number: "the replaced shipped run's step 5,000, quoted from benchmarks/README.md"
           for number in ("9.84", "17.0")}},
    "07_digits_without_labels.ipynb": {
        **{number: "quoted from benchmarks/README.md's one-change runs, as the lesson says"
           for number in ("4.41", "21.0", "2.68", "3.64", "11.5", "8.6")},
        "4.0": "cluster 125's share of the 7s' clusters, in the figure's row labels (237 / 5,898)"},
    "08_what_a_gan_learns.ipynb": {
        **{number: "the semi-supervised benchmark's runs, quoted from benchmarks/README.md"
           for number in ("1.62", "1.74", "20.74", "22.26", "3.40")},
        "0.9999": "the weight average's decay in the paper's code (gan_mnist.semi_supervised)",
        **{number: "the InfoGAN benchmark's three seeds, quoted from benchmarks/README.md"
           for number in ("39.2", "22.6", "13.8")},
        "19.7": "the InfoGAN benchmark's 20-minute runs' median, quoted from benchmarks/README.md"},
    "10_when_training_fails.ipynb": {"0.06": "three standard deviations of 0.02"},
    "14_where_gans_stand.ipynb": {
        **{number: "lesson 7's one-change table at 5,000 steps, quoted from its output"
           for number in ("6.9", "10.0")},
        "1.48": "lesson 12's classifier score of blurred real digits, quoted from its output"},
}


def cells(path, kind):
    return [(index, "".join(cell["source"])) for index, cell in
            enumerate(json.loads(path.read_text())["cells"]) if cell["cell_type"] == kind]


def title_of(path):
    match = TITLE.match(cells(path, "markdown")[0][1].splitlines()[0])
    assert match, f"{path.name}: the first cell must start with '# Lesson N — Title'"
    return int(match.group(1)), match.group(2)


TITLES = {path.name: title_of(path)[1] for path in LESSONS}


def test_lessons_are_numbered_one_to_n_in_file_and_title():
    assert [int(path.name[:2]) for path in LESSONS] == list(range(1, len(LESSONS) + 1))
    for path in LESSONS:
        assert title_of(path)[0] == int(path.name[:2]), path.name
        assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == "python3"


def test_lesson_one_roadmap_lists_every_lesson_with_its_title():
    text = "\n".join(source for _, source in cells(LESSONS[0], "markdown"))
    linked = {target: label for label, target, _ in LINK.findall(text)}
    for path in LESSONS[1:]:
        assert path.name in linked, f"lesson 1's roadmap does not link {path.name}"
        assert TITLES[path.name] in linked[path.name], (path.name, linked[path.name])


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name[:2])
def test_previous_and_next_name_the_neighbouring_lessons(path):
    last = cells(path, "markdown")[-1][1].strip().splitlines()[-1]
    number = int(path.name[:2])
    expected = []
    if number > 1:
        before = LESSONS[number - 2].name
        expected.append(f"Previous: [Lesson {number - 1} — {TITLES[before]}]({before})")
    if number < len(LESSONS):
        after = LESSONS[number].name
        expected.append(f"Next: [Lesson {number + 1} — {TITLES[after]}]({after})")
    assert last == " · ".join(expected)


def documents():
    for path in LESSONS:
        yield path, "\n".join(source for _, source in cells(path, "markdown"))
    for path in [ROOT / "README.md", ROOT / "docs" / "architecture.md",
                 ROOT / "benchmarks" / "README.md"]:
        yield path, path.read_text()


def test_links_to_lessons_resolve_and_name_their_lesson():
    for path, text in documents():
        for label, target, number in LINK.findall(text):
            name = Path(target).name
            assert (NOTEBOOKS / name).exists(), f"{path.name} links to a missing lesson {target}"
            for mentioned, title in re.findall(r"Lesson (\d+) — ([^\]]+)", label):
                assert (int(mentioned), title) == (int(number), TITLES[name]), (path.name, label)


def test_lessons_mentioned_in_prose_exist():
    for path, text in documents():
        for first, rest in MENTION.findall(text):
            for number in [first] + re.findall(r"\d+", rest):
                assert 1 <= int(number) <= len(LESSONS), f"{path.name} mentions lesson {number}"


def test_readme_table_lists_every_lesson_in_order_with_its_title():
    rows = re.findall(r"^\| (\d+) \| \[([^\]]+)\]\(notebooks/([^)]+)\)", (ROOT / "README.md")
                      .read_text(), flags=re.MULTILINE)
    assert [(int(number), title, name) for number, title, name in rows] == [
        (int(path.name[:2]), TITLES[path.name], path.name) for path in LESSONS]


def printed_numbers(path):
    """Every number a lesson's code or outputs contain, or a shipped record holds."""
    texts = [record.read_text() for record in RECORDS]
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            texts.append("".join(cell["source"]))
            for output in cell.get("outputs", []):
                texts.append("".join(output.get("text", "")))
                texts.extend("".join(value) for kind, value in output.get("data", {}).items()
                             if kind.startswith("text/"))
    text = "\n".join(texts)
    values = [Decimal(number.replace(",", "")) for number in DECIMAL.findall(text)]
    values += [Decimal(float(number)) for number in SCIENTIFIC.findall(text)]
    return values


def stated(value, printed):
    """True when some printed number rounds to `value` at the decimals prose gave it."""
    places = Decimal(1).scaleb(value.as_tuple().exponent)
    return any(number.quantize(places) == value for number in printed
               if number.as_tuple().exponent <= value.as_tuple().exponent or number == value)


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name[:2])
def test_numbers_in_prose_are_printed_by_the_lesson(path):
    printed = printed_numbers(path)
    allowed = NOT_PRINTED.get(path.name, {})
    unprinted = []
    for index, source in cells(path, "markdown"):
        # The exercises and their answers are the reader's computations, checked by reviewers.
        source, exercises, _ = source.partition("## Exercises")
        # Mathematics, code and arXiv identifiers (1701.00160) are not measurements.
        prose = re.sub(r"\$[^$]*\$|`[^`]*`|\b\d{4}\.\d{4,5}\b", "", source)
        for number in DECIMAL.findall(prose):
            if number not in allowed and not stated(Decimal(number.replace(",", "")), printed):
                unprinted.append(f"cell {index}: {number}")
        if exercises:
            break
    assert not unprinted, (f"{path.name} states numbers that none of its outputs print (text left "
                           f"from an earlier execution?): {unprinted}")


def test_the_number_check_catches_a_stale_number():
    printed = [Decimal("2.2149"), Decimal("0.714")]
    assert stated(Decimal("2.21"), printed) and stated(Decimal("0.714"), printed)
    assert not stated(Decimal("2.92"), printed) and not stated(Decimal("0.71"), [Decimal("0.7")])
