"""Windows time zones as IANA zones, so that local times are converted by their own date (daylight saving).

Windows names a zone by its registry key (``TimeZoneInformation\\TimeZoneKeyName`` = ``W. Europe Standard
Time``) and shows it by a display name with the *standard* offset (``systeminfo``: ``Time Zone: (UTC+01:00)
Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna``), which is an hour off in summer. Both map to the zone
the Unicode CLDR ``windowsZones`` table gives for the "001" territory (the zone's principal city).
"""

from __future__ import annotations

import re

#: TimeZoneKeyName -> IANA zone (CLDR windowsZones, territory 001)
KEY_NAMES = {
    "dateline standard time": "Etc/GMT+12", "utc-11": "Etc/GMT+11", "hawaiian standard time": "Pacific/Honolulu",
    "alaskan standard time": "America/Anchorage", "pacific standard time (mexico)": "America/Tijuana",
    "pacific standard time": "America/Los_Angeles", "us mountain standard time": "America/Phoenix",
    "mountain standard time (mexico)": "America/Chihuahua", "mountain standard time": "America/Denver",
    "central america standard time": "America/Guatemala", "central standard time": "America/Chicago",
    "central standard time (mexico)": "America/Mexico_City", "canada central standard time": "America/Regina",
    "sa pacific standard time": "America/Bogota", "eastern standard time": "America/New_York",
    "us eastern standard time": "America/Indianapolis", "venezuela standard time": "America/Caracas",
    "atlantic standard time": "America/Halifax", "sa western standard time": "America/La_Paz",
    "pacific sa standard time": "America/Santiago", "newfoundland standard time": "America/St_Johns",
    "e. south america standard time": "America/Sao_Paulo", "argentina standard time": "America/Buenos_Aires",
    "sa eastern standard time": "America/Cayenne", "greenland standard time": "America/Godthab",
    "montevideo standard time": "America/Montevideo", "utc-02": "Etc/GMT+2", "azores standard time": "Atlantic/Azores",
    "cape verde standard time": "Atlantic/Cape_Verde", "utc": "Etc/UTC", "coordinated universal time": "Etc/UTC",
    "gmt standard time": "Europe/London", "greenwich standard time": "Atlantic/Reykjavik",
    "morocco standard time": "Africa/Casablanca", "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest", "romance standard time": "Europe/Paris",
    "central european standard time": "Europe/Warsaw", "w. central africa standard time": "Africa/Lagos",
    "jordan standard time": "Asia/Amman", "gtb standard time": "Europe/Bucharest",
    "middle east standard time": "Asia/Beirut", "egypt standard time": "Africa/Cairo",
    "e. europe standard time": "Europe/Chisinau", "syria standard time": "Asia/Damascus",
    "south africa standard time": "Africa/Johannesburg", "fle standard time": "Europe/Kiev",
    "israel standard time": "Asia/Jerusalem", "kaliningrad standard time": "Europe/Kaliningrad",
    "turkey standard time": "Europe/Istanbul", "arabic standard time": "Asia/Baghdad",
    "arab standard time": "Asia/Riyadh", "belarus standard time": "Europe/Minsk",
    "russian standard time": "Europe/Moscow", "e. africa standard time": "Africa/Nairobi",
    "iran standard time": "Asia/Tehran", "arabian standard time": "Asia/Dubai", "azerbaijan standard time": "Asia/Baku",
    "mauritius standard time": "Indian/Mauritius", "georgian standard time": "Asia/Tbilisi",
    "caucasus standard time": "Asia/Yerevan", "afghanistan standard time": "Asia/Kabul",
    "west asia standard time": "Asia/Tashkent", "ekaterinburg standard time": "Asia/Yekaterinburg",
    "pakistan standard time": "Asia/Karachi", "india standard time": "Asia/Kolkata",
    "sri lanka standard time": "Asia/Colombo", "nepal standard time": "Asia/Kathmandu",
    "central asia standard time": "Asia/Almaty", "bangladesh standard time": "Asia/Dhaka",
    "n. central asia standard time": "Asia/Novosibirsk", "myanmar standard time": "Asia/Rangoon",
    "se asia standard time": "Asia/Bangkok", "north asia standard time": "Asia/Krasnoyarsk",
    "china standard time": "Asia/Shanghai", "north asia east standard time": "Asia/Irkutsk",
    "singapore standard time": "Asia/Singapore", "w. australia standard time": "Australia/Perth",
    "taipei standard time": "Asia/Taipei", "ulaanbaatar standard time": "Asia/Ulaanbaatar",
    "tokyo standard time": "Asia/Tokyo", "korea standard time": "Asia/Seoul", "yakutsk standard time": "Asia/Yakutsk",
    "cen. australia standard time": "Australia/Adelaide", "aus central standard time": "Australia/Darwin",
    "e. australia standard time": "Australia/Brisbane", "aus eastern standard time": "Australia/Sydney",
    "west pacific standard time": "Pacific/Port_Moresby", "tasmania standard time": "Australia/Hobart",
    "vladivostok standard time": "Asia/Vladivostok", "central pacific standard time": "Pacific/Guadalcanal",
    "utc+12": "Etc/GMT-12", "new zealand standard time": "Pacific/Auckland", "fiji standard time": "Pacific/Fiji",
    "tonga standard time": "Pacific/Tongatapu", "samoa standard time": "Pacific/Apia",
}

#: the cities of a display name (what follows ``(UTC+hh:mm)``) -> IANA zone; the first city names it
_DISPLAY_CITIES = {
    "coordinated universal time": "Etc/UTC", "dublin": "Europe/London", "monrovia": "Atlantic/Reykjavik",
    "casablanca": "Africa/Casablanca", "amsterdam": "Europe/Berlin", "belgrade": "Europe/Budapest",
    "brussels": "Europe/Paris", "sarajevo": "Europe/Warsaw", "west central africa": "Africa/Lagos",
    "amman": "Asia/Amman", "athens": "Europe/Bucharest", "beirut": "Asia/Beirut", "cairo": "Africa/Cairo",
    "chisinau": "Europe/Chisinau", "damascus": "Asia/Damascus", "harare": "Africa/Johannesburg",
    "helsinki": "Europe/Kiev", "jerusalem": "Asia/Jerusalem", "kaliningrad": "Europe/Kaliningrad",
    "istanbul": "Europe/Istanbul", "baghdad": "Asia/Baghdad", "kuwait": "Asia/Riyadh", "minsk": "Europe/Minsk",
    "moscow": "Europe/Moscow", "nairobi": "Africa/Nairobi", "tehran": "Asia/Tehran", "abu dhabi": "Asia/Dubai",
    "baku": "Asia/Baku", "port louis": "Indian/Mauritius", "tbilisi": "Asia/Tbilisi", "yerevan": "Asia/Yerevan",
    "kabul": "Asia/Kabul", "ashgabat": "Asia/Tashkent", "ekaterinburg": "Asia/Yekaterinburg",
    "islamabad": "Asia/Karachi", "chennai": "Asia/Kolkata", "sri jayawardenepura": "Asia/Colombo",
    "kathmandu": "Asia/Kathmandu", "astana": "Asia/Almaty", "dhaka": "Asia/Dhaka", "novosibirsk": "Asia/Novosibirsk",
    "yangon": "Asia/Rangoon", "bangkok": "Asia/Bangkok", "krasnoyarsk": "Asia/Krasnoyarsk",
    "beijing": "Asia/Shanghai", "irkutsk": "Asia/Irkutsk", "kuala lumpur": "Asia/Singapore",
    "perth": "Australia/Perth", "taipei": "Asia/Taipei", "ulaanbaatar": "Asia/Ulaanbaatar",
    "osaka": "Asia/Tokyo", "seoul": "Asia/Seoul", "yakutsk": "Asia/Yakutsk", "adelaide": "Australia/Adelaide",
    "darwin": "Australia/Darwin", "brisbane": "Australia/Brisbane", "canberra": "Australia/Sydney",
    "guam": "Pacific/Port_Moresby", "hobart": "Australia/Hobart", "vladivostok": "Asia/Vladivostok",
    "solomon is.": "Pacific/Guadalcanal", "auckland": "Pacific/Auckland", "fiji": "Pacific/Fiji",
    "nuku'alofa": "Pacific/Tongatapu", "samoa": "Pacific/Apia", "azores": "Atlantic/Azores",
    "cabo verde": "Atlantic/Cape_Verde", "cape verde": "Atlantic/Cape_Verde", "brasilia": "America/Sao_Paulo",
    "city of buenos aires": "America/Buenos_Aires", "buenos aires": "America/Buenos_Aires",
    "cayenne": "America/Cayenne", "greenland": "America/Godthab", "montevideo": "America/Montevideo",
    "newfoundland": "America/St_Johns", "atlantic time (canada)": "America/Halifax",
    "georgetown": "America/La_Paz", "santiago": "America/Santiago", "caracas": "America/Caracas",
    "bogota": "America/Bogota", "eastern time (us & canada)": "America/New_York",
    "indiana (east)": "America/Indianapolis", "central america": "America/Guatemala",
    "central time (us & canada)": "America/Chicago", "guadalajara": "America/Mexico_City",
    "saskatchewan": "America/Regina", "arizona": "America/Phoenix", "chihuahua": "America/Chihuahua",
    "mountain time (us & canada)": "America/Denver", "baja california": "America/Tijuana",
    "pacific time (us & canada)": "America/Los_Angeles", "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu", "international date line west": "Etc/GMT+12",
}
_DISPLAY = re.compile(r"^\s*\((?:UTC|GMT)(?:[+-]\d{1,2}:\d{2})?\)\s*(?P<cities>.+?)\s*$", re.I)


def iana_zone(windows: str) -> str | None:
    """The IANA zone of a Windows zone key name or display name; None when the table does not know it."""
    name = windows.strip().lower()
    if name in KEY_NAMES:
        return KEY_NAMES[name]
    m = _DISPLAY.match(windows)
    if m is None:
        return None
    cities = m.group("cities").lower()
    return _DISPLAY_CITIES.get(cities) or _DISPLAY_CITIES.get(cities.split(",")[0].strip())
