"""The rule author's commands, run as a user runs them: validate, list, preview, rules test."""

from __future__ import annotations

import json
import shutil

from tests.crawler.crawl import ROOT, scrapy

BROKEN = {
    "typo_field.yaml": (
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    feilds: {a: {css: a}}\n",
        "typo_field.yaml:4:5: pages.p.feilds: unknown field 'feilds' (did you mean 'fields'?)",
    ),
    "bad_xpath.yaml": (
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    fields: {a: {xpath: '//a[@'}}\n",
        "bad_xpath.yaml:4:18: pages.p.fields.a.xpath: invalid XPath '//a[@': Invalid expression",
    ),
    "bad_cleaner.yaml": (
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    fields: {a: {css: a, clean: [to_itn]}}\n",
        "bad_cleaner.yaml:4:34: pages.p.fields.a.clean[0]: unknown cleaner 'to_itn' (did you mean 'to_int'?)",
    ),
    "bad_link.yaml": (
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    links: [{css: a, to: q}]\n",
        "bad_link.yaml:4:22: pages.p.links[0].to: no page type named 'q'",
    ),
    "bad_type.yaml": (
        "start: {url: 'http://x.test/', page: p}\npages:\n  p: {fields: {a: {css: a}}}\n",
        "bad_type.yaml:1:1: start: expected a list, got a mapping",
    ),
    "bad_regex.yaml": (
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    fields: {a: {regex: '[a-'}}\n",
        "bad_regex.yaml:4:18: pages.p.fields.a.regex: invalid regular expression '[a-': "
        "unterminated character set at position 0",
    ),
    "bad_yaml.yaml": (
        "start: [{url: 'http://x.test/', page: p}\npages: {}\n",
        "bad_yaml.yaml:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<scalar>'",
    ),
}


def test_validate_reports_every_broken_rule_with_position(tmp_path):
    for name, (text, _) in BROKEN.items():
        (tmp_path / name).write_text(text)
    proc = scrapy("validate", "-s", f"RULES_DIR={tmp_path}")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    for _, expected in BROKEN.values():
        assert f"{tmp_path}/{expected}" in lines, (expected, proc.stdout)
    assert (
        lines[-1]
        == f"{len(BROKEN)} rule file(s): 0 ok, {len(BROKEN)} with {len(BROKEN)} problem(s)"
    )
    assert "Traceback" not in proc.stdout + proc.stderr


def test_validate_lists_misspelt_keys_and_a_broken_xpath_in_one_run(tmp_path):
    (tmp_path / "typos.yaml").write_text(
        "start: [{url: 'http://x.test/', page: p}]\n"
        "descripton: typos\n"
        "pages:\n"
        "  p:\n"
        "    emitt: true\n"
        "    fields:\n"
        "      a: {xpath: '//a[@', requird: true}\n"
    )
    proc = scrapy("validate", "-s", f"RULES_DIR={tmp_path}")
    assert proc.returncode == 1
    path = tmp_path / "typos.yaml"
    assert proc.stdout.splitlines() == [
        f"{path}:2:1: descripton: unknown field 'descripton' (did you mean 'description'?)",
        f"{path}:5:5: pages.p.emitt: unknown field 'emitt' (did you mean 'emit'?)",
        f"{path}:7:11: pages.p.fields.a.xpath: invalid XPath '//a[@': Invalid expression",
        f"{path}:7:27: pages.p.fields.a.requird: unknown field 'requird' (did you mean 'required'?)",
        "1 rule file(s): 0 ok, 1 with 4 problem(s)",
    ]
    assert "Traceback" not in proc.stderr


def test_validate_shipped_rules_and_named_ones():
    proc = scrapy("validate")
    assert proc.returncode == 0, proc.stdout
    assert "0 with 0 problem(s)" in proc.stdout
    proc = scrapy("validate", "sample_books", "nope")
    assert proc.returncode != 0 and "no rule file named 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_list_shows_valid_rules_and_warns_about_broken_ones(tmp_path):
    shutil.copy(ROOT / "rules" / "sample_books.yaml", tmp_path)
    shutil.copytree(ROOT / "rules" / "types", tmp_path / "types")
    (tmp_path / "bad_link.yaml").write_text(BROKEN["bad_link.yaml"][0])
    proc = scrapy("list", "-s", f"RULES_DIR={tmp_path}")
    assert proc.stdout.split() == ["sample_books"]
    assert "bad_link.yaml:4:22" in proc.stderr
    crawl = scrapy("crawl", "bad_link", "-s", f"RULES_DIR={tmp_path}")
    assert crawl.returncode != 0
    assert "rule 'bad_link' has problems" in crawl.stderr and "Traceback" not in crawl.stderr
    unknown = scrapy("crawl", "sample_bookz", "-s", f"RULES_DIR={tmp_path}")
    assert "no rule or spider named 'sample_bookz' (did you mean 'sample_books'?)" in unknown.stderr


def test_preview_prints_fields_links_and_flags_empty_ones(sample_site):
    proc = scrapy(
        "preview", "sample_books", f"{sample_site}/book/broken-1.html", "-a", f"site={sample_site}"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["page"] == "book"  # guessed from the page type's match pattern
    assert out["page_choice"] == r"its URL fits pages.book.match '/book/[^/]+\.html$'"
    assert out["stored_in"] == (
        "collection 'sample_books' (set by item.collection), key _url, item type book"
    )
    [item] = out["items"]
    assert item["stock"] == 3
    assert "items[0].title" in out["empty_fields"] and "items[0].price" in out["empty_fields"]
    assert out["problems"][0]["reason"] == "invalid_item"

    proc = scrapy(
        "preview",
        "sample_books",
        f"{sample_site}/tag/travel/",
        "--page",
        "tag_list",
        "-a",
        f"site={sample_site}",
    )
    out = json.loads(proc.stdout)
    assert out["items"] == []
    assert out["page_choice"] == "given with --page" and out["warnings"] == []
    assert out["stored_in"] is None  # its rows only carry values to the books
    assert [link["page"] for link in out["links"]].count("book") == 10
    assert out["links"][0]["carry"]["tag"] == "Travel"
    assert out["links"][-1] == {
        "url": f"{sample_site}/tag/travel/page/2/",
        "page": "tag_list",
        "carry": {},
    } or out["links"][-1]["url"].endswith("/tag/travel/page/2/")


def test_preview_says_why_this_page_type_and_names_links_that_found_nothing(sample_site, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    text = (ROOT / "rules" / "sample_books.yaml").read_text()
    text = text.replace("- css: h3 a\n", "- css: h3 a.gone\n").replace("li.next a", "li.gone a")
    (rules / "sample_books.yaml").write_text(text)
    common = ["-s", f"RULES_DIR={rules}", "-a", f"site={sample_site}"]
    proc = scrapy("preview", "sample_books", f"{sample_site}/tag/travel/", *common)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["page"] == "tag_list"
    assert out["page_choice"] == "its URL fits pages.tag_list.match '/tag/[^/]+/'"
    assert out["warnings"] == [
        "pages.tag_list.rows.links[0] (css 'h3 a.gone', to book) matched nothing on this page",
        "pages.tag_list.pagination.next (css 'li.gone a') matched nothing: no next page from "
        "here (right only on the last page)",
    ]
    stderr = proc.stderr.splitlines()
    assert "page type tag_list: its URL fits pages.tag_list.match '/tag/[^/]+/'" in stderr
    assert all(f"warning: {line}" in stderr for line in out["warnings"])
    assert out["links"] == []

    start = scrapy("preview", "sample_books", f"{sample_site}/", *common)
    assert json.loads(start.stdout)["page_choice"] == (
        "start[0] makes this URL and lands on page type 'index'"
    )
    unknown = scrapy("preview", "sample_books", f"{sample_site}/robots.txt", *common)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.splitlines()[-1].endswith(  # "scrapy: error: ", by how it is run
        f"error: cannot tell which page type {sample_site}/robots.txt is: no page "
        r"type's match fits it (tag_list: '/tag/[^/]+/'; book: '/book/[^/]+\.html$'), and it is "
        "no start URL; pass --page with one of index, tag_list, book"
    )


def test_preview_unknown_page_type_is_a_usage_error(sample_site):
    proc = scrapy("preview", "sample_books", f"{sample_site}/", "--page", "nope")
    assert proc.returncode != 0
    assert "has no page type 'nope'; it has: index, tag_list, book" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_preview_save_then_rules_test_catches_a_changed_rule(sample_site, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(ROOT / "rules" / "sample_books.yaml", rules)
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    proc = scrapy(
        "preview",
        "sample_books",
        f"{sample_site}/book/3.html",
        "--save",
        "-s",
        f"RULES_DIR={rules}",
        "-a",
        f"site={sample_site}",
    )
    assert proc.returncode == 0, proc.stderr
    saved = list((rules / "fixtures" / "sample_books").glob("*.json"))
    assert len(saved) == 1 and saved[0].with_suffix(".body").exists()
    assert str(sample_site) not in saved[0].read_text()  # portable: no port in the fixture

    ok = scrapy("rules", "test", "-s", f"RULES_DIR={rules}")
    assert ok.returncode == 0, ok.stdout
    assert "1 fixture(s), 1 ok, 0 changed or failing" in ok.stdout

    rule = rules / "sample_books.yaml"
    rule.write_text(rule.read_text().replace("p.availability::text", "p.availability-typo::text"))
    changed = scrapy("rules", "test", "sample_books", "-s", f"RULES_DIR={rules}")
    assert changed.returncode == 1
    assert "items[0].stock: " in changed.stdout and "-> null" in changed.stdout


def test_project_cleaners_from_a_module_named_in_settings(tmp_path):
    (tmp_path / "isbn.yaml").write_text(
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    fields: {i: {css: a, clean: [isbn13]}}\n"
    )
    without = scrapy("validate", "-s", f"RULES_DIR={tmp_path}")
    assert without.returncode == 1 and "unknown cleaner 'isbn13'" in without.stdout
    with_module = scrapy(
        "validate",
        "-s",
        f"RULES_DIR={tmp_path}",
        "-s",
        "PLUGIN_MODULES=tests.cleaners.custom_cleaners",
    )
    assert with_module.returncode == 0, with_module.stdout
    broken = scrapy(
        "validate", "-s", f"RULES_DIR={tmp_path}", "-s", "PLUGIN_MODULES=no.such.module"
    )
    assert (
        "cannot load cleaner module 'no.such.module'" in broken.stderr
        and "Traceback" not in broken.stderr
    )


def test_shipped_rule_fixtures_still_extract_the_same():
    proc = scrapy("rules", "test")
    assert proc.returncode == 0, proc.stdout
    assert ", 0 changed or failing" in proc.stdout and not proc.stdout.startswith("0 fixture")


def test_validate_prints_warnings_without_failing(tmp_path):
    (tmp_path / "login.yaml").write_text(
        "start: [{url: 'https://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
        "antiban:\n  sessions: {login: {url: 'https://x.test/login', form: {user: '${NO_SUCH_VAR_XYZ}'}}}\n"
    )
    proc = scrapy("validate", "-s", f"RULES_DIR={tmp_path}")
    assert proc.returncode == 0, proc.stdout
    assert (
        f"{tmp_path}/login.yaml:4:58: antiban.sessions.login.form.user: "
        "warning: environment variable NO_SUCH_VAR_XYZ is not set"
    ) in proc.stdout


def test_rules_history_diff_and_restore_from_the_command_line(tmp_path):
    """The versions the editor saved (crawler/rules/history.py), read and restored by the CLI;
    a restore is checked first and becomes a new version with its author and message."""
    from crawler.rules.history import RuleHistory

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
    history_dir = tmp_path / "history"
    path = rules / "sample_books.yaml"
    original = path.read_text(encoding="utf-8")
    history = RuleHistory(history_dir)
    history.record("sample_books", original, author="ann", message="as shipped")
    edited = original.replace("Books of the bundled sample site", "Edited")
    history.save("sample_books", path, edited, author="bob", message="shorter")
    history.record("sample_books", "name: sample_books\nstart: 1\n", author="eve", message="broken")
    settings = ["-s", f"RULES_DIR={rules}", "-s", f"RULE_HISTORY_DIR={history_dir}"]

    listed = scrapy("rules", "history", "sample_books", *settings)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert lines[1].endswith("bob  shorter") and lines[2].endswith("ann  as shipped")

    diff = scrapy("rules", "diff", "sample_books", "1", "2", *settings)
    assert "-description: Books of the bundled sample site" in diff.stdout
    assert "+description: Edited" in diff.stdout and diff.stdout.startswith(
        "--- sample_books@1 (ann)"
    )

    broken = scrapy("rules", "restore", "sample_books", "3", *settings)
    assert broken.returncode == 3 and "version 3 of sample_books has problems" in broken.stderr
    assert path.read_text(encoding="utf-8") == edited  # nothing written

    restored = scrapy(
        "rules", "restore", "sample_books", "1", "-m", "back", "--author", "carol", *settings
    )
    assert restored.returncode == 0, restored.stderr
    assert "version 1 restored as version 4" in restored.stdout
    assert path.read_text(encoding="utf-8") == original
    latest = history.latest("sample_books")
    assert (latest.author, latest.message, len(latest.version)) == ("carol", "back", 12)

    missing = scrapy("rules", "diff", "sample_books", "9", *settings)
    assert missing.returncode == 2 and "has no version 9" in missing.stderr
