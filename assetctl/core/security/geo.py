"""Where an IP address is, from a MaxMind or DB-IP City/Country `.mmdb` file (geoip2).

A missing, unreadable, corrupt or wrong-type file (an ASN or ISP database, say) never stops a
login: `open_locator` returns no locator and one warning, and alerts fall back to comparing
IP addresses only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geoip2.database

FALLBACK = "security alerts compare IP addresses only"


@dataclass(frozen=True)
class GeoInfo:
    country: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    # Kilometres around the coordinates within which the address probably is.
    accuracy_radius: int | None
    network: str | None


class GeoLocator:
    """An open GeoIP database and the lookup method its type supports."""

    def __init__(self, path: str, reader: geoip2.database.Reader, kind: str) -> None:
        self.path = path
        self._reader = reader
        self.kind = kind

    def lookup(self, address: str) -> GeoInfo | None:
        """The location of `address`, or None when the database does not know it (or its
        data section turns out to be damaged: a lookup never raises)."""
        try:
            if self.kind == "city":
                model: Any = self._reader.city(address)
            else:
                model = self._reader.country(address)
        except Exception:  # noqa: BLE001 - unknown address, damaged record: no location
            return None
        location = getattr(model, "location", None)
        city = getattr(model, "city", None)
        network = model.traits.network
        return GeoInfo(
            country=(model.country.iso_code or None),
            city=(city.name if city is not None else None),
            latitude=(location.latitude if location is not None else None),
            longitude=(location.longitude if location is not None else None),
            accuracy_radius=(location.accuracy_radius if location is not None else None),
            network=str(network) if network is not None else None,
        )

    def close(self) -> None:
        self._reader.close()


def open_locator(path: str) -> tuple[GeoLocator | None, str | None]:
    """Open the configured database: (locator, None), or (None, one clear warning).
    An empty path means "not configured": (None, None)."""
    if not path:
        return None, None
    import geoip2.database

    try:
        reader = geoip2.database.Reader(path)
    except FileNotFoundError:
        return None, f"GeoIP database {path} does not exist; {FALLBACK}"
    except OSError as exc:
        return None, f"cannot read GeoIP database {path} ({exc.strerror or exc}); {FALLBACK}"
    except Exception:  # noqa: BLE001 - maxminddb raises several types for a bad file
        return None, f"GeoIP database {path} is not a valid .mmdb file; {FALLBACK}"
    db_type = str(reader.metadata().database_type)
    if "City" in db_type:
        return GeoLocator(path, reader, "city"), None
    if "Country" in db_type:
        return GeoLocator(path, reader, "country"), None
    reader.close()
    return None, (
        f"GeoIP database {path} is of type {db_type!r}, not a City or Country database; {FALLBACK}"
    )
