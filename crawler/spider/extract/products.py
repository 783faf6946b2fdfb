"""Generic extraction of products (``extract: product``; crawler/spider/extract/generic.py
has the articles and the entry point): schema.org ``Product`` in JSON-LD, then microdata
(extruct), then OpenGraph, then the page itself (its ``<h1>``, an element whose class or
``itemprop`` says price or stock, read by price-parser)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from crawler.rules.generic import GENERIC_FIELDS
from crawler.spider.extract.inputs import PageInput

SCHEMA_ORG = re.compile(r"^https?://schema\.org/", re.I)


def first_text(root: Any, xpath: str) -> str | None:
    """The first non-blank text of what ``xpath`` selects, whitespace collapsed."""
    for node in root.xpath(xpath):
        text = " ".join("".join(node.itertext()).split())
        if text:
            return text
    return None


def product(page: PageInput, text: str) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(GENERIC_FIELDS["product"])
    values["images"] = []
    root = page.root()
    for found in (_jsonld_products(root), _microdata_products(root, page.url)):
        item = next(found, None)
        if item is not None:
            _from_schema(values, item, page.url)
            break
    _from_opengraph(values, root, page.url)
    _from_page(values, root)
    return values


def _jsonld_products(root: Any) -> Iterator[dict[str, Any]]:
    """The JSON-LD Products of the page, then anything else it offers for sale (a Book with
    ``offers``)."""
    found: list[dict[str, Any]] = []
    for script in root.xpath("//script[@type='application/ld+json']")[:50]:
        try:
            data = json.loads("".join(script.itertext()) or "null")
        except ValueError:
            continue
        found.extend(_items_in(data, depth=0))
    yield from (item for item in found if _is_product(item))
    yield from (item for item in found if not _is_product(item) and "offers" in item)


PRODUCT_TYPES = {"Product", "ProductGroup", "ProductModel", "IndividualProduct", "SomeProducts"}


def _is_product(item: dict[str, Any]) -> bool:
    kinds = item.get("@type", item.get("type"))
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and k.rsplit("/", 1)[-1] in PRODUCT_TYPES for k in kinds)


def _items_in(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for entry in data[:200]:
            yield from _items_in(entry, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "itemListElement", "item"):
            if key in data:
                yield from _items_in(data[key], depth + 1)


def _microdata_products(root: Any, url: str) -> Iterator[dict[str, Any]]:
    if not root.xpath("//*[@itemscope]"):
        return
    from extruct.w3cmicrodata import MicrodataExtractor  # only for pages with microdata

    items = list(MicrodataExtractor().extract_items(root, url))
    yield from (_plain(item) for item in items if _is_product(item))


def _plain(value: Any) -> Any:
    """A microdata item as JSON-LD writes it: its properties, nested items the same."""
    if isinstance(value, dict) and "properties" in value:
        return {
            "@type": value.get("type"),
            **{k: _plain(v) for k, v in value["properties"].items()},
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _from_schema(values: dict[str, Any], item: dict[str, Any], base: str) -> None:
    values["name"] = _text(item.get("name"))
    values["description"] = _text(item.get("description"))
    values["sku"] = _text(item.get("sku") or item.get("mpn") or item.get("productID"))
    brand = item.get("brand")
    values["brand"] = _text(brand.get("name") if isinstance(brand, dict) else brand)
    images = item.get("image")
    for image in images if isinstance(images, list) else [images]:
        if isinstance(image, dict):
            image = image.get("url") or image.get("contentUrl")
        if isinstance(image, str) and image.strip():
            values["images"].append(urljoin(base, image.strip()))
    offers = item.get("offers")
    offer = offers[0] if isinstance(offers, list) and offers else offers
    if isinstance(offer, dict):
        if isinstance(offer.get("offers"), list) and offer["offers"]:  # an AggregateOffer's
            offer = offer["offers"][0] if isinstance(offer["offers"][0], dict) else offer
        price = offer.get("price", offer.get("lowPrice"))
        spec = offer.get("priceSpecification")
        if price is None and isinstance(spec, dict):
            price = spec.get("price")
        values["price"] = _price(price)
        values["currency"] = _text(offer.get("priceCurrency")) or (
            _text(spec.get("priceCurrency")) if isinstance(spec, dict) else None
        )
        availability = _text(offer.get("availability"))
        values["availability"] = SCHEMA_ORG.sub("", availability) if availability else None


def _from_opengraph(values: dict[str, Any], root: Any, base: str) -> None:
    meta = {}
    for node in root.xpath("//meta[@property or @name]"):
        key = (node.get("property") or node.get("name") or "").strip().lower()
        if key and key not in meta:
            meta[key] = (node.get("content") or "").strip()
    fill = {
        "name": meta.get("og:title"),
        "description": meta.get("og:description"),
        "price": _price(meta.get("product:price:amount") or meta.get("og:price:amount")),
        "currency": meta.get("product:price:currency") or meta.get("og:price:currency"),
        "availability": meta.get("product:availability") or meta.get("og:availability"),
        "brand": meta.get("product:brand") or meta.get("og:brand"),
    }
    for key, value in fill.items():
        if values[key] in (None, "") and value not in (None, ""):
            values[key] = value
    if not values["images"] and meta.get("og:image"):
        values["images"].append(urljoin(base, meta["og:image"]))


PRICE_XPATH = (
    "//*[@itemprop='price']"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' price ')]"
    " | //*[contains(@class, 'price')]"
)


def _from_page(values: dict[str, Any], root: Any) -> None:
    from price_parser import Price

    if not values["name"]:
        values["name"] = first_text(root, "//h1")
    if values["availability"] is None:
        for node in root.xpath(AVAILABILITY_XPATH)[:5]:
            text = " ".join("".join(node.itertext()).split()).lower()
            for pattern, availability in AVAILABILITY:
                if pattern.search(text):
                    values["availability"] = availability
                    break
            if values["availability"] is not None:
                break
    if values["price"] is None:
        for node in root.xpath(PRICE_XPATH)[:20]:
            text = node.get("content") or " ".join("".join(node.itertext()).split())
            parsed = Price.fromstring(text)
            if parsed.amount is not None:
                values["price"] = float(parsed.amount)
                values["currency"] = values["currency"] or _currency(parsed.currency)
                break


AVAILABILITY_XPATH = (
    "//*[@itemprop='availability'] | //*[contains(@class, 'availability')]"
    " | //*[contains(@class, 'stock')]"
)
AVAILABILITY = (
    (re.compile(r"out of stock|sold out|unavailable|缺货|售罄|无货|已下架"), "OutOfStock"),
    (re.compile(r"in stock|available|有货|现货|在售"), "InStock"),
)
CURRENCIES = {
    "$": "USD", "£": "GBP", "€": "EUR", "¥": "CNY", "￥": "CNY", "元": "CNY", "₪": "ILS",
    "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₫": "VND", "฿": "THB", "zł": "PLN",
}  # fmt: skip


def _currency(symbol: str | None) -> str | None:
    if not symbol:
        return None
    return CURRENCIES.get(symbol.strip(), symbol.strip().upper() if symbol.isalpha() else None)


def _price(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip():
        from price_parser import Price

        amount = Price.fromstring(value).amount
        return float(amount) if amount is not None else None
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return None
