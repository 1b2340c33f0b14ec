"""Where a visit came from: UTM parameters and ad click ids, else the referrer classified (organic, social, referral).

Pure functions (no database): the middleware calls :func:`landing_from` on each request and records a landing
event for a request that enters the shop from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id")
#: Ad click ids and the (source, medium) they stand for when no UTM parameters say otherwise.
CLICK_IDS = {
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "dclid": ("google", "display"),
    "msclkid": ("bing", "cpc"),
    "fbclid": ("facebook", "social"),  # Facebook adds it to every outbound link, paid or not
    "ttclid": ("tiktok", "cpc"),
    "twclid": ("twitter", "cpc"),
    "li_fat_id": ("linkedin", "cpc"),
    "yclid": ("yandex", "cpc"),
    "epik": ("pinterest", "cpc"),
}
# Host fragments → source name.  Matched against the referrer's host without "www." / "m." prefixes.
SEARCH_ENGINES = {
    "google.": "google", "bing.com": "bing", "duckduckgo.com": "duckduckgo", "search.yahoo.": "yahoo",
    "yahoo.": "yahoo", "yandex.": "yandex", "baidu.com": "baidu", "ecosia.org": "ecosia", "qwant.com": "qwant",
    "startpage.com": "startpage", "search.brave.com": "brave", "naver.com": "naver", "seznam.cz": "seznam",
}
SOCIAL_SITES = {
    "facebook.com": "facebook", "fb.com": "facebook", "instagram.com": "instagram", "t.co": "twitter",
    "twitter.com": "twitter", "x.com": "twitter", "linkedin.com": "linkedin", "lnkd.in": "linkedin",
    "pinterest.": "pinterest", "reddit.com": "reddit", "tiktok.com": "tiktok", "youtube.com": "youtube",
    "youtu.be": "youtube", "whatsapp.com": "whatsapp", "wa.me": "whatsapp", "t.me": "telegram",
    "telegram.org": "telegram", "threads.net": "threads", "bsky.app": "bluesky", "vk.com": "vk",
}


@dataclass(frozen=True)
class Landing:
    source: str
    medium: str
    campaign: str = ""
    data: dict | None = None  # UTM parameters, click ids and the referrer's host


def _host(url):
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    for prefix in ("www.", "m.", "l.", "lm."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    return host


def _match(host, table):
    for fragment, name in table.items():
        if fragment.endswith("."):
            if host.startswith(fragment) or f".{fragment}" in f".{host}":
                return name
        elif host == fragment or host.endswith("." + fragment):
            return name
    return None


def classify_referrer(referrer: str) -> tuple[str, str]:
    """(source, medium) of an external referrer: search engine → organic, social site → social, else referral."""
    host = _host(referrer)
    if not host:
        return "", ""
    if (name := _match(host, SEARCH_ENGINES)) is not None:
        return name, "organic"
    if (name := _match(host, SOCIAL_SITES)) is not None:
        return name, "social"
    return host, "referral"


def landing_from(params, referrer: str, own_hosts) -> Landing | None:
    """The landing a request represents, or None when it does not come from outside the shop.

    ``params`` is the query dict, ``referrer`` the Referer header, ``own_hosts`` the shop's host names."""
    utm = {k: params.get(k, "")[:200] for k in UTM_PARAMS if params.get(k)}
    clicks = {k: params.get(k, "")[:200] for k in CLICK_IDS if params.get(k)}
    host = _host(referrer)
    external = bool(host) and host not in {_host("//" + h) for h in own_hosts}
    if not utm and not clicks and not external:
        return None
    data = {**utm, **clicks}
    if external:
        data["referrer_host"] = host
    if utm.get("utm_source") or utm.get("utm_medium"):
        return Landing(utm.get("utm_source", ""), utm.get("utm_medium", ""), utm.get("utm_campaign", ""), data)
    if clicks:
        source, medium = CLICK_IDS[next(iter(clicks))]
        return Landing(source, medium, utm.get("utm_campaign", ""), data)
    if not external:  # only a campaign name, from our own pages: not a landing
        return None
    source, medium = classify_referrer(referrer)
    return Landing(source, medium, utm.get("utm_campaign", ""), data)
