"""The names the Process uses for states in its documents (the source's spelling: "Czech
Republic", "Turkey", "the Netherlands", "Russian Federation"), by ISO 3166-1 code. Committed
rather than taken from ISO 3166, whose names differ ("Czechia", "Türkiye", "Netherlands,
Kingdom of the", "Russian Federation"); a test holds it to the source's list. A code missing here
falls back to ISO 3166's common name."""

from __future__ import annotations

import pycountry

PROCESS_NAMES: dict[str, str] = {
    "AF": "Afghanistan",
    "AL": "Albania",
    "AM": "Armenia",
    "AT": "Austria",
    "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina",
    "BD": "Bangladesh",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "BY": "Belarus",
    "CH": "Switzerland",
    "CN": "China",
    "CY": "Cyprus",
    "CZ": "Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "the United Kingdom",
    "GE": "Georgia",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IQ": "Iraq",
    "IR": "Iran",
    "IT": "Italy",
    "KG": "Kyrgyzstan",
    "KZ": "Kazakhstan",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MD": "Moldova",
    "ME": "Montenegro",
    "MK": "North Macedonia",
    "MT": "Malta",
    "NL": "the Netherlands",
    "NO": "Norway",
    "PK": "Pakistan",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "RS": "Serbia",
    "RU": "Russian Federation",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "TJ": "Tajikistan",
    "TM": "Turkmenistan",
    "TR": "Turkey",
    "UA": "Ukraine",
    "UZ": "Uzbekistan",
    "XK": "Kosovo",
}


def country_name(code: str) -> str:
    if code in PROCESS_NAMES:
        return PROCESS_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def alphabetical(name: str) -> str:
    """Sort key: "the Netherlands" sorts under N, as in the source's list."""
    return name.removeprefix("the ").casefold()
