"""Open311 GeoReport v2 intake: partner platforms (city service apps, hotline platforms) file complaints
through the standard interface and follow the ones they filed. See router.py for the wire format."""
