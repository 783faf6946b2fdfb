"""The words the crawler and the proxy pool share, and nothing else.

``vocab`` imports neither ``crawler`` nor ``proxies``: both import it. It holds what a request's
outcome is called (:class:`~vocab.outcomes.Outcome`) and how secrets in URLs are masked before
they reach a log, a stat or an API answer (:func:`~vocab.masking.mask_url`).
"""

from vocab.masking import mask_url
from vocab.outcomes import Outcome

__all__ = ["Outcome", "mask_url"]
