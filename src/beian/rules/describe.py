"""What a piece of text is, for ``beian inspect`` and the inspect page/API: a filing number or a domain.

The answer is a plain dict (JSON-ready) following the contract in the README; anything else raises
the :class:`RulesError` of the kind the text most looks like, so the message says what was wrong.
"""

from __future__ import annotations

import re
from typing import Any

from beian.rules import domains, filing_numbers, provinces
from beian.rules.errors import RulesError

# Text that reads like a number (it has ICP in it, or a CJK character and a licence category) is
# judged as a number first, so that 京ICP备123 says "bad digit count" rather than "invalid domain";
# a valid domain that merely contains the letters ICP (icp.example.com) is still a domain.
_LOOKS_LIKE_NUMBER = re.compile(r"ICP|^[\u4e00-\u9fff]B\d")


def describe(text: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise RulesError("not_text", "输入必须是文本", "The input must be text")
    folded = filing_numbers.normalize_text(text[: filing_numbers.MAX_INPUT + 1])
    if _LOOKS_LIKE_NUMBER.search(folded):
        try:
            return describe_number(text)
        except RulesError as number_error:
            try:
                return describe_domain(text)
            except RulesError:
                raise number_error from None
    try:
        return describe_domain(text)
    except RulesError as domain_error:
        try:
            return describe_number(text)
        except RulesError:
            raise domain_error from None


def describe_number(text: str) -> dict[str, Any]:
    n = filing_numbers.parse(text)
    province = provinces.by_code(n.province)
    return {
        "input": text,
        "kind": "filing_number",
        "canonical": n.canonical,
        "licence": n.licence.value,
        "province": n.province,
        "province_name": province.name,
        "bureau": province.bureau,
        "abbreviation": n.abbreviation,
        "alias": n.alias,
        "subject_number": n.subject_number,
        "website_sequence": n.website_sequence,
        "service_type": n.service_type.value if n.service_type else None,
        "year": n.year,
        "digit_format": len(n.digits) if n.licence is filing_numbers.Licence.FILING else None,
        "issued_by_beian": n.licence is filing_numbers.Licence.FILING,
        "source": "DOMAIN.md, Filing numbers (MIIT number forms; 滇 黔 蜀 陇; 川 read as an alias of 蜀)",
    }


def describe_domain(text: str) -> dict[str, Any]:
    d = domains.analyze(text)
    return {
        "input": text,
        "kind": "domain",
        "ascii": d.ascii,
        "unicode": d.unicode,
        "registrable": d.registrable,
        "tld": d.tld,
        "tld_unicode": domains.to_unicode(d.tld),
        "tld_approved": d.tld_approved,
        "scope": d.scope.value,
        "covered_by": list(domains.covering_names(d.ascii)),
        "source": f"Public suffix list (ICANN section); MIIT-approved TLDs as of {domains.tld_data_checked()}",
    }
