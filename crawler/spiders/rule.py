"""The generic spider: one subclass per rule, built by the spider loader.

Start requests come from the rule's ``start`` entries (templated with ``-a`` arguments); every
response goes through :meth:`RuleSpider.parse_page`, which runs the compiled page type and turns
its items and follows into Scrapy items and requests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import FormRequest, JsonRequest, Request, Response

from cleaners.itemtypes import ItemType
from crawler.extract import CompiledRule, Follow
from crawler.rules import templates
from crawler.rules.model import MISSING, Rule, StartSpec

META_PAGE = "rule_page"
META_CARRY = "rule_carry"
META_PAGENO = "rule_pageno"


def rule_settings(rule: Rule) -> dict[str, Any]:
    """The Scrapy settings a rule asks for: its ``settings:`` plus what its other sections mean."""
    settings: dict[str, Any] = {}
    if rule.antiban:
        from crawler.antiban.rule import antiban_settings

        settings.update(antiban_settings(dict(rule.antiban)))
    if rule.encoding:
        settings["RESPONSE_ENCODING"] = rule.encoding
    settings.update(rule.settings)
    return settings


class RuleSpider(scrapy.Spider):
    rule: ClassVar[Rule]
    item_types: ClassVar[Mapping[str, ItemType]] = {}  # the item types the rule's pages produce

    @classmethod
    def for_rule(
        cls, rule: Rule, item_types: Mapping[str, ItemType] | None = None
    ) -> type[RuleSpider]:
        """A spider class for ``rule`` (what ``scrapy crawl <rule>`` runs)."""
        class_name = "RuleSpider_" + "".join(c if c.isalnum() else "_" for c in rule.name)
        used = {rule.target(page).type for page in rule.pages} - {None}
        types = {name: t for name, t in (item_types or {}).items() if name in used}
        return type(
            class_name,
            (cls,),
            {
                "name": rule.name,
                "rule": rule,
                "item_types": types,
                "custom_settings": rule_settings(rule),
                "__module__": __name__,
            },
        )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        rule = self.rule
        self.args = {name: kwargs.get(name, default) for name, default in rule.args.items()}
        self.preview_url = kwargs.get("_preview_url")
        self.preview_page = kwargs.get("_preview_page")
        unknown = sorted(k for k in kwargs if k not in rule.args and not k.startswith("_"))
        if unknown:
            self.logger.warning(
                "rule %s has no argument(s) %s; declared: %s",
                rule.name,
                ", ".join(unknown),
                ", ".join(rule.args) or "none",
            )
        self.compiled = CompiledRule(rule, self.args)
        self.missing_args = [name for name, value in self.args.items() if value is None]
        self.allowed_domains = list(rule.allowed_domains) or self._start_hosts()
        self._logged: set[str] = set()
        # One bound method for every request: Scrapy caches its check of a callback's source
        # (is_generator_with_return_value) under a weak reference to the callback object, so a
        # new bound method per request re-read and re-parsed parse_page's source per response.
        self.parse_page = self.parse_page

    def _start_hosts(self) -> list[str]:
        hosts: list[str] = []
        for url, _ in self._start_urls():
            host = urlsplit(url).hostname
            if host and host not in hosts:
                hosts.append(host)
        return hosts

    def _start_urls(self) -> list[tuple[str, StartSpec]]:
        if self.missing_args:
            return []
        return [
            (url, spec)
            for spec in self.rule.start
            for t in spec.urls
            for url in templates.expand(t, self.args)
        ]

    # --- requests ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.missing_args:
            names = ", ".join(self.missing_args)
            example = " ".join(f"-a {n}=VALUE" for n in self.missing_args)
            self.logger.error(
                "rule %s needs argument(s) %s: scrapy crawl %s %s",
                self.rule.name,
                names,
                self.name,
                example,
            )
            self.crawler.stats.set_value("rule/missing_arguments", names)
            return
        if self.preview_url is not None:
            yield self.preview_request()
            return
        for url, spec in self._start_urls():
            try:
                yield self.start_request(url, spec)
            except ValueError as exc:  # e.g. an argument that made the URL invalid
                self.crawler.stats.inc_value("rule/request_errors/bad_start_url")
                self.logger.error(
                    "rule %s: cannot request start URL %r: %s", self.rule.name, url, exc
                )

    # --- preview: one page, extracted and kept, nothing followed ------------------------------

    preview_url: str | None = None
    preview_page: str | None = None
    preview: dict | None = None

    def preview_request(self) -> Request:
        url = self.preview_url
        for start_url, spec in self._start_urls():
            if start_url == url and self.preview_page in (None, spec.page):
                request = self.start_request(url, spec)
                break
        else:
            request = Request(
                url, meta={META_PAGE: self.preview_page, META_CARRY: {}}, dont_filter=True
            )
        request.meta["allow_offsite"] = True
        return request.replace(callback=self.parse_preview, errback=self.on_preview_error)

    def parse_preview(self, response: Response) -> None:
        page = response.meta.get(META_PAGE) or self.compiled.guess_page(response.url)
        now = datetime.now(UTC)
        result = self.compiled.extract(page, response, carry=response.meta.get(META_CARRY), now=now)
        self.preview = {
            "page": page,
            "response": response,
            "result": result,
            "crawl_time": now,
            "carry": response.meta.get(META_CARRY) or {},
        }

    def on_preview_error(self, failure: Any) -> None:
        response = getattr(failure.value, "response", None)
        self.preview = {"error": failure.getErrorMessage(), "response": response}

    def start_request(self, url: str, spec: StartSpec) -> Request:
        page = self.rule.pages[spec.page]
        meta = {META_PAGE: spec.page, META_CARRY: dict(spec.carry)}
        priority = spec.priority if spec.priority is not None else page.priority
        headers = {k: templates.substitute(v, self.args) for k, v in spec.headers.items()}
        common = {
            "callback": self.parse_page,
            "errback": self.on_error,
            "meta": meta,
            "priority": priority,
            "headers": headers,
            "dont_filter": True,
        }
        if spec.form is not None:
            form = {
                k: "" if v is None else templates.substitute(str(v), self.args)
                for k, v in spec.form.items()
            }
            return FormRequest(url, method=spec.method, formdata=form, **common)
        if spec.json is not MISSING:
            return JsonRequest(
                url, method=spec.method, data=_substitute_all(spec.json, self.args), **common
            )
        body = templates.substitute(spec.body, self.args) if spec.body is not None else None
        return Request(url, method=spec.method, body=body, **common)

    def follow_request(self, follow: Follow) -> Request:
        meta = {META_PAGE: follow.page, META_CARRY: follow.carry}
        if follow.pageno != 1:
            meta[META_PAGENO] = follow.pageno
        return Request(
            follow.url,
            callback=self.parse_page,
            errback=self.on_error,
            meta=meta,
            priority=follow.priority,
        )

    # --- responses --------------------------------------------------------------------------

    def parse_page(self, response: Response) -> Any:
        meta = response.meta
        stats = self.crawler.stats
        page = meta.get(META_PAGE)
        if page not in self.compiled.pages:
            page = self.compiled.guess_page(response.url)
            if page is None:
                self.log_once("no_page_type", f"no page type for {response.url}")
                return
        result = self.compiled.extract(
            page,
            response,
            carry=meta.get(META_CARRY),
            depth=meta.get("depth", 0),
            pageno=meta.get(META_PAGENO, 1),
            now=datetime.now(UTC),
        )
        stats.inc_value(f"rule/pages/{page}")
        for reason, message in result.problems:
            stats.inc_value(f"rule/problems/{reason}")
            self.log_once(reason, f"{message} on {response.url}")
        for item in result.items:
            stats.inc_value("rule/items/invalid" if "_errors" in item else "rule/items/extracted")
            if "_clean_errors" in item:
                stats.inc_value("rule/items/clean_errors")
            yield item
        for follow in result.follows:
            yield self.follow_request(follow)

    def on_error(self, failure: Any) -> None:
        request = failure.request
        response = getattr(failure.value, "response", None)
        if response is not None:  # an HTTP error status, after Scrapy's own retries
            reason, detail = f"http_{response.status}", f"HTTP {response.status}"
        else:
            reason, detail = type(failure.value).__name__, failure.getErrorMessage()
        self.crawler.stats.inc_value(f"rule/request_errors/{reason}")
        self.log_once(f"request:{reason}", f"request failed ({detail}) for {request.url}")

    def log_once(self, reason: str, message: str) -> None:
        """The first occurrence of each reason is a warning; repeats are counted, logged at debug."""
        level = logging.DEBUG if reason in self._logged else logging.WARNING
        self._logged.add(reason)
        self.logger.log(level, "%s: %s", reason, message)

    # --- the store seam ---------------------------------------------------------------------

    def store_target(self, item: dict) -> Any:
        from crawler.store.base import StoreTarget

        page = item.get("_page")
        target = self.rule.target(page) if page in self.rule.pages else self.rule.item
        item_type = self.item_types.get(target.type) if target.type else None
        key = (
            target.key
            or (item_type.key if item_type else None)
            or (("url",) if item.get("url") else ("_url",))
        )
        history = item_type.history if item_type else False
        return StoreTarget(
            collection=target.collection or target.type or self.rule.name, key=key, history=history
        )


def _substitute_all(value: Any, args: dict) -> Any:
    if isinstance(value, str):
        return templates.substitute(value, args)
    if isinstance(value, list):
        return [_substitute_all(v, args) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_all(v, args) for k, v in value.items()}
    return value
