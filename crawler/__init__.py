"""The Scrapy project: one folder per concern, in layers (docs/architecture.md): the rule
compiler (``rules``), settings (``defaults``) and shared plumbing (``core``) at the bottom; the
features above them (``store``, ``runs``, ``captcha``, ``oauth``, ``push``, ``antiban``,
``spider``, ``distributed``, ``monitors``, ``render``, ``schedule``); the data service
(``service``) and the CLI (``commands``) on top; ``settings.py`` names the components."""
