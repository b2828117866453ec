"""The business's logo: checked by its content, never by its name (pure: no app or database).

PNG and JPEG are recognised by their signatures.  An SVG is XML that a browser or a PDF renderer
may run or fetch from, so one is accepted only if it is plain drawing: no DTD or entities, no
scripts, event attributes, foreign objects, or references to anything outside the file.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

__all__ = ["MAX_LOGO_BYTES", "LogoRefused", "check_logo"]

MAX_LOGO_BYTES = 300 * 1024

PNG, JPEG, SVG = "image/png", "image/jpeg", "image/svg+xml"

# Elements of a drawing; anything else (script, foreignObject, iframe, image, use, animate...) is refused.
_SVG_ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "metadata", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "lineargradient", "radialgradient", "stop", "clippath",
    "mask", "pattern", "symbol", "style",
}  # fmt: skip
_HREF = re.compile(r"(^|})href$|^xlink:href$")
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_IMPORT = re.compile(r"@import|expression\(|javascript:", re.IGNORECASE)


class LogoRefused(ValueError):
    """``str(error)`` says why, for the settings form."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _check_svg(data: bytes) -> None:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise LogoRefused("This SVG declares a DTD or entities; save it as plain SVG or PNG.")
    try:
        # defusedxml: the file is someone's upload; no DTD, entity or external reference is expanded.
        root = parse_xml(data, forbid_dtd=True)
    except DefusedXmlException:
        raise LogoRefused("This SVG declares a DTD or entities; save it as plain SVG or PNG.") from None
    except ParseError:
        raise LogoRefused("This SVG file cannot be read.") from None
    if _local(root.tag) != "svg":
        raise LogoRefused("Upload a PNG, JPEG or SVG image.")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = _local(element.tag)
        if name not in _SVG_ELEMENTS:
            raise LogoRefused(f"This SVG contains <{name}>, which a logo may not; save it as PNG instead.")
        for attribute, value in element.attrib.items():
            attribute_name = _local(attribute)
            if attribute_name.startswith("on"):
                raise LogoRefused("This SVG contains scripts; save it as PNG instead.")
            if _HREF.search(attribute) and not value.strip().startswith("#"):
                raise LogoRefused("This SVG refers to other files or links; save it as PNG instead.")
            if _EXTERNAL_URL.search(value) or _IMPORT.search(value):
                raise LogoRefused("This SVG refers to other files; save it as PNG instead.")
        if name == "style" and element.text and (_EXTERNAL_URL.search(element.text) or _IMPORT.search(element.text)):
            raise LogoRefused("This SVG's style refers to other files; save it as PNG instead.")


def check_logo(data: bytes) -> str:
    """The media type of an acceptable logo (PNG, JPEG or a safe SVG under 300 KB), else
    :class:`LogoRefused`.  The file's name and declared type are never consulted."""
    if not data:
        raise LogoRefused("The file is empty.")
    if len(data) >= MAX_LOGO_BYTES:
        raise LogoRefused("The logo must be smaller than 300 KB.")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5].lower()
    if start.startswith((b"<?xml", b"<svg", b"<!--")):
        _check_svg(data)
        return SVG
    raise LogoRefused("Upload a PNG, JPEG or SVG image.")
