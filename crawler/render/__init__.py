"""Rendering pages in a headless browser: scrapy-playwright driving Debian's Chromium.

- :mod:`.addon`: switches rendering on (``RENDER_ENABLED``, set by a rule's ``render:``): the
  download handler, the browser's launch options, the render middleware
- :mod:`.middleware`: which requests render and how (the rule's :class:`RenderPlan`), one
  browser context per proxy, session and user agent, results and errors of each page
- :mod:`.handler`: scrapy-playwright's download handler with bounded contexts (closed when
  idle, recycled after ``RENDER_CONTEXT_MAX_PAGES``) and browser errors as plain exceptions
- :mod:`.tab`: browser tabs reused by the successive requests of a context, each page's
  set-up (guard, blocking, captured XHR/fetch JSON, cookies)
- :mod:`.page`: what happens in the page after navigation: waits, actions, sliders, screenshots
- :mod:`.stealth`: what the page's scripts see: no automation, the context's identity told the
  same way everywhere (playwright-stealth's evasions, imported only then)
"""

# Request meta the render middleware reads and fills (here: importing them loads no browser code).
META_RENDER = "render"  # a RenderSpec that wins over the rule's (preview --render)
META_SCREENSHOT = "render_screenshot"  # the rendered page's PNG
META_SCREENSHOT_PATH = "render_screenshot_path"  # where it was saved (RENDER_SCREENSHOT_DIR)
